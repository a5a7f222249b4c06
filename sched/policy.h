// Scheduling policies as pure decision functions over a snapshot of every queue on the board
// (all processes). Each process runs the same function on the same board state and applies the
// result to its own queues only, so the decision must depend on the snapshot and `now` alone: a
// policy object carries no state between calls.
//
//  priority  strict: a queue is suspended while any queue of higher priority has runnable work
//            (idle lower queues are suspended too, so their next packet is held at once); queues
//            of equal priority all run. Only queues with a higher-priority queue on the board
//            (busy or not) are throttled by Level-1.
//  weighted  work-conserving GPU-time shares by weight, by time slicing: among the queues that
//            have work, the one with the least service/weight (virtual time) runs and the others
//            are suspended; the running queue keeps the GPU until its virtual time exceeds the
//            smallest other one by one quantum (so a switch happens at most once per quantum).
//            A queue alone runs freely; idle queues are never suspended. With more than one queue
//            on the board every queue is throttled by Level-1.
//  edf       earliest deadline first: among queues with a deadline and work, the absolute
//            deadline is busy_since + deadline; the queue(s) with the earliest one run and every
//            other queue is suspended while it has work. Without such a queue nothing is held.
//            A queue is throttled by Level-1 while another queue on the board has a deadline.
#ifndef SCHED_POLICY_H_
#define SCHED_POLICY_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "common/config.h"

namespace hsapreempt::sched {

// One queue as a policy sees it.
struct QueueView {
  uint64_t id = 0;            // board-unique queue id (ties are broken by it)
  int32_t pid = 0;            // owning process
  int priority = 50;          // 0..99, higher first
  uint32_t weight = 1;        // >= 1
  uint64_t deadline_us = 0;   // 0: none
  bool has_work = false;      // runnable work (held or in flight, not blocked on a barrier)
  bool suspended = false;     // current state (as last applied by its owner)
  uint64_t busy_since_ns = 0; // when has_work last rose (monotonic raw clock)
  uint64_t service_ns = 0;    // time it has run with work while not suspended
};

struct Decision {
  std::vector<bool> suspend;  // parallel to the snapshot
  // Parallel to the snapshot: Level-1's in-flight bound applies to the queue. It exists to bound
  // how long another queue may wait behind this one's forwarded packets, so a queue the policy
  // could never hold for another (nothing on the board above it) runs unthrottled.
  std::vector<bool> throttle;
  // Absolute time (ns) at which the decision may change without any board change (weighted
  // slices); 0: only a board change can change it.
  uint64_t reevaluate_at_ns = 0;
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual common::PolicyChoice kind() const = 0;
  virtual void Decide(const std::vector<QueueView>& queues, uint64_t now_ns,
                      Decision* out) const = 0;
  // True if a queue of `priority` becoming busy may require some other queue to be suspended,
  // given the queues on the board (lets OnBusy skip the futex wake when nothing can change).
  virtual bool BusyMayPreempt(const std::vector<QueueView>& queues, uint64_t self_id) const = 0;
};

// Weighted: how far (in real ns) the running queue may run past its fair share before switching.
constexpr uint64_t kWeightedQuantumNs = 10'000'000;

std::unique_ptr<Policy> MakePolicy(common::PolicyChoice choice);

// Weighted policy helper: a queue that becomes busy after being idle must not claim the GPU for
// all the time it was idle (it would starve the others). Returns the service value the queue
// should have: at least the smallest virtual time among the other busy queues, scaled to its
// weight, minus one quantum (the credit a queue may keep across an idle gap). Unchanged if no
// other queue is busy.
uint64_t CatchUpService(const std::vector<QueueView>& queues, size_t index);

}  // namespace hsapreempt::sched

#endif  // SCHED_POLICY_H_
