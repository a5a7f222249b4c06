#include "hsa_layer/glue.h"

#include "hsa_layer/direct_forwarder.h"

#if HSAPREEMPT_HAVE_KFD_CTL
#include "kfd_ctl/queue_id_map.h"
#endif

namespace hsapreempt::hsa::glue {

void BeginQueueCreate() {
#if HSAPREEMPT_HAVE_KFD_CTL
  kfd::QueueIdMapper::Get().BeginQueueCreate();
#endif
}

void PrepareQueueMapping() {
#if HSAPREEMPT_HAVE_KFD_CTL
  kfd::QueueIdMapper::Get().PrepareEarly();
#endif
}

levels::HwQueueIdentity EndQueueCreate(uint64_t ring_base, uint64_t ring_bytes) {
  levels::HwQueueIdentity id;
  id.ring_base = ring_base;
  id.ring_bytes = ring_bytes;
#if HSAPREEMPT_HAVE_KFD_CTL
  kfd::QueueMapping m = kfd::QueueIdMapper::Get().EndQueueCreate(ring_base, ring_bytes);
  id.kfd_queue_id_known = m.known;
  id.kfd_queue_id = m.queue_id;
  id.gpu_id = m.gpu_id;
  id.mapping_method = m.method;
#else
  id.mapping_method = "none: built without kfd_ctl";
#endif
  return id;
}

std::unique_ptr<levels::Lever> SelectLever(const levels::HwQueueIdentity& identity,
                                           const common::Config& config, std::string* why) {
#if HSAPREEMPT_HAVE_LEVELS
  return levels::SelectLever(identity, config, why);
#else
  *why = "built without the levels library";
  return nullptr;
#endif
}

std::unique_ptr<xq::XQueue> MakeXQueue(const xq::RuntimeOps* ops, hsa_queue_t* soft,
                                       hsa_queue_t* hw, const xq::XQueueOptions& options,
                                       xq::Listener* listener,
                                       std::unique_ptr<levels::Lever> lever) {
#if HSAPREEMPT_HAVE_XQUEUE
  return xq::XQueue::Create(ops, soft, hw, options, listener, std::move(lever));
#else
  return DirectForwarder::Create(ops, soft, hw, listener);
#endif
}

void StopPumpForExit() {
#if HSAPREEMPT_HAVE_XQUEUE
  xq::StopPump();
#endif
}

sched::Scheduler* Scheduler() {
#if HSAPREEMPT_HAVE_SCHED && HSAPREEMPT_HAVE_XQUEUE
  return sched::Scheduler::Instance();
#else
  return nullptr;
#endif
}

const char* LeverName(levels::LeverKind kind) {
#if HSAPREEMPT_HAVE_LEVELS
  return levels::LeverName(kind);
#else
  switch (kind) {
    case levels::LeverKind::kNone: return "none";
    case levels::LeverKind::kUpdateQueue: return "update_queue";
    case levels::LeverKind::kDbgSuspend: return "dbg_suspend";
    case levels::LeverKind::kCuMask: return "cu_mask";
  }
  return "?";
#endif
}

bool HaveXQueue() { return HSAPREEMPT_HAVE_XQUEUE != 0; }
bool HaveScheduler() { return Scheduler() != nullptr; }

}  // namespace hsapreempt::hsa::glue
