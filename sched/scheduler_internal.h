// Scheduler instances beyond the process-wide one, for tests and `hsapreempt bench sched` (which
// run several schedulers in one process or across forked ones, over fake XQueues). The product
// uses Scheduler::Instance() only.
#ifndef SCHED_SCHEDULER_INTERNAL_H_
#define SCHED_SCHEDULER_INTERNAL_H_

#include <memory>
#include <string>

#include "sched/scheduler.h"

namespace hsapreempt::sched {

class InspectableScheduler : public Scheduler {
 public:
  // True when attached to a shared board (false: in-process scheduling only, or not started).
  virtual bool board_shared() const = 0;
  virtual std::string board_path() const = 0;
  // Number of policy evaluations so far.
  virtual uint64_t evaluations() const = 0;
};

// A new, independent scheduler (not started). Destroying it calls Stop().
std::unique_ptr<InspectableScheduler> NewScheduler();

}  // namespace hsapreempt::sched

#endif  // SCHED_SCHEDULER_INTERNAL_H_
