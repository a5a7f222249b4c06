// Process-wide state of the tool: the configuration parsed at load, whether the wrappers are
// active, and the registry of virtualized queues. Never destroyed (the tool may be used from
// atexit handlers and other threads while the process exits).
#ifndef HSA_LAYER_STATE_H_
#define HSA_LAYER_STATE_H_

#include <hsa_api_trace.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "common/config.h"
#include "hsa_layer/queue_record.h"
#include "xqueue/xqueue.h"

namespace hsapreempt::hsa {

struct LayerState {
  common::Config config;             // written in OnLoad before `active` is set
  HsaApiTable* table = nullptr;      // the live table we wrapped (for OnUnload)
  std::atomic<bool> active{false};   // wrappers virtualize queues (else pass through)
  xq::RuntimeOps ops;                // filled from the saved originals in OnLoad
};

LayerState& State();

// app-visible queue -> record. Lookups are on control paths only (destroy, set_priority, ...);
// the submission path uses the DoorbellSet instead.
class QueueRegistry {
 public:
  static QueueRegistry* Instance();
  void Add(QueueRecord* record);
  // Removes and returns the record for `app_queue` (null if not ours).
  QueueRecord* Take(const hsa_queue_t* app_queue);
  // Calls fn(record) for `app_queue` under the registry lock; false if not ours. fn must not call
  // back into the registry.
  bool With(const hsa_queue_t* app_queue, const std::function<void(QueueRecord*)>& fn);
  // Removes and returns every record (OnUnload / exit).
  std::vector<QueueRecord*> TakeAll();
  size_t size();

  void LockForFork() { mu_.lock(); }
  void UnlockAfterFork() { mu_.unlock(); }

 private:
  std::mutex mu_;
  std::unordered_map<const hsa_queue_t*, QueueRecord*> map_;
};

// Tears one record's queues down (destroy path and unload): unschedules, stops doorbell
// interception, drains (bounded), destroys hardware queue, XQueue, soft queue and doorbell, and
// recycles the record. Returns the status of destroying the hardware queue.
hsa_status_t TearDown(QueueRecord* record, uint64_t drain_timeout_ns);

}  // namespace hsapreempt::hsa

#endif  // HSA_LAYER_STATE_H_
