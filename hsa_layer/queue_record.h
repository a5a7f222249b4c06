// One application queue under the tool: what the application sees (the soft queue, or the hardware
// queue itself after a fallback), our hardware queue, our doorbell signal, and the XQueue.
//
// Records are pooled and never freed (see doorbell_set.h: a doorbell store may still be reading a
// record while its queue is destroyed on another thread; the record's memory must stay valid).
#ifndef HSA_LAYER_QUEUE_RECORD_H_
#define HSA_LAYER_QUEUE_RECORD_H_

#include <hsa.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "hsa_layer/serialized_lever.h"
#include "levels/lever.h"
#include "sched/scheduler.h"
#include "xqueue/xqueue.h"

namespace hsapreempt::hsa {

struct QueueRecord {
  // Identity (set at creation, cleared when the record returns to the pool).
  hsa_queue_t* app_queue = nullptr;   // what hsa_queue_create returned to the application
  hsa_queue_t* soft = nullptr;        // null after a fallback (app_queue == hw)
  hsa_queue_t* hw = nullptr;
  hsa_signal_t doorbell{0};           // ours; 0 after a fallback
  std::unique_ptr<xq::XQueue> xqueue;
  SerializedLever* lever = nullptr;   // owned by xqueue; null when Level-1 only
  bool scheduled = false;             // registered with the Scheduler
  std::atomic<bool> errored{false};   // ROCr reported a queue error: the device stopped the queue
  sched::QueueAttrs attrs;           // guarded by attrs_mu (the C API may race with itself)
  std::mutex attrs_mu;

  // The application's error callback, called with app_queue by our trampoline.
  void (*app_callback)(hsa_status_t, hsa_queue_t*, void*) = nullptr;
  void* app_data = nullptr;

  // Doorbell readers in flight (doorbell_set.h) and whether the record is live for `handle`.
  std::atomic<uint64_t> doorbell_handle{0};
  std::atomic<int32_t> users{0};
  // Control-path callers using the record outside the registry lock (QueueRegistry::Acquire).
  std::atomic<int32_t> api_users{0};
};

// Pool of records (never freed). Thread-safe.
QueueRecord* NewRecord();
void RecycleRecord(QueueRecord* record);

}  // namespace hsapreempt::hsa

#endif  // HSA_LAYER_QUEUE_RECORD_H_
