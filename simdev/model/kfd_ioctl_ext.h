// The KFD ioctl ABI the simulated device serves, written from the upstream uapi header's layout
// (include/uapi/linux/kfd_ioctl.h): the 1.11 requests Debian 12's <linux/kfd_ioctl.h> has
// (GET_VERSION, UPDATE_QUEUE, SET_CU_MASK, GET_QUEUE_WAVE_STATE) and the 1.13 (mainline Linux 6.5)
// ones it lacks (RUNTIME_ENABLE, DBG_TRAP with the ops the project uses). Own definitions because
// <linux/kfd_ioctl.h> includes <drm/drm.h>, which Debian ships only under libdrm/; names carry a
// simkfd_ prefix so this header coexists with any system header. Layouts and request codes are
// pinned by static_asserts below and checked against the system header in kfd_ioctl_check.cpp.
#ifndef SIMDEV_MODEL_KFD_IOCTL_EXT_H_
#define SIMDEV_MODEL_KFD_IOCTL_EXT_H_

#include <linux/ioctl.h>
#include <stddef.h>
#include <stdint.h>

// ---- 1.11 ----
struct simkfd_get_version_args {
  uint32_t major_version;
  uint32_t minor_version;
};

struct simkfd_update_queue_args {
  uint64_t ring_base_address;
  uint32_t queue_id;
  uint32_t ring_size;
  uint32_t queue_percentage;  // 0 => inactive
  uint32_t queue_priority;    // 0..15
};

struct simkfd_set_cu_mask_args {
  uint32_t queue_id;
  uint32_t num_cu_mask;  // bits, a multiple of 32
  uint64_t cu_mask_ptr;
};

struct simkfd_get_queue_wave_state_args {
  uint64_t ctl_stack_address;
  uint32_t ctl_stack_used_size;
  uint32_t save_area_used_size;
  uint32_t queue_id;
  uint32_t pad;
};

#define SIMKFD_IOC_GET_VERSION _IOR('K', 0x01, struct simkfd_get_version_args)
#define SIMKFD_IOC_UPDATE_QUEUE _IOW('K', 0x07, struct simkfd_update_queue_args)
#define SIMKFD_IOC_SET_CU_MASK _IOW('K', 0x1A, struct simkfd_set_cu_mask_args)
#define SIMKFD_IOC_GET_QUEUE_WAVE_STATE _IOWR('K', 0x1B, struct simkfd_get_queue_wave_state_args)

// ---- 1.13 ----

// Exception codes (enum kfd_dbg_trap_exception_code) and their mask bit.
#define SIMKFD_EC_QUEUE_NEW 31
#define SIMKFD_EC_MASK(ecode) (1ULL << ((ecode) - 1))

// Per-queue status bits written back into the queue id array by SUSPEND/RESUME_QUEUES.
#define SIMKFD_DBG_QUEUE_ERROR_MASK (1u << 30)
#define SIMKFD_DBG_QUEUE_INVALID_MASK (1u << 31)

#define SIMKFD_RUNTIME_ENABLE_MODE_ENABLE_MASK 1
#define SIMKFD_RUNTIME_ENABLE_MODE_TTMP_SAVE_MASK 2

enum simkfd_dbg_runtime_state {
  SIMKFD_RUNTIME_STATE_DISABLED = 0,
  SIMKFD_RUNTIME_STATE_ENABLED = 1,
  SIMKFD_RUNTIME_STATE_ENABLED_BUSY = 2,
  SIMKFD_RUNTIME_STATE_ENABLED_ERROR = 3,
};

// enum kfd_dbg_trap_operations
enum simkfd_dbg_trap_op {
  SIMKFD_DBG_TRAP_ENABLE = 0,
  SIMKFD_DBG_TRAP_DISABLE = 1,
  SIMKFD_DBG_TRAP_SEND_RUNTIME_EVENT = 2,
  SIMKFD_DBG_TRAP_SET_EXCEPTIONS_ENABLED = 3,
  SIMKFD_DBG_TRAP_SET_WAVE_LAUNCH_OVERRIDE = 4,
  SIMKFD_DBG_TRAP_SET_WAVE_LAUNCH_MODE = 5,
  SIMKFD_DBG_TRAP_SUSPEND_QUEUES = 6,
  SIMKFD_DBG_TRAP_RESUME_QUEUES = 7,
  SIMKFD_DBG_TRAP_SET_NODE_ADDRESS_WATCH = 8,
  SIMKFD_DBG_TRAP_CLEAR_NODE_ADDRESS_WATCH = 9,
  SIMKFD_DBG_TRAP_SET_FLAGS = 10,
  SIMKFD_DBG_TRAP_QUERY_DEBUG_EVENT = 11,
  SIMKFD_DBG_TRAP_QUERY_EXCEPTION_INFO = 12,
  SIMKFD_DBG_TRAP_GET_QUEUE_SNAPSHOT = 13,
  SIMKFD_DBG_TRAP_GET_DEVICE_SNAPSHOT = 14,
};

struct simkfd_runtime_info {  // struct kfd_runtime_info
  uint64_t r_debug;
  uint32_t runtime_state;
  uint32_t ttmp_setup;
};

struct simkfd_runtime_enable_args {  // struct kfd_ioctl_runtime_enable_args
  uint64_t r_debug;
  uint32_t mode_mask;
  uint32_t capabilities_mask;
};

struct simkfd_queue_snapshot_entry {  // struct kfd_queue_snapshot_entry
  uint64_t exception_status;
  uint64_t ring_base_address;
  uint64_t write_pointer_address;
  uint64_t read_pointer_address;
  uint64_t ctx_save_restore_address;
  uint32_t queue_id;
  uint32_t gpu_id;
  uint32_t ring_size;
  uint32_t queue_type;
  uint32_t ctx_save_restore_area_size;
  uint32_t reserved;
};

struct simkfd_dbg_trap_enable_args {
  uint64_t exception_mask;
  uint64_t rinfo_ptr;
  uint32_t rinfo_size;
  uint32_t dbg_fd;
};

struct simkfd_dbg_trap_set_exceptions_enabled_args {
  uint64_t exception_mask;
};

struct simkfd_dbg_trap_suspend_queues_args {
  uint64_t exception_mask;   // exceptions to clear on the suspended queues
  uint64_t queue_array_ptr;  // uint32_t queue ids; status bits are written back
  uint32_t num_queues;
  uint32_t grace_period;     // in units of 1K GPU clocks
};

struct simkfd_dbg_trap_resume_queues_args {
  uint64_t queue_array_ptr;
  uint32_t num_queues;
  uint32_t pad;
};

struct simkfd_dbg_trap_set_node_address_watch_args {  // largest union member upstream
  uint64_t address;
  uint32_t mode;
  uint32_t mask;
  uint32_t gpu_id;
  uint32_t id;
};

struct simkfd_dbg_trap_queue_snapshot_args {
  uint64_t exception_mask;    // exceptions to clear on the queues copied
  uint64_t snapshot_buf_ptr;
  uint32_t num_queues;        // in: entries in the buffer; out: queues that exist
  uint32_t entry_size;        // in: stride; out: bytes filled per entry
};

struct simkfd_dbg_trap_args {  // struct kfd_ioctl_dbg_trap_args
  uint32_t pid;
  uint32_t op;
  union {
    struct simkfd_dbg_trap_enable_args enable;
    struct simkfd_dbg_trap_set_exceptions_enabled_args set_exceptions_enabled;
    struct simkfd_dbg_trap_suspend_queues_args suspend_queues;
    struct simkfd_dbg_trap_resume_queues_args resume_queues;
    struct simkfd_dbg_trap_set_node_address_watch_args set_node_address_watch;
    struct simkfd_dbg_trap_queue_snapshot_args queue_snapshot;
  };
};

#define SIMKFD_IOC_RUNTIME_ENABLE _IOWR('K', 0x25, struct simkfd_runtime_enable_args)
#define SIMKFD_IOC_DBG_TRAP _IOWR('K', 0x26, struct simkfd_dbg_trap_args)

#ifdef __cplusplus
static_assert(sizeof(simkfd_update_queue_args) == 24, "kfd_ioctl_update_queue_args layout");
static_assert(sizeof(simkfd_set_cu_mask_args) == 16, "kfd_ioctl_set_cu_mask_args layout");
static_assert(SIMKFD_IOC_UPDATE_QUEUE == 0x40184B07u, "AMDKFD_IOC_UPDATE_QUEUE request code");
static_assert(SIMKFD_IOC_SET_CU_MASK == 0x40104B1Au, "AMDKFD_IOC_SET_CU_MASK request code");
static_assert(sizeof(simkfd_runtime_info) == 16, "kfd_runtime_info layout");
static_assert(sizeof(simkfd_runtime_enable_args) == 16, "kfd_ioctl_runtime_enable_args layout");
static_assert(sizeof(simkfd_queue_snapshot_entry) == 64, "kfd_queue_snapshot_entry layout");
static_assert(offsetof(simkfd_queue_snapshot_entry, queue_id) == 40, "snapshot queue_id");
static_assert(sizeof(simkfd_dbg_trap_args) == 32, "kfd_ioctl_dbg_trap_args layout");
static_assert(offsetof(simkfd_dbg_trap_args, suspend_queues) == 8, "dbg_trap union offset");
static_assert(SIMKFD_IOC_DBG_TRAP == 0xC0204B26u, "AMDKFD_IOC_DBG_TRAP request code");
static_assert(SIMKFD_IOC_RUNTIME_ENABLE == 0xC0104B25u, "AMDKFD_IOC_RUNTIME_ENABLE request code");
#endif

#endif  // SIMDEV_MODEL_KFD_IOCTL_EXT_H_
