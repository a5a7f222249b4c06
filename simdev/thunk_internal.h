// Internals shared by the simulated thunk's translation units (not part of any contract outside
// simdev/). The thunk models one CPU node (0) and one GPU node (1).
#ifndef SIMDEV_THUNK_INTERNAL_H_
#define SIMDEV_THUNK_INTERNAL_H_

#include <hsakmt.h>

#include <cstddef>
#include <cstdint>

// Every thunk entry point is exported (the version script then puts it under HSAKMT_1).
#define SIM_EXPORT extern "C" __attribute__((visibility("default")))

namespace simdev {

class Device;

constexpr uint32_t kCpuNode = 0;
constexpr uint32_t kGpuNode = 1;
constexpr uint32_t kNumNodes = 2;

// The shared device model, or nullptr (logged once) if it cannot be attached.
Device* GetDevice();
// True between the first hsaKmtOpenKFD and the matching hsaKmtCloseKFD.
bool KfdOpen();

// Events (thunk_events.cpp). What the CP's end-of-packet interrupt does: writes `id` into the
// mailbox (an event page slot) and sets event `id` of this process. A mailbox outside this
// process's event page (a signal created by another process) or an unknown id is ignored, so a
// foreign address is never written.
void SignalEventFromDevice(uint64_t mailbox, uint32_t id);

// Copies n bytes if the application side (dst when to_app, else src) lies inside one live
// hsaKmtAllocMemory allocation, holding the allocation table so it cannot be freed meanwhile;
// false (nothing copied) otherwise. The fast path of SafeRead/SafeWrite.
bool CopyWithinOwnAllocation(void* dst, const void* src, size_t n, bool to_app);

// Memory probes (safe_mem.cpp): never fault on a bad address. True if all `n` bytes were copied.
bool SafeRead(const void* src, void* dst, size_t n);
bool SafeWrite(void* dst, const void* src, size_t n);

// Queue registry internals (queue_registry.cpp). AllocateQueueId returns the lowest free KFD
// queue id of this process, or -1 when all are in use; the id is reserved until RemoveQueueInfo.
struct QueueInfo;
int AllocateQueueId();
void ReleaseQueueId(uint32_t id);
void InsertQueueInfo(const QueueInfo& info);
void RemoveQueueInfo(uint32_t id);
bool SetQueueError(uint32_t id);
constexpr uint32_t kMaxQueuesPerProcess = 1024;

// Fork handling: each module resets its process-local state in the child.
void ResetEventsInChild();
void ResetMemoryInChild();
void ResetQueuesInChild();
void ResetDoorbellsInChild();

}  // namespace simdev

#endif  // SIMDEV_THUNK_INTERNAL_H_
