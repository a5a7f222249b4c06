// Finding the KFD queue id of a hardware queue ROCr just created (ROCr exposes none, and every
// KFD queue lever needs it).
//
// Protocol (hsa_layer): BeginQueueCreate(); original hsa_queue_create(...); EndQueueCreate(ring
// base, ring bytes) — always, also when creation failed (pass ring_base 0). Begin takes a
// process-wide mutex that End releases, so queue creations through the API are serialized; hold
// nothing else that queue creation needs in between. QueueCreateScope does this with RAII.
//
// Methods, each verified before its answer is used; the result names the method or says why none:
//  "snapshot"  DBG_TRAP GET_QUEUE_SNAPSHOT (KFD 1.13+): the entry whose ring_base_address equals
//              the queue's ring, with the same ring size. Used only when the debug trap is already
//              enabled in this process (see device.h: we never enable it just to map).
//  "sysfs"     <sysfs>/class/kfd/kfd/proc/<pid>/queues/ listed before and after creation: the new
//              id whose `size` equals the ring's bytes. ROCr creates its internal utility queue
//              together with the first user queue, so two ids can appear; when both have the
//              same size the answer is ambiguous and refused — unless the caller opted in to
//              `trust_creation_order` (ROCr 5.2.3 creates the utility queue first and KFD hands
//              out the lowest free id, so with no queue before, the higher id is the user's).
//  none        "none: <reason>": the queue runs with Level-1 only.
//
// Why exactness matters: UPDATE_QUEUE also rewrites the queue's ring address and size, so a wrong
// id would corrupt another queue. Thread-safe and fork-safe (a child gets an unlocked mutex).
#ifndef KFD_CTL_QUEUE_ID_MAP_H_
#define KFD_CTL_QUEUE_ID_MAP_H_

#include <pthread.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kfd_ctl/device.h"
#include "kfd_ctl/sysfs.h"

namespace hsapreempt::kfd {

struct QueueMapping {
  bool known = false;
  uint32_t queue_id = 0;
  uint32_t gpu_id = 0;   // 0: unknown
  std::string method;    // "snapshot", "sysfs", "sysfs+order", or "none: <why>"
};

struct QueueIdMapperOptions {
  bool trust_creation_order = false;  // see above; off by default
  // Enable the KFD runtime and the debug trap (lazily, before the first creation) so the
  // snapshot method — and the suspend lever — work. The
  // process-wide mapper sets this when HSAPREEMPT_L2_MODE=suspend — the user's explicit opt-in
  // into debug-trap use — since the suspend lever needs the debug trap anyway.
  bool enable_debug_trap = false;
};

class QueueIdMapper {
 public:
  using Options = QueueIdMapperOptions;

  // `device` must outlive the mapper. Tests pass their own device and `pid`.
  explicit QueueIdMapper(Device* device, Options options = Options());
  ~QueueIdMapper();
  QueueIdMapper(const QueueIdMapper&) = delete;
  QueueIdMapper& operator=(const QueueIdMapper&) = delete;

  // The process-wide mapper over Device::Get() (options from the environment, see above). Never
  // destroyed.
  static QueueIdMapper& Get();

  void BeginQueueCreate();
  // Enables KFD's runtime and the debug trap now, if this mapper uses the queue snapshot
  // (HSAPREEMPT_L2_MODE=suspend). KFD accepts RUNTIME_ENABLE only while the process has no queue,
  // and ROCr creates internal queues (e.g. to load code objects) before the application's first
  // hsa_queue_create, so hsa_layer calls this from OnLoad. Idempotent; failures are logged once.
  void PrepareEarly();
  // ring_base == 0: creation failed; just releases the lock (returns an unknown mapping).
  QueueMapping EndQueueCreate(uint64_t ring_base, uint64_t ring_bytes);

  // The decision rules, exposed for tests.
  static QueueMapping FromSysfsDiff(const std::vector<SysfsQueue>& before,
                                    const std::vector<SysfsQueue>& after, uint64_t ring_bytes,
                                    bool trust_creation_order);
  static QueueMapping FromSnapshot(const std::vector<abi::QueueSnapshotEntry>& entries,
                                   uint64_t ring_base, uint64_t ring_bytes);

 private:
  static void AtForkPrepare();
  static void AtForkParent();
  static void AtForkChild();
  void EnableDebugTrapLocked();  // requires mu_

  Device* device_;
  Options options_;
  pthread_mutex_t mu_;
  // State between Begin and End (guarded by mu_, which the creating thread holds throughout).
  bool before_ok_ = false;
  std::string before_why_;
  std::vector<SysfsQueue> before_;
};

// RAII form of Begin/End for hsa_layer:
//   QueueCreateScope scope;  status = original(...);  mapping = scope.End(q->base_address, bytes);
class QueueCreateScope {
 public:
  explicit QueueCreateScope(QueueIdMapper& mapper = QueueIdMapper::Get()) : mapper_(mapper) {
    mapper_.BeginQueueCreate();
  }
  ~QueueCreateScope() {
    if (!ended_) mapper_.EndQueueCreate(0, 0);
  }
  QueueMapping End(uint64_t ring_base, uint64_t ring_bytes) {
    ended_ = true;
    return mapper_.EndQueueCreate(ring_base, ring_bytes);
  }

 private:
  QueueIdMapper& mapper_;
  bool ended_ = false;
};

}  // namespace hsapreempt::kfd

#endif  // KFD_CTL_QUEUE_ID_MAP_H_
