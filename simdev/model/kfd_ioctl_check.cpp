// Checks kfd_ioctl_ext.h's 1.11 definitions against the system's <linux/kfd_ioctl.h>, when it can
// be compiled (it includes <drm/drm.h>; CMake provides a shim over libdrm/ where needed).
#include "simdev/model/kfd_ioctl_ext.h"

#if __has_include(<drm/drm.h>) && __has_include(<linux/kfd_ioctl.h>)
#include <linux/kfd_ioctl.h>

static_assert(SIMKFD_IOC_GET_VERSION == AMDKFD_IOC_GET_VERSION, "GET_VERSION");
static_assert(SIMKFD_IOC_UPDATE_QUEUE == AMDKFD_IOC_UPDATE_QUEUE, "UPDATE_QUEUE");
static_assert(SIMKFD_IOC_SET_CU_MASK == AMDKFD_IOC_SET_CU_MASK, "SET_CU_MASK");
static_assert(SIMKFD_IOC_GET_QUEUE_WAVE_STATE == AMDKFD_IOC_GET_QUEUE_WAVE_STATE,
              "GET_QUEUE_WAVE_STATE");
static_assert(offsetof(simkfd_update_queue_args, queue_percentage) ==
                  offsetof(kfd_ioctl_update_queue_args, queue_percentage),
              "update_queue layout");
static_assert(offsetof(simkfd_set_cu_mask_args, cu_mask_ptr) ==
                  offsetof(kfd_ioctl_set_cu_mask_args, cu_mask_ptr),
              "set_cu_mask layout");
static_assert(offsetof(simkfd_get_queue_wave_state_args, queue_id) ==
                  offsetof(kfd_ioctl_get_queue_wave_state_args, queue_id),
              "get_queue_wave_state layout");
#ifdef AMDKFD_IOC_DBG_TRAP  // a 1.13+ system header: check the extensions too
static_assert(SIMKFD_IOC_DBG_TRAP == AMDKFD_IOC_DBG_TRAP, "DBG_TRAP");
static_assert(sizeof(simkfd_queue_snapshot_entry) == sizeof(kfd_queue_snapshot_entry), "snapshot");
#endif
namespace simdev {
bool KfdIoctlHeaderChecked() { return true; }
}  // namespace simdev
#else
namespace simdev {
bool KfdIoctlHeaderChecked() { return false; }
}  // namespace simdev
#endif
