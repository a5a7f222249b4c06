// The KFD ioctl ABI this project uses, defined here rather than taken from <linux/kfd_ioctl.h>:
// Debian 12's uapi header is version 1.11 and lacks AMDKFD_IOC_RUNTIME_ENABLE / AMDKFD_IOC_DBG_TRAP
// (KFD ioctl 1.13, Linux 6.5), and a newer system header would clash with our names. Layouts are
// the upstream ones field for field (checked by static_assert here and, for the requests the
// system header also has, against its codes in kfd_ioctl_ext_check.cpp).
//
// The 1.13+ structs (runtime enable, debug trap, queue snapshot) must only be sent after
// AMDKFD_IOC_GET_VERSION reported >= 1.13: an older driver would reject or misread them.
#ifndef KFD_CTL_KFD_IOCTL_EXT_H_
#define KFD_CTL_KFD_IOCTL_EXT_H_

#include <linux/ioctl.h>

#include <cstdint>

namespace hsapreempt::kfd::abi {

struct GetVersionArgs {
  uint32_t major_version;  // from KFD
  uint32_t minor_version;  // from KFD
};
static_assert(sizeof(GetVersionArgs) == 8, "kfd_ioctl_get_version_args");

struct UpdateQueueArgs {
  uint64_t ring_base_address;  // to KFD: KFD rewrites the queue's ring address with this
  uint32_t queue_id;
  uint32_t ring_size;          // bytes; KFD rewrites the queue's ring size with this
  uint32_t queue_percentage;   // 0: inactive, 1..100 active
  uint32_t queue_priority;     // 0..15
};
static_assert(sizeof(UpdateQueueArgs) == 24, "kfd_ioctl_update_queue_args");

struct SetCuMaskArgs {
  uint32_t queue_id;
  uint32_t num_cu_mask;  // number of mask BITS, a multiple of 32
  uint64_t cu_mask_ptr;  // uint32_t array
};
static_assert(sizeof(SetCuMaskArgs) == 16, "kfd_ioctl_set_cu_mask_args");

// ---- KFD ioctl 1.13+ (Linux 6.5) ----

struct RuntimeEnableArgs {
  uint64_t r_debug;
  uint32_t mode_mask;
  uint32_t capabilities_mask;
};
static_assert(sizeof(RuntimeEnableArgs) == 16, "kfd_ioctl_runtime_enable_args");

constexpr uint32_t kRuntimeEnableModeEnable = 1;    // KFD_RUNTIME_ENABLE_MODE_ENABLE_MASK
constexpr uint32_t kRuntimeEnableModeTtmpSave = 2;  // ..._TTMP_SAVE_MASK (not used: ROCr's business)

struct RuntimeInfo {
  uint64_t r_debug;
  uint32_t runtime_state;
  uint32_t ttmp_setup;
};
static_assert(sizeof(RuntimeInfo) == 16, "kfd_runtime_info");

struct QueueSnapshotEntry {
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
static_assert(sizeof(QueueSnapshotEntry) == 64, "kfd_queue_snapshot_entry");

enum DbgTrapOp : uint32_t {
  kDbgTrapEnable = 0,
  kDbgTrapDisable = 1,
  kDbgTrapSuspendQueues = 6,
  kDbgTrapResumeQueues = 7,
  kDbgTrapGetQueueSnapshot = 13,
};

// Exception codes we touch (kfd_dbg_trap_exception_code) and their mask bit.
constexpr uint32_t kEcQueueNew = 31;
constexpr uint64_t EcMask(uint32_t code) { return 1ull << (code - 1); }

// Per-queue status bits KFD ORs into the queue id array of suspend/resume.
constexpr uint32_t kDbgQueueErrorMask = 1u << 30;
constexpr uint32_t kDbgQueueInvalidMask = 1u << 31;

struct DbgTrapEnableArgs {
  uint64_t exception_mask;
  uint64_t rinfo_ptr;
  uint32_t rinfo_size;
  uint32_t dbg_fd;
};
struct DbgTrapSuspendQueuesArgs {
  uint64_t exception_mask;   // raised exceptions to clear (e.g. EC_QUEUE_NEW)
  uint64_t queue_array_ptr;  // uint32_t queue ids; KFD ORs status bits into them
  uint32_t num_queues;
  uint32_t grace_period;     // units of 1K GPU clocks
};
struct DbgTrapResumeQueuesArgs {
  uint64_t queue_array_ptr;
  uint32_t num_queues;
  uint32_t pad;
};
struct DbgTrapQueueSnapshotArgs {
  uint64_t exception_mask;
  uint64_t snapshot_buf_ptr;
  uint32_t num_queues;  // in: entries allocated; out: queues that exist
  uint32_t entry_size;  // in: our stride; out: bytes KFD filled per entry
};
// The largest member of upstream's union is 24 bytes; keep the union that size.
struct DbgTrapUnionPad {
  uint64_t a, b, c;
};

struct DbgTrapArgs {
  uint32_t pid;
  uint32_t op;
  union {
    DbgTrapEnableArgs enable;
    DbgTrapSuspendQueuesArgs suspend_queues;
    DbgTrapResumeQueuesArgs resume_queues;
    DbgTrapQueueSnapshotArgs queue_snapshot;
    DbgTrapUnionPad pad;
  };
};
static_assert(sizeof(DbgTrapEnableArgs) == 24, "kfd_ioctl_dbg_trap_enable_args");
static_assert(sizeof(DbgTrapSuspendQueuesArgs) == 24, "kfd_ioctl_dbg_trap_suspend_queues_args");
static_assert(sizeof(DbgTrapResumeQueuesArgs) == 16, "kfd_ioctl_dbg_trap_resume_queues_args");
static_assert(sizeof(DbgTrapQueueSnapshotArgs) == 24, "kfd_ioctl_dbg_trap_queue_snapshot_args");
static_assert(sizeof(DbgTrapArgs) == 32, "kfd_ioctl_dbg_trap_args");

// Request codes: 'K' base, as the driver computes them.
constexpr unsigned long kIocBase = 'K';
constexpr unsigned long kIocGetVersion = _IOR(kIocBase, 0x01, GetVersionArgs);
constexpr unsigned long kIocUpdateQueue = _IOW(kIocBase, 0x07, UpdateQueueArgs);
constexpr unsigned long kIocSetCuMask = _IOW(kIocBase, 0x1A, SetCuMaskArgs);
constexpr unsigned long kIocRuntimeEnable = _IOWR(kIocBase, 0x25, RuntimeEnableArgs);
constexpr unsigned long kIocDbgTrap = _IOWR(kIocBase, 0x26, DbgTrapArgs);

// KFD queue priority (0..15) for the thunk scale HSA_QUEUE_PRIORITY -3..3 (hsakmttypes.h), as
// libhsakmt maps it. ROCr maps hsa_amd_queue_priority_t LOW/NORMAL/HIGH to -3/0/3.
constexpr uint32_t KfdPriorityFromThunk(int thunk_priority) {
  constexpr uint32_t kMap[] = {0, 3, 5, 7, 9, 11, 15};
  return kMap[(thunk_priority < -3 ? -3 : thunk_priority > 3 ? 3 : thunk_priority) + 3];
}
constexpr uint32_t kKfdPriorityNormal = 7;  // HSA_QUEUE_PRIORITY_NORMAL, ROCr's default

}  // namespace hsapreempt::kfd::abi

#endif  // KFD_CTL_KFD_IOCTL_EXT_H_
