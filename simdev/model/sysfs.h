// The simulated sysfs queue directory, as amdkfd keeps it under /sys:
//   <root>/class/kfd/kfd/proc/<pid>/queues/<queue_id>/{size,type,gpuid}
// with the driver's formats: size = ring bytes ("%llu"), type = KFD's internal queue type ("%d":
// 0 = compute, AQL or not; 1 = SDMA; 4 = SDMA XGMI), gpuid ("%u"); no trailing newline.
// <root> is Params::SysfsRoot(). With the fault "sysfs:missing" nothing is created (a kernel
// without the queue directory), and the functions succeed silently.
//
// The thunk calls SysfsAddQueue from hsaKmtCreateQueue and SysfsRemoveQueue from
// hsaKmtDestroyQueue; the device's dead-process cleanup calls SysfsRemoveProcess. Errors are
// reported once on stderr and otherwise ignored (the simulated device keeps working without it).
// Thread-safe (each call works on its own files; directory creation tolerates races).
#ifndef SIMDEV_MODEL_SYSFS_H_
#define SIMDEV_MODEL_SYSFS_H_

#include <cstdint>
#include <string>

#include "simdev/model/params.h"

namespace simdev {

constexpr uint32_t kKfdQueueTypeCompute = 0;  // KFD_QUEUE_TYPE_COMPUTE (kfd_priv.h)

// <root>/class/kfd/kfd/proc/<pid>
std::string SysfsProcessDir(const Params& params, uint32_t pid);

// Creates the queue's directory and files. Returns true if it exists afterwards.
bool SysfsAddQueue(const Params& params, uint32_t pid, uint32_t queue_id, uint64_t ring_bytes,
                   uint32_t type = kKfdQueueTypeCompute);
void SysfsRemoveQueue(const Params& params, uint32_t pid, uint32_t queue_id);
// Removes <root>/class/kfd/kfd/proc/<pid> and everything below it.
void SysfsRemoveProcess(const Params& params, uint32_t pid);

}  // namespace simdev

#endif  // SIMDEV_MODEL_SYSFS_H_
