// The per-process pump thread (internal to xqueue/): releases held packets of throttled queues when
// their markers complete, appends the closing marker of a busy period, and reports idleness.
//
// Contract:
// - PumpRegister() starts the thread on first use (and, in a forked child, again on next use);
//   returns false if the thread cannot be created (logged once): the caller then never holds
//   packets, since nothing would release them.
// - PumpUnregister() returns only when the pump thread no longer touches the queue (it may wait for
//   one PumpStep of that queue to finish). Must not be called from a Listener callback.
// - Poll intervals: 20 us while a queue is throttled (backing off to 200 us while nothing
//   completes), 50 us to 1 ms while queues are busy but not throttled; blocked when none is busy.
// - PumpWake() is for the submission path: lock-free unless the pump thread is asleep, then one
//   futex wake. Call it after the queue's needs_pump() became true.
// - Fork: pthread_atfork handlers take the registry lock and every registered queue's lock in the
//   parent before fork and release them after; the child re-initialises them and has no pump thread
//   until PumpRegister/PumpWake needs one.
#ifndef XQUEUE_PUMP_H_
#define XQUEUE_PUMP_H_

#include <cstdint>

namespace hsapreempt::xq {

class XQueueImpl;

bool PumpRegister(XQueueImpl* queue);
void PumpUnregister(XQueueImpl* queue);
void PumpWake();

// CPU time the pump thread has used so far (ns; 0 if none runs). For benchmarks and `top`.
uint64_t PumpCpuTimeNs();

}  // namespace hsapreempt::xq

#endif  // XQUEUE_PUMP_H_
