// The public C API (include/hsapreempt/hsapreempt.h): per-queue attributes forwarded to the
// scheduler. Exported (the version script lets hsapreempt_* through).
#include "hsapreempt/hsapreempt.h"

#include <cerrno>
#include <mutex>

#include "hsa_layer/glue.h"
#include "hsa_layer/state.h"

namespace hsapreempt::hsa {
namespace {

// Applies `edit` to the queue's attributes and hands them to the scheduler.
template <typename Edit>
int SetAttrs(hsa_queue_t* queue, Edit edit) {
  if (queue == nullptr) return -EINVAL;
  if (!State().active.load(std::memory_order_acquire)) return -ENODEV;
  sched::Scheduler* scheduler = glue::Scheduler();
  if (scheduler == nullptr) return -ENODEV;
  QueueRecord* r = QueueRegistry::Instance()->Acquire(queue);
  if (r == nullptr) return -ENOENT;
  common::Status s;
  const bool scheduled = r->xqueue && r->scheduled;
  if (scheduled) {
    // Held via Acquire: a concurrent hsa_queue_destroy waits for us before tearing down.
    std::lock_guard<std::mutex> lock(r->attrs_mu);
    sched::QueueAttrs attrs = r->attrs;
    edit(&attrs);
    s = scheduler->SetQueueAttrs(r->xqueue.get(), attrs);
    if (s.ok()) r->attrs = attrs;
  }
  QueueRegistry::Release(r);
  if (!scheduled) return -ENOENT;
  if (s.ok()) return 0;
  return s.code() == common::Status::Code::kInvalidArgument ? -EINVAL
         : s.code() == common::Status::Code::kNotFound      ? -ENOENT
                                                            : -EIO;
}

}  // namespace
}  // namespace hsapreempt::hsa

using hsapreempt::hsa::SetAttrs;

extern "C" {

__attribute__((visibility("default"))) int hsapreempt_version(void) {
  return HSAPREEMPT_API_VERSION;
}

__attribute__((visibility("default"))) int hsapreempt_queue_set_priority(hsa_queue_t* queue,
                                                                          int priority) {
  if (priority < 0 || priority > 99) return -EINVAL;
  return SetAttrs(queue, [&](hsapreempt::sched::QueueAttrs* a) { a->priority = priority; });
}

__attribute__((visibility("default"))) int hsapreempt_queue_set_weight(hsa_queue_t* queue,
                                                                        uint32_t weight) {
  if (weight < 1 || weight > 1000) return -EINVAL;
  return SetAttrs(queue, [&](hsapreempt::sched::QueueAttrs* a) { a->weight = weight; });
}

__attribute__((visibility("default"))) int hsapreempt_queue_set_deadline_us(
    hsa_queue_t* queue, uint64_t deadline_us) {
  if (deadline_us > 60000000ull) return -EINVAL;
  return SetAttrs(queue, [&](hsapreempt::sched::QueueAttrs* a) { a->deadline_us = deadline_us; });
}

}  // extern "C"
