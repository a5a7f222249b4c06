// Cross-checks our ABI definitions against the system's uapi header where it has the same request
// (Debian 12: version 1.11; a newer header also has RUNTIME_ENABLE and DBG_TRAP). Compile-time only.
// <linux/kfd_ioctl.h> includes <drm/drm.h>, which not every machine has (Debian ships it under
// libdrm/): without it the check is skipped, never the build.
#include "kfd_ctl/kfd_ioctl_ext.h"

#if __has_include(<drm/drm.h>) && __has_include(<linux/kfd_ioctl.h>)
#include <linux/kfd_ioctl.h>

namespace hsapreempt::kfd::abi {

static_assert(kIocGetVersion == AMDKFD_IOC_GET_VERSION, "GET_VERSION request code");
static_assert(kIocUpdateQueue == AMDKFD_IOC_UPDATE_QUEUE, "UPDATE_QUEUE request code");
static_assert(kIocSetCuMask == AMDKFD_IOC_SET_CU_MASK, "SET_CU_MASK request code");
static_assert(sizeof(UpdateQueueArgs) == sizeof(kfd_ioctl_update_queue_args), "update_queue");
static_assert(sizeof(SetCuMaskArgs) == sizeof(kfd_ioctl_set_cu_mask_args), "set_cu_mask");
#ifdef AMDKFD_IOC_DBG_TRAP
static_assert(kIocDbgTrap == AMDKFD_IOC_DBG_TRAP, "DBG_TRAP request code");
static_assert(kIocRuntimeEnable == AMDKFD_IOC_RUNTIME_ENABLE, "RUNTIME_ENABLE request code");
static_assert(sizeof(DbgTrapArgs) == sizeof(kfd_ioctl_dbg_trap_args), "dbg_trap_args");
static_assert(sizeof(QueueSnapshotEntry) == sizeof(kfd_queue_snapshot_entry), "snapshot entry");
#endif

}  // namespace hsapreempt::kfd::abi
#endif
