// XQueue: the software queue behind one application queue (see docs/ARCHITECTURE.md).
//
// The application writes AQL packets into the *soft* ring (a ROCr soft queue whose doorbell
// signal is ours). OnDoorbell() — called synchronously on the application's thread by
// hsa_layer's signal-store wrapper — copies published packets, in order and only up to the first
// slot whose header is still INVALID, into the *hardware* ring (which we own and are the only
// producer of), rings the hardware doorbell, and only then advances the soft ring's read index.
// So held packets stay in the application's ring and a full ring back-pressures the application
// exactly as a full hardware ring would. Nothing is copied twice or skipped under any interleaving
// of producers: a per-queue lock serialises forwarding.
//
// Level-1: at most `threshold` packets in flight (more for short kernels: XQueueOptions::slack_ns),
// released in batches of `batch`. Completion is tracked without touching the application's
// signals: after a batch the XQueue appends a *marker* (barrier-AND, barrier bit set, no
// dependencies, completion signal ours). While suspended, nothing new is forwarded. Held packets
// are released by Pump() (called by the per-process pump thread when a marker completes or the
// queue is resumed).
//
// Marker rule (what the XQueue pays for completion tracking). A forwarding round (one OnDoorbell,
// Resume, Pump or Drain call) appends one marker after its packets iff some forwarded packets are
// not yet covered by a marker AND at least one of:
//   (a) throttled and `batch` or more packets uncovered  -> at most one marker per `batch` packets;
//   (b) packets remain held (threshold, suspension, full ring) and no marker is outstanding
//                                                         -> the release of the rest needs a
//                                                            completion to wait for; one will do
//                                                            (each completion starts a round);
//   (c) Pump/Drain only: no marker is outstanding         -> the busy period's tail is covered, so
//                                                            idleness/completion is detectable.
// So a queue gets at most one marker per `batch` packets plus one per marker completion (one
// per pump poll, >= 50 us apart) while it stays busy, however often its producers ring, even
// when the hardware ring is full; the submission path never adds a marker for a lone packet.
// Markers never remove ordering; they add one barrier per batch.
//
// Threading: OnDoorbell from any application thread; Suspend/Resume/Pump from the scheduler or
// pump threads; all safe concurrently. OnDoorbell never waits for the GPU, never allocates, and
// makes no system call other than the hardware doorbell store (and, once per busy period, a
// futex wake of the pump thread if it sleeps).
//
// Pump thread: one per process, started by the first Create() (and again, lazily, in a forked
// child, which inherits no thread and gets every XQueue lock re-initialised by pthread_atfork). It
// polls marker completion of busy queues (20 us while a queue is throttled, backing off to 200 us
// while nothing completes; 50 us to 1 ms otherwise; blocked when no queue is busy) and reports
// OnIdle.
//
// Lifetime: destroy an XQueue only after Drain() returned ok or after the hardware queue has been
// destroyed (otherwise its marker signal is leaked on purpose: the CP may still write it).
#ifndef XQUEUE_XQUEUE_H_
#define XQUEUE_XQUEUE_H_

#include <hsa.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "common/status.h"
#include "levels/lever.h"

namespace hsapreempt::xq {

// The runtime functions an XQueue uses: hsa_layer fills this from the saved (original) API
// tables; unit tests fill it with fakes over plain memory.
struct RuntimeOps {
  uint64_t (*load_write_index_scacquire)(const hsa_queue_t*) = nullptr;
  uint64_t (*load_read_index_scacquire)(const hsa_queue_t*) = nullptr;
  void (*store_read_index_screlease)(const hsa_queue_t*, uint64_t) = nullptr;
  uint64_t (*add_write_index_screlease)(const hsa_queue_t*, uint64_t) = nullptr;
  void (*signal_store_screlease)(hsa_signal_t, hsa_signal_value_t) = nullptr;
  hsa_signal_value_t (*signal_load_scacquire)(hsa_signal_t) = nullptr;
  hsa_status_t (*signal_create)(hsa_signal_value_t, uint32_t, const hsa_agent_t*,
                                hsa_signal_t*) = nullptr;
  hsa_status_t (*signal_destroy)(hsa_signal_t) = nullptr;
};

struct XQueueOptions {
  bool hold_enabled = true;   // false: level "none", forward everything immediately, never hold
  uint32_t threshold = 16;    // Level-1: max packets in flight
  uint32_t batch = 8;         // Level-1: release granularity
  // Level-1: keep at least this much estimated work in flight beyond one batch, so that the
  // host round trip of a batch release (marker completion seen by the pump, next batch
  // forwarded) never leaves the device idle. The bound becomes
  // max(threshold, batch + slack / estimated packet time), at most the hardware ring's size - 2;
  // with packets longer than slack / (threshold - batch) it is `threshold`. 0: `threshold` only.
  uint64_t slack_ns = 0;
};

struct XQueueStats {
  uint64_t submitted = 0;     // packets seen in the soft ring
  uint64_t forwarded = 0;     // packets copied to the hardware ring
  uint64_t held = 0;          // submitted - forwarded
  uint64_t in_flight = 0;     // forwarded and not known complete (upper bound)
  uint64_t window = 0;        // Level-1's current in-flight bound (threshold or more, see slack)
  uint64_t packet_ns = 0;     // estimated device time per packet while busy (0: not yet known)
  uint64_t markers = 0;       // markers appended
  uint64_t suspensions = 0;   // Suspend() calls that took effect
  bool suspended = false;
  bool lever_engaged = false;
};

class XQueue;

// Told when a queue goes from no work to work (first packet after idle) and back. Called without
// the queue lock held; OnBusy runs on the application's submission thread, so it must be quick.
// OnBusy may come twice in a row: work that arrives after the queue went idle but before the pump
// reported it is reported again (the scheduler may have seen the idle meanwhile).
class Listener {
 public:
  virtual ~Listener() = default;
  virtual void OnBusy(XQueue* queue) = 0;
  virtual void OnIdle(XQueue* queue) = 0;
};

class XQueue {
 public:
  virtual ~XQueue() = default;

  // Creates an XQueue over an application-visible soft queue and a hardware queue of ours.
  // `lever` may be null (Level-1 only). `listener` may be null. Returns null (one error line
  // logged) on bad input — a missing RuntimeOps function, a null queue, a ring size that is not a
  // power of two — or when the marker signal cannot be created; the caller then passes the queue
  // through unscheduled. threshold/batch are clamped to 1..4096 / 1..threshold. `ops` is copied.
  static std::unique_ptr<XQueue> Create(const RuntimeOps* ops, hsa_queue_t* soft, hsa_queue_t* hw,
                                        const XQueueOptions& options, Listener* listener,
                                        std::unique_ptr<levels::Lever> lever);

  virtual hsa_queue_t* soft_queue() const = 0;
  virtual hsa_queue_t* hw_queue() const = 0;

  // Submission path (application thread): forward what may be forwarded now.
  virtual void OnDoorbell(uint64_t value) = 0;

  // Scheduling (scheduler thread). Suspend stops forwarding and engages the lever, if any; a lever
  // failure falls back to Level-1 for this queue (logged once). Resume releases both.
  virtual void Suspend() = 0;
  virtual void Resume() = 0;
  virtual bool suspended() const = 0;

  // Scheduling: whether Level-1's in-flight bound (threshold / batch) applies. A new queue is
  // throttled; the scheduler lifts it for a queue that nothing on the board can preempt, so a
  // queue alone (or at the top) runs at full speed and pays only the pump's idle-detection
  // markers. Lifting it forwards what was held. Not pure, so existing XQueue implementations
  // (test doubles, pass-through forwarders) compile unchanged.
  virtual void SetThrottled(bool /*throttled*/) {}

  // Pump thread: release held packets if allowed; poll marker completion; report idleness.
  virtual void Pump() = 0;

  // True if the queue has packets held or in flight and is not blocked on an unsatisfied
  // barrier-AND/OR dependency (a waiting queue must not keep others suspended).
  virtual bool HasRunnableWork() const = 0;

  // True if a packet whose completion signal is `signal` is held in the soft ring or forwarded and
  // not yet consumed by the CP (so releasing / resuming this queue lets it complete). Lets the
  // scheduler release the producer of a signal a higher-priority queue waits on.
  // Not pure, so existing XQueue implementations (test doubles, pass-through forwarders) compile
  // unchanged; such an implementation holds nothing.
  virtual bool HoldsSignalProducer(hsa_signal_t signal) const { return false; }

  // The dependency signals (up to 5, written to `deps`) that block this queue: those not yet
  // satisfied of the barrier-AND/OR at the head of the queue (the CP's next packet, or the oldest
  // held packet when nothing is in the hardware ring). Returns how many; 0 if not blocked. With
  // HoldsSignalProducer on the other queues, the scheduler finds whom to release.
  virtual int BlockingSignals(hsa_signal_t* deps, int max) const { return 0; }

  // For destroy / exit: resume, forward everything, and wait (bounded) until the hardware queue has
  // consumed it all. kBusy on timeout (packets are still in the hardware ring, none lost).
  // From the first Drain on, the queue no longer holds: no threshold, Suspend has no effect on
  // forwarding, so even Drain(0) hands every published packet the hardware ring has room for to
  // the GPU (packets beyond the ring's room are forwarded by later doorbells or Drain calls).
  virtual common::Status Drain(uint64_t timeout_ns) = 0;

  virtual XQueueStats stats() const = 0;
  virtual levels::LeverKind lever_kind() const = 0;

  // Opaque slot for the scheduler's per-queue state.
  void* sched_data = nullptr;
};

// For exit handlers: after it returns, the pump thread never touches an XQueue again (it finishes
// the step in progress, then parks), so nothing of ours calls into a runtime that is tearing down.
// XQueues keep working on their callers' threads (OnDoorbell, Resume, Drain). Idempotent; a
// forked child starts unstopped.
void StopPump();

}  // namespace hsapreempt::xq

#endif  // XQUEUE_XQUEUE_H_
