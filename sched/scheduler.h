// The per-process scheduler: applies the policy (priority / weighted / edf) to this process's
// queues, coordinating with other processes on the same GPU through the per-user board
// (docs/ARCHITECTURE.md). hsa_layer creates it in OnLoad and registers every XQueue.
//
// Threading: AddQueue/RemoveQueue/SetQueueAttrs from any thread (hsa_layer wrappers); OnBusy on
// application submission threads (must be quick: a flag, a board word, a futex wake); decisions
// run on the scheduler's own thread, which calls XQueue::Suspend/Resume.
#ifndef SCHED_SCHEDULER_H_
#define SCHED_SCHEDULER_H_

#include <cstdint>

#include "common/config.h"
#include "common/status.h"
#include "xqueue/xqueue.h"

namespace hsapreempt::sched {

struct QueueAttrs {
  int priority = 50;        // 0..99, higher runs first
  uint32_t weight = 1;      // weighted policy
  uint64_t deadline_us = 0; // edf latency target (0: none)
};

class Scheduler : public xq::Listener {
 public:
  // Process-wide, never destroyed.
  static Scheduler* Instance();

  // Attaches to the board (if config.cross_process) and starts the scheduler thread. Failure to
  // attach falls back to in-process scheduling and is logged once.
  virtual common::Status Start(const common::Config& config, uint32_t gpu_index) = 0;
  // Resumes every queue of ours, detaches from the board, joins the thread. Idempotent.
  virtual void Stop() = 0;
  // In a forked child: forget the parent's thread and locks (called from pthread_atfork child).
  virtual void AtForkChild() = 0;

  virtual void AddQueue(xq::XQueue* queue, const QueueAttrs& attrs) = 0;
  virtual void RemoveQueue(xq::XQueue* queue) = 0;
  virtual common::Status SetQueueAttrs(xq::XQueue* queue, const QueueAttrs& attrs) = 0;
};

}  // namespace hsapreempt::sched

#endif  // SCHED_SCHEDULER_H_
