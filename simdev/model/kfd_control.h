// KFD queue control on the simulated device: the ioctl emulation behind hsapreempt_sim_kfd_ioctl
// and the functions the thunk's hsaKmtUpdateQueue / hsaKmtSetQueueCUMask / hsaKmtRuntimeEnable /
// hsaKmtDestroyQueue call, so both paths share one implementation.
//
// Emulated requests (real codes and structs from <linux/kfd_ioctl.h> and kfd_ioctl_ext.h):
//   GET_VERSION            1.11 (profile linux-6.1) or 1.13 (linux-6.5).
//   UPDATE_QUEUE           percent 0 => inactive, > 0 => active; percent > 100 or priority > 15
//                          => EINVAL; ring_size not a power of two => EINVAL; unknown queue =>
//                          EFAULT (as pqm_update_queue_properties). One runlist update.
//   SET_CU_MASK            num_cu_mask 0 or not a multiple of 32 => EINVAL; unknown queue => EFAULT.
//   GET_QUEUE_WAVE_STATE   EINVAL while the queue is runnable (the driver needs it unmapped);
//                          else sizes of its CWSR state (nominal per saved workgroup).
//   RUNTIME_ENABLE (6.5)   enable: EBUSY if already enabled, EEXIST if the process has queues.
//   DBG_TRAP (6.5)         pid must be the caller (else ESRCH / EPERM: not ptraced); any op but
//                          ENABLE before ENABLE => EINVAL; SUSPEND/RESUME before RUNTIME_ENABLE =>
//                          EPERM. ENABLE twice => EINVAL, bad dbg_fd => EBADF.
//                          SUSPEND_QUEUES returns the NUMBER of queues suspended (ioctl(2) returns
//                          it too); every id is first flagged INVALID, the flag is cleared for
//                          queues suspended or already suspended; a queue still flagged
//                          EC_QUEUE_NEW (from creation until a snapshot or suspend with
//                          exception_mask clears it) stays INVALID and is not counted, as in
//                          upstream suspend_queues(). grace_period (1K GPU clocks) lets waves
//                          ending within it finish. RESUME_QUEUES likewise returns a count.
//                          GET_QUEUE_SNAPSHOT fills min(num_queues, existing) entries, returns
//                          the number existing in num_queues, clears exception_mask on the
//                          queues copied. DISABLE resumes the process's suspended queues.
//   anything else          ENOTTY (type not 'K', or number past the profile's last command),
//                          EINVAL for other KFD commands (not emulated here).
// In profile linux-6.1 RUNTIME_ENABLE and DBG_TRAP do not exist (ENOTTY).
//
// User pointers inside the argument structs are used directly (null => EFAULT); unlike the driver,
// the emulation cannot return EFAULT for other invalid addresses.
//
// Fault injection (Params::faults) applies to the ioctl path only: the thunk path is ROCr's own
// and must keep working, as it does on a real machine when our ioctls fail.
//
// Thread-safety: any thread; per-process debug state is guarded internally. After fork() the
// child starts with no debug/runtime state (KFD does not carry it over).
#ifndef SIMDEV_MODEL_KFD_CONTROL_H_
#define SIMDEV_MODEL_KFD_CONTROL_H_

#include <cstddef>
#include <cstdint>
#include <mutex>

#include "simdev/model/device.h"
#include "simdev/model/params.h"
#include "simdev/queue_registry.h"

namespace simdev {

// This process's queues (the driver's per-process queue list). The thunk's registry
// (simdev/queue_registry.h) in production; a fake in unit tests.
class QueueDirectory {
 public:
  virtual ~QueueDirectory() = default;
  virtual bool Lookup(uint32_t kfd_queue_id, QueueInfo* info) = 0;
  virtual size_t List(QueueInfo* out, size_t max) = 0;
  virtual void SetPercent(uint32_t kfd_queue_id, uint32_t percent) = 0;
};

class KfdEmulator {
 public:
  KfdEmulator(Device* device, const Params& params, QueueDirectory* queues)
      : device_(device), params_(params), queues_(queues) {}

  // ioctl(2) on /dev/kfd, except that failure is returned as -errno (>= 0 on success).
  int Ioctl(unsigned long request, void* arg);

  // Thunk paths. Return 0 or a positive errno. No fault injection.
  int UpdateQueue(uint32_t queue_id, uint32_t percent, uint32_t priority);
  int SetCuMask(uint32_t queue_id, const uint32_t* mask, uint32_t mask_bits);
  // ENOTTY under linux-6.1 (the ioctl does not exist: the thunk reports NOT_SUPPORTED).
  int RuntimeEnable(bool enable);
  // Blocks while the queue is DBG_TRAP-suspended (the driver blocks destroy until resume), at
  // most Params::destroy_wait_ms; then returns ETIMEDOUT (one stderr line) and the caller destroys
  // anyway. 0 if not suspended or unknown.
  int WaitDestroyable(uint32_t queue_id);

 private:
  struct ProcessState {
    uint32_t pid = 0;
    bool debug_enabled = false;
    uint32_t runtime_state = 0;  // simkfd_dbg_runtime_state
    uint64_t exception_mask = 0;
    uint64_t r_debug = 0;
  };
  ProcessState& State();  // resets after fork; caller holds mu_
  int SlotOf(uint32_t queue_id, QueueInfo* info);
  int DbgTrap(void* arg);
  int SuspendQueues(void* arg, bool suspend);
  int QueueSnapshot(void* arg);

  Device* device_;
  Params params_;
  QueueDirectory* queues_;
  std::mutex mu_;
  ProcessState state_;
};

// Process-wide emulator over Device::Instance() and the thunk's registry; nullptr without a
// device. Defined in sim_exports.cpp (it needs the thunk's registry).
KfdEmulator* ProcessKfd();

// Thunk conveniences over ProcessKfd(): 0 or a positive errno (ENODEV without a device).
int KfdUpdateQueue(uint32_t queue_id, uint32_t percent, uint32_t priority);
int KfdSetQueueCuMask(uint32_t queue_id, const uint32_t* mask, uint32_t mask_bits);
int KfdRuntimeEnable(bool enable);
int KfdWaitQueueDestroyable(uint32_t queue_id);

}  // namespace simdev

#endif  // SIMDEV_MODEL_KFD_CONTROL_H_
