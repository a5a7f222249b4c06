// Thunk API: hardware queues. A compute AQL queue is registered with the shared device (slot),
// with this process's queue registry (KFD queue id, lowest free first) and with the process's CP
// thread; its doorbell is a slot in a per-process doorbell page. SDMA queues are not simulated
// (ROCr then copies with blit kernels).
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "hsapreempt/sim_device.h"
#include "simdev/cp.h"
#include "simdev/log.h"
#include "simdev/model/device.h"
#include "simdev/model/kfd_control.h"
#include "simdev/model/sysfs.h"
#include "simdev/queue_registry.h"
#include "simdev/thunk_internal.h"

namespace simdev {
namespace {

uint64_t* g_doorbells = nullptr;  // kMaxQueuesPerProcess 64-bit doorbells (inherited by a child)
std::mutex* g_doorbell_mu = new std::mutex();  // replaced in a fork child (may be held at fork)
std::atomic<bool> g_exiting{false};

uint64_t* Doorbells() {
  std::lock_guard<std::mutex> lock(*g_doorbell_mu);
  if (g_doorbells == nullptr) {
    void* p = mmap(nullptr, kMaxQueuesPerProcess * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) g_doorbells = static_cast<uint64_t*>(p);
  }
  return g_doorbells;
}

// As the real thunk maps HSA_QUEUE_PRIORITY (-3..3) to KFD's 0..15.
uint32_t KfdPriority(HSA_QUEUE_PRIORITY p) {
  static const uint32_t kMap[] = {0, 3, 5, 7, 9, 11, 15};
  int i = static_cast<int>(p) + 3;
  return (i >= 0 && i < 7) ? kMap[i] : 7;
}

HSAKMT_STATUS FromErrno(int err) {
  if (err == 0) return HSAKMT_STATUS_SUCCESS;
  if (err == EINVAL) return HSAKMT_STATUS_INVALID_PARAMETER;
  if (err == ENOMEM || err == ENOSPC) return HSAKMT_STATUS_OUT_OF_RESOURCES;
  if (err == EOPNOTSUPP || err == ENOTSUP) return HSAKMT_STATUS_NOT_SUPPORTED;
  return HSAKMT_STATUS_ERROR;
}

// At exit the process's queues leave the shared device even if the runtime never destroyed them
// (so a dead process never holds CU slots of a device other processes share).
void RemoveAllAtExit() {
  g_exiting.store(true);
  int slots[kMaxQueuesPerProcess];
  int n = Cp::Instance().RemoveAll(slots, kMaxQueuesPerProcess);
  Device* dev = GetDevice();
  for (int i = 0; i < n && dev != nullptr; ++i) dev->RemoveQueue(slots[i], NowNs());
  QueueInfo infos[64];
  size_t total = ListQueues(infos, 64);
  for (size_t i = 0; i < total && i < 64; ++i) RemoveQueueInfo(infos[i].kfd_queue_id);
  if (dev != nullptr) SysfsRemoveProcess(dev->params(), static_cast<uint32_t>(getpid()));
}

}  // namespace

void ResetDoorbellsInChild() { g_doorbell_mu = new std::mutex(); }

SIM_EXPORT HSAKMT_STATUS hsaKmtCreateQueue(HSAuint32 node, HSA_QUEUE_TYPE type, HSAuint32 percent,
                                           HSA_QUEUE_PRIORITY priority, void* address,
                                           HSAuint64 size, HsaEvent* event,
                                           HsaQueueResource* rsrc) {
  if (rsrc == nullptr) return HSAKMT_STATUS_INVALID_PARAMETER;
  if (!KfdOpen()) return HSAKMT_STATUS_KERNEL_IO_CHANNEL_NOT_OPENED;
  if (node != kGpuNode) return HSAKMT_STATUS_INVALID_NODE_UNIT;
  if (type == HSA_QUEUE_SDMA || type == HSA_QUEUE_SDMA_XGMI) {
    SIM_LOG(kInfo, "hsaKmtCreateQueue: SDMA queues are not simulated (ROCr uses blit kernels)");
    return HSAKMT_STATUS_NOT_SUPPORTED;
  }
  if (type != HSA_QUEUE_COMPUTE_AQL) {
    SIM_LOG(kWarn, "hsaKmtCreateQueue: queue type %d is not simulated (compute AQL only)", type);
    return HSAKMT_STATUS_NOT_SUPPORTED;
  }
  uint8_t probe;
  if (size < 64 || (size & (size - 1)) != 0 || !SafeRead(address, &probe, 1) ||
      !SafeRead(static_cast<uint8_t*>(address) + size - 1, &probe, 1) ||
      rsrc->Queue_read_ptr_aql == nullptr || rsrc->Queue_write_ptr_aql == nullptr ||
      !SafeRead(rsrc->Queue_read_ptr_aql, &probe, 1) ||
      !SafeRead(rsrc->Queue_write_ptr_aql, &probe, 1)) {
    SIM_LOG(kWarn, "hsaKmtCreateQueue: invalid ring (%p, %llu bytes) or read/write pointers",
            address, (unsigned long long)size);
    return HSAKMT_STATUS_INVALID_PARAMETER;
  }
  Device* dev = GetDevice();
  uint64_t* doorbells = Doorbells();
  if (dev == nullptr || doorbells == nullptr) return HSAKMT_STATUS_ERROR;
  static std::once_flag at_exit_once;
  std::call_once(at_exit_once, [] { atexit(RemoveAllAtExit); });

  int id = AllocateQueueId();
  if (id < 0) {
    SIM_LOG(kWarn, "hsaKmtCreateQueue: all %u queue ids of this process are in use",
            kMaxQueuesPerProcess);
    return HSAKMT_STATUS_OUT_OF_RESOURCES;
  }
  uint64_t now = NowNs();
  uint32_t kfd_prio = KfdPriority(priority);
  int slot = dev->AddQueue(static_cast<uint32_t>(getpid()), static_cast<uint32_t>(id),
                           reinterpret_cast<uint64_t>(address), size, kfd_prio, now);
  if (slot < 0) {
    ReleaseQueueId(static_cast<uint32_t>(id));
    SIM_LOG(kWarn, "hsaKmtCreateQueue: the simulated device's queue table is full");
    return HSAKMT_STATUS_OUT_OF_RESOURCES;
  }
  if (percent == 0) dev->SetQueueActive(slot, false, now);

  QueueInfo info;
  info.kfd_queue_id = static_cast<uint32_t>(id);
  info.slot = slot;
  info.gpu_id = dev->params().gpu_id;
  info.type = type;
  info.ring_base = reinterpret_cast<uint64_t>(address);
  info.ring_bytes = size;
  info.read_ptr_address = reinterpret_cast<uint64_t>(rsrc->Queue_read_ptr_aql);
  info.write_ptr_address = reinterpret_cast<uint64_t>(rsrc->Queue_write_ptr_aql);
  info.queue_percent = percent;
  info.priority = kfd_prio;
  InsertQueueInfo(info);
  // Like amdkfd, the queue's sysfs directory exists once creation returns (queue-id mapping by
  // sysfs diff depends on it).
  SysfsAddQueue(dev->params(), static_cast<uint32_t>(getpid()), static_cast<uint32_t>(id), size);

  doorbells[id] = 0;
  CpQueueConfig cfg;
  cfg.kfd_queue_id = static_cast<uint32_t>(id);
  cfg.slot = slot;
  cfg.ring = static_cast<uint8_t*>(address);
  cfg.ring_packets = static_cast<uint32_t>(size / 64);
  cfg.read_ptr = rsrc->Queue_read_ptr_aql;
  cfg.write_ptr = rsrc->Queue_write_ptr_aql;
  Cp::Instance().AddQueue(cfg);

  rsrc->QueueId = static_cast<HSA_QUEUEID>(id);
  rsrc->Queue_DoorBell_aql = &doorbells[id];
  SIM_LOG(kDebug, "queue %d created: slot %d, ring %p, %llu bytes, priority %u", id, slot, address,
          (unsigned long long)size, kfd_prio);
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtDestroyQueue(HSA_QUEUEID queue_id) {
  QueueInfo info;
  if (queue_id >= kMaxQueuesPerProcess || !LookupQueueInfo(static_cast<uint32_t>(queue_id), &info)) {
    if (g_exiting.load()) return HSAKMT_STATUS_SUCCESS;  // already removed at exit
    SIM_LOG(kWarn, "hsaKmtDestroyQueue(%llu): no such queue", (unsigned long long)queue_id);
    return HSAKMT_STATUS_INVALID_PARAMETER;
  }
  // The driver blocks destroying a debug-trap-suspended queue until it is resumed (bounded).
  KfdWaitQueueDestroyable(info.kfd_queue_id);
  // First the CP lets go of the ring, then the device drops the queue's pending work.
  Cp::Instance().RemoveQueue(info.kfd_queue_id);
  Device* dev = GetDevice();
  if (dev != nullptr) {
    dev->RemoveQueue(info.slot, NowNs());
    SysfsRemoveQueue(dev->params(), static_cast<uint32_t>(getpid()), info.kfd_queue_id);
  }
  RemoveQueueInfo(info.kfd_queue_id);
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtUpdateQueue(HSA_QUEUEID queue_id, HSAuint32 percent,
                                           HSA_QUEUE_PRIORITY priority, void* address,
                                           HSAuint64 size, HsaEvent* event) {
  QueueInfo info;
  if (queue_id >= kMaxQueuesPerProcess || !LookupQueueInfo(static_cast<uint32_t>(queue_id), &info)) {
    SIM_LOG(kWarn, "hsaKmtUpdateQueue(%llu): no such queue", (unsigned long long)queue_id);
    return HSAKMT_STATUS_INVALID_PARAMETER;
  }
  uint32_t kfd_prio = KfdPriority(priority);
  // The same code as the UPDATE_QUEUE ioctl emulation: one runlist update.
  int err = KfdUpdateQueue(info.kfd_queue_id, percent, kfd_prio);
  if (err == 0 && kfd_prio != info.priority) {
    Device* dev = GetDevice();
    err = dev != nullptr ? dev->SetQueuePriority(info.slot, kfd_prio, NowNs()) : ENODEV;
    if (err == 0 && LookupQueueInfo(info.kfd_queue_id, &info)) {
      info.priority = kfd_prio;
      InsertQueueInfo(info);
    }
  }
  return FromErrno(err);
}

SIM_EXPORT HSAKMT_STATUS hsaKmtSetQueueCUMask(HSA_QUEUEID queue_id, HSAuint32 mask_count,
                                              HSAuint32* mask) {
  QueueInfo info;
  if (queue_id >= kMaxQueuesPerProcess || !LookupQueueInfo(static_cast<uint32_t>(queue_id), &info)) {
    SIM_LOG(kWarn, "hsaKmtSetQueueCUMask(%llu): no such queue", (unsigned long long)queue_id);
    return HSAKMT_STATUS_INVALID_PARAMETER;
  }
  // KFD requires a whole number of 32-bit words.
  if (mask == nullptr || mask_count == 0 || mask_count % 32 != 0) {
    return HSAKMT_STATUS_INVALID_PARAMETER;
  }
  return FromErrno(KfdSetQueueCuMask(info.kfd_queue_id, mask, mask_count));
}

}  // namespace simdev
