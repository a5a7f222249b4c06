// Per-process registry of the hardware queues this process created through the simulated thunk
// (hsaKmtCreateQueue), keyed by KFD queue id. It is the simulated equivalent of KFD's per-process
// queue list: the ioctl emulation (simdev/model/) uses it to map (this process, KFD queue id) to
// the shared device's queue slot, exactly as the driver maps an ioctl's queue_id to its queue.
//
// KFD queue ids are small integers allocated per process (lowest free id first, like the driver's
// per-process queue id bitmap), so ids are reused after a queue is destroyed.
//
// Thread-safety: every function may be called from any thread; they take a short internal lock
// (never the device lock, so they may be called while holding it). None blocks otherwise.
// Fork: a child process starts with an empty registry (KFD does not give a child its parent's
// queues).
#ifndef SIMDEV_QUEUE_REGISTRY_H_
#define SIMDEV_QUEUE_REGISTRY_H_

#include <cstddef>
#include <cstdint>

namespace simdev {

// What the driver knows about one of this process's queues (the fields of KFD's queue snapshot
// and of the sysfs queue directory).
struct QueueInfo {
  uint32_t kfd_queue_id = 0;
  int slot = -1;                   // shared device queue slot
  uint32_t gpu_id = 0;             // KFD gpu_id of the node the queue runs on
  uint32_t type = 0;               // HSA_QUEUE_TYPE (hsakmttypes.h): 0 = compute, 2 = compute AQL
  uint64_t ring_base = 0;          // ring address in this process
  uint64_t ring_bytes = 0;
  uint64_t read_ptr_address = 0;   // address of the read index (Queue_read_ptr_aql)
  uint64_t write_ptr_address = 0;  // address of the write index (Queue_write_ptr_aql)
  uint64_t ctx_save_restore_address = 0;
  uint32_t ctx_save_restore_bytes = 0;
  uint32_t queue_percent = 100;    // last value set by UpdateQueue (0 = inactive)
  uint32_t priority = 7;           // KFD scale 0..15 (the thunk maps HSA_QUEUE_PRIORITY -3..3 to
                                   // 0, 3, 5, 7, 9, 11, 15 as the real thunk does)
  bool error = false;              // the CP stopped the queue on a malformed packet
};

// Device slot of this process's queue `kfd_queue_id`, or -1 if there is no such queue.
int LookupQueueSlot(uint32_t kfd_queue_id);

// Ring address and size of this process's queue `kfd_queue_id`; false if there is no such queue.
bool LookupQueueRing(uint32_t kfd_queue_id, uint64_t* ring_base, uint64_t* ring_bytes);

// Everything known about one queue; false if there is no such queue.
bool LookupQueueInfo(uint32_t kfd_queue_id, QueueInfo* info);

// Copies up to `max` of this process's queues, in increasing KFD queue id, into `out`; returns
// the total number of queues (which may exceed `max`, like KFD's snapshot).
size_t ListQueues(QueueInfo* out, size_t max);

// Records a queue-percent change made through the ioctl emulation, so the registry stays the one
// source of truth for hsaKmtUpdateQueue and UPDATE_QUEUE alike. False if there is no such queue.
bool SetQueuePercent(uint32_t kfd_queue_id, uint32_t percent);

}  // namespace simdev

#endif  // SIMDEV_QUEUE_REGISTRY_H_
