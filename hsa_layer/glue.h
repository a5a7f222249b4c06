// The one place hsa_layer meets its sibling layers (kfd_ctl, levels, xqueue, sched). Each entry
// point works whether or not the sibling library was built (CMake defines HSAPREEMPT_HAVE_<X>):
// without xqueue, queues are forwarded by DirectForwarder (no holding); without sched, nothing is
// scheduled; without levels/kfd_ctl, every queue runs on Level-1 only.
#ifndef HSA_LAYER_GLUE_H_
#define HSA_LAYER_GLUE_H_

#include <hsa.h>

#include <memory>
#include <string>

#include "common/config.h"
#include "common/status.h"
#include "levels/lever.h"
#include "sched/scheduler.h"
#include "xqueue/xqueue.h"

namespace hsapreempt::hsa::glue {

// Around the original hsa_queue_create: serialises queue creation and maps the new hardware
// queue's ring to its KFD queue id (kfd_ctl). `ring_base` 0 when creation failed.
void BeginQueueCreate();
// At load, before ROCr can create its internal queues: KFD's runtime/debug-trap enable for the
// snapshot mapping (only does anything with HSAPREEMPT_L2_MODE=suspend).
void PrepareQueueMapping();
levels::HwQueueIdentity EndQueueCreate(uint64_t ring_base, uint64_t ring_bytes);

// levels::SelectLever, or a null lever (with `why`) without the levels library.
std::unique_ptr<levels::Lever> SelectLever(const levels::HwQueueIdentity& identity,
                                           const common::Config& config, std::string* why);

// xq::XQueue::Create, or a DirectForwarder without the xqueue library. Null on failure.
std::unique_ptr<xq::XQueue> MakeXQueue(const xq::RuntimeOps* ops, hsa_queue_t* soft,
                                       hsa_queue_t* hw, const xq::XQueueOptions& options,
                                       xq::Listener* listener,
                                       std::unique_ptr<levels::Lever> lever);

// At exit: the xqueue pump thread stops touching queues for good (xq::StopPump). Not for
// OnUnload: a later hsa_init needs the pump again.
void StopPumpForExit();

// The process's scheduler, or null without the sched library.
sched::Scheduler* Scheduler();

// levels::LeverName, or a local copy without the levels library.
const char* LeverName(levels::LeverKind kind);

// True when the real xqueue / sched libraries are linked (for the start-up log).
bool HaveXQueue();
bool HaveScheduler();

}  // namespace hsapreempt::hsa::glue

#endif  // HSA_LAYER_GLUE_H_
