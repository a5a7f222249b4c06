// Process-wide state of the tool: the configuration parsed at load, whether the wrappers are
// active, and the registry of virtualized queues. Never destroyed (the tool may be used from
// atexit handlers and other threads while the process exits).
#ifndef HSA_LAYER_STATE_H_
#define HSA_LAYER_STATE_H_

#include <hsa_api_trace.h>

#include <atomic>
#include <new>
#include <vector>
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
//
// The registry lock guards the map only and is never held while calling another layer or ROCr
// (so no lock-order cycle with the siblings' fork handlers or locks). A caller that uses a record
// outside the lock holds it with Acquire()/Release(); Take() + WaitUnused() (the destroy path)
// waits for such callers to leave before the queue is torn down.
class QueueRegistry {
 public:
  static QueueRegistry* Instance();
  void Add(QueueRecord* record);
  // Removes and returns the record for `app_queue` (null if not ours).
  QueueRecord* Take(const hsa_queue_t* app_queue);
  // The record for `app_queue` with its api_users count raised (null if not ours).
  QueueRecord* Acquire(const hsa_queue_t* app_queue);
  static void Release(QueueRecord* record) {
    record->api_users.fetch_sub(1, std::memory_order_release);
  }
  // After Take(): waits until no Acquire()d caller still uses the record.
  static void WaitUnused(QueueRecord* record);
  // Removes and returns every record (OnUnload / exit).
  std::vector<QueueRecord*> TakeAll();
  size_t size();

  // In a forked child (single-threaded): a fresh, unlocked mutex. The parent's queues are of no
  // use in the child (KFD binds them to the parent), so the map's contents do not matter there.
  void ResetAfterFork() { new (&mu_) std::mutex(); }

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
