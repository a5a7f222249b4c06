// kfd::Device: every KFD queue-control operation the product uses, over a Backend (our own
// /dev/kfd descriptor, or the simulated device). The only code in the product that talks to KFD.
//
// - Reads AMDKFD_IOC_GET_VERSION once and gates the 1.13+ structs (debug trap, queue snapshot) on
//   it: with an older driver those calls return kUnsupported without any ioctl.
// - Maps -errno to common::Status (EPERM/EACCES -> kPermission, EBUSY -> kBusy, ENOTTY -> ...),
//   with the operation, queue and errno in the message.
// - Learns, per process, which levers work: a permission/unsupported error marks that lever "no"
//   (with the reason) so later queues do not try again; success marks it "yes".
// - Debug trap: DbgTrapEnable() makes this process its own debugger (KFD allows a process to
//   debug itself). A process has ONE debugger: this conflicts with rocgdb and with ROCr's GPU core
//   dumps, so nothing enables it implicitly — only the suspend lever (HSAPREEMPT_L2_MODE=suspend)
//   and `hsapreempt probe`'s scratch child do.
//
// Thread-safe (an internal mutex guards the learned state; ioctls run without it). Fork-safe: the
// backend reopens its descriptor in a child, and debug-enable state, which KFD keeps per process,
// is forgotten in a child. Never blocks beyond one ioctl.
#ifndef KFD_CTL_DEVICE_H_
#define KFD_CTL_DEVICE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "kfd_ctl/backend.h"
#include "kfd_ctl/kfd_ioctl_ext.h"

namespace hsapreempt::kfd {

struct KfdVersion {
  uint32_t major = 0;
  uint32_t minor = 0;
  bool AtLeast(uint32_t mj, uint32_t mn) const { return major > mj || (major == mj && minor >= mn); }
  std::string ToString() const { return std::to_string(major) + "." + std::to_string(minor); }
};

enum class Support { kUnknown, kYes, kNo };
const char* SupportName(Support s);

// What this process knows about the device (a snapshot; cheap to copy).
struct Capabilities {
  bool available = false;        // a backend exists and GET_VERSION answered
  std::string why_unavailable;
  std::string backend;           // "real", "sim", ...
  KfdVersion version;
  bool dbg_trap_abi = false;     // version >= 1.13: RUNTIME_ENABLE / DBG_TRAP exist
  bool dbg_enabled = false;      // this process enabled the debug trap on itself
  Support update_queue = Support::kUnknown;
  Support cu_mask = Support::kUnknown;
  Support dbg_suspend = Support::kUnknown;
  std::string update_queue_why, cu_mask_why, dbg_suspend_why;  // why "no"
};

// A hardware queue as KFD's UPDATE_QUEUE needs it: KFD overwrites the queue's ring address and
// size with what we pass, so these must be the queue's own.
struct QueueRef {
  uint32_t queue_id = 0;
  uint64_t ring_base = 0;
  uint64_t ring_bytes = 0;
};

class Device {
 public:
  // `backend` may be null (then `why_none` says why and every call fails kUnsupported).
  Device(std::unique_ptr<Backend> backend, std::string why_none);

  // The process-wide device: created on first use with SelectBackend(), never destroyed.
  static Device& Get();

  Capabilities capabilities() const;
  bool available() const { return backend_ != nullptr && version_ok_; }
  KfdVersion version() const { return version_; }
  bool HasDbgTrapAbi() const { return available() && version_.AtLeast(1, 13); }
  std::string SysfsRoot() const { return backend_ ? backend_->SysfsRoot() : ""; }
  std::string Describe() const { return backend_ ? backend_->Describe() : ""; }
  const char* backend_name() const { return backend_ ? backend_->name() : "none"; }

  // UPDATE_QUEUE: percent 0 deactivates the queue, 100 reactivates it; `kfd_priority` 0..15
  // (pass the queue's current priority: KFD sets it too).
  common::Status UpdateQueue(const QueueRef& q, uint32_t percent, uint32_t kfd_priority);
  // SET_CU_MASK with 32 * mask.size() bits (bit i = CU i).
  common::Status SetCuMask(uint32_t queue_id, const std::vector<uint32_t>& mask);

  // AMDKFD_IOC_RUNTIME_ENABLE for this process (1.13+). KFD's debug-trap suspend/resume need the
  // runtime enabled; newer thunks do it inside ROCr's init, ROCr 5.2.3's thunk does not (it uses
  // an out-of-tree ioctl). Must run before the process's first queue (else KFD says EEXIST) and
  // before DbgTrapEnable (else KFD waits for a debugger's go-ahead). EBUSY (the runtime already
  // did it) counts as success. Idempotent per process.
  common::Status RuntimeEnable();
  bool runtime_enabled() const;
  // Debug trap on this process (1.13+). Idempotent per process.
  common::Status DbgTrapEnable();
  common::Status DbgTrapDisable();
  bool dbg_trap_enabled() const;
  // SUSPEND_QUEUES: `status` receives the per-queue words KFD wrote back (id | error bits);
  // *count the number of queues KFD suspended. EC_QUEUE_NEW is cleared for the queues passed.
  common::Status SuspendQueues(const std::vector<uint32_t>& ids, uint32_t grace_period_kclk,
                               std::vector<uint32_t>* status, int* count);
  common::Status ResumeQueues(const std::vector<uint32_t>& ids, std::vector<uint32_t>* status,
                              int* count);
  // GET_QUEUE_SNAPSHOT: every queue of this process. `clear_exceptions` are cleared on the queues
  // copied — the way to clear EC_QUEUE_NEW, without which KFD refuses to suspend a new queue.
  common::Status QueueSnapshot(std::vector<abi::QueueSnapshotEntry>* out,
                               uint64_t clear_exceptions = 0);

  // Records a lever's outcome observed outside this class (e.g. a resume that never took).
  void NoteDbgSuspend(Support s, const std::string& why);

 private:
  common::Status Check(int r, const std::string& what) const;
  void Learn(Support* field, std::string* why_field, const common::Status& s);
  common::Status RequireDbg(const char* what) const;
  common::Status DbgTrapEnableLocked();

  std::unique_ptr<Backend> backend_;
  std::string why_none_;
  bool version_ok_ = false;
  KfdVersion version_;

  mutable std::mutex mu_;
  Capabilities learned_;       // the Support fields and reasons (guarded by mu_)
  pid_t dbg_enabled_pid_ = 0;  // guarded by mu_; KFD's debug state belongs to one process
  pid_t runtime_enabled_pid_ = 0;  // guarded by mu_
  int dbg_pipe_[2] = {-1, -1};  // guarded by mu_
  pid_t dbg_pipe_pid_ = 0;
};

}  // namespace hsapreempt::kfd

#endif  // KFD_CTL_DEVICE_H_
