#include "kfd_ctl/device.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace hsapreempt::kfd {

using common::Status;

const char* SupportName(Support s) {
  switch (s) {
    case Support::kYes: return "yes";
    case Support::kNo: return "no";
    case Support::kUnknown: break;
  }
  return "unknown";
}

Device::Device(std::unique_ptr<Backend> backend, std::string why_none)
    : backend_(std::move(backend)), why_none_(std::move(why_none)) {
  if (!backend_) {
    if (why_none_.empty()) why_none_ = "no KFD backend";
    return;
  }
  abi::GetVersionArgs v{};
  int r = backend_->Ioctl(abi::kIocGetVersion, &v);
  if (r < 0) {
    why_none_ = std::string("AMDKFD_IOC_GET_VERSION failed on the ") + backend_->name() +
                " device: " + std::strerror(-r);
    return;
  }
  version_ok_ = true;
  version_.major = v.major_version;
  version_.minor = v.minor_version;
  HP_LOG(kInfo, "kfd: %s device, KFD ioctl %u.%u", backend_->name(), v.major_version,
         v.minor_version);
}

Device& Device::Get() {
  static Device* device = [] {
    std::string why;
    auto backend = SelectBackend(&why);
    return new Device(std::move(backend), why);  // never destroyed: used until process exit
  }();
  return *device;
}

Capabilities Device::capabilities() const {
  std::lock_guard<std::mutex> lock(mu_);
  Capabilities c = learned_;
  c.available = available();
  c.why_unavailable = available() ? "" : why_none_;
  c.backend = backend_name();
  c.version = version_;
  c.dbg_trap_abi = HasDbgTrapAbi();
  c.dbg_enabled = dbg_enabled_pid_ != 0 && dbg_enabled_pid_ == getpid();
  return c;
}

Status Device::Check(int r, const std::string& what) const {
  if (r >= 0) return Status::Ok();
  return Status::FromErrno(-r, what);
}

void Device::Learn(Support* field, std::string* why_field, const Status& s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (s.ok()) {
    *field = Support::kYes;
    why_field->clear();
    return;
  }
  // Only answers that hold for every queue of the process teach us something; EINVAL/EBUSY/ENOENT
  // may be about one queue.
  if (s.code() == Status::Code::kPermission || s.code() == Status::Code::kUnsupported) {
    *field = Support::kNo;
    *why_field = s.message();
  }
}

void Device::NoteDbgSuspend(Support s, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  learned_.dbg_suspend = s;
  learned_.dbg_suspend_why = why;
}

Status Device::UpdateQueue(const QueueRef& q, uint32_t percent, uint32_t kfd_priority) {
  if (!available()) return Status::Error(Status::Code::kUnsupported, why_none_);
  if (q.ring_base == 0 || q.ring_bytes == 0 || q.ring_bytes > UINT32_MAX || percent > 100 ||
      kfd_priority > 15) {
    return Status::Error(Status::Code::kInvalidArgument,
                         "UPDATE_QUEUE: queue " + std::to_string(q.queue_id) +
                             " needs its ring address and size, percent <= 100, priority <= 15");
  }
  abi::UpdateQueueArgs a{};
  a.ring_base_address = q.ring_base;
  a.queue_id = q.queue_id;
  a.ring_size = static_cast<uint32_t>(q.ring_bytes);
  a.queue_percentage = percent;
  a.queue_priority = kfd_priority;
  Status s = Check(backend_->Ioctl(abi::kIocUpdateQueue, &a),
                   "AMDKFD_IOC_UPDATE_QUEUE(queue " + std::to_string(q.queue_id) + ", " +
                       std::to_string(percent) + "%)");
  Learn(&learned_.update_queue, &learned_.update_queue_why, s);
  return s;
}

Status Device::SetCuMask(uint32_t queue_id, const std::vector<uint32_t>& mask) {
  if (!available()) return Status::Error(Status::Code::kUnsupported, why_none_);
  if (mask.empty()) {
    return Status::Error(Status::Code::kInvalidArgument, "SET_CU_MASK: empty mask");
  }
  std::vector<uint32_t> copy = mask;  // the driver reads it; keep the caller's const
  abi::SetCuMaskArgs a{};
  a.queue_id = queue_id;
  a.num_cu_mask = static_cast<uint32_t>(copy.size() * 32);
  a.cu_mask_ptr = reinterpret_cast<uint64_t>(copy.data());
  Status s = Check(backend_->Ioctl(abi::kIocSetCuMask, &a),
                   "AMDKFD_IOC_SET_CU_MASK(queue " + std::to_string(queue_id) + ")");
  Learn(&learned_.cu_mask, &learned_.cu_mask_why, s);
  return s;
}

bool Device::dbg_trap_enabled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dbg_enabled_pid_ != 0 && dbg_enabled_pid_ == getpid();
}

Status Device::RequireDbg(const char* what) const {
  if (!HasDbgTrapAbi()) {
    return Status::Error(Status::Code::kUnsupported,
                         std::string(what) + ": needs KFD ioctl 1.13 (Linux 6.5), driver has " +
                             (available() ? version_.ToString() : why_none_));
  }
  if (!dbg_trap_enabled()) {
    return Status::Error(Status::Code::kInvalidArgument,
                         std::string(what) + ": the debug trap is not enabled in this process");
  }
  return Status::Ok();
}

bool Device::runtime_enabled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return runtime_enabled_pid_ != 0 && runtime_enabled_pid_ == getpid();
}

Status Device::RuntimeEnable() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!HasDbgTrapAbi()) {
    return Status::Error(Status::Code::kUnsupported,
                         "RUNTIME_ENABLE: needs KFD ioctl 1.13 (Linux 6.5), driver has " +
                             (available() ? version_.ToString() : why_none_));
  }
  const pid_t pid = getpid();
  if (runtime_enabled_pid_ == pid) return Status::Ok();
  if (dbg_enabled_pid_ == pid) {
    // KFD would block this call until a debugger sends EC_PROCESS_RUNTIME: never do that.
    return Status::Error(Status::Code::kInvalidArgument,
                         "RUNTIME_ENABLE must precede the debug-trap enable");
  }
  abi::RuntimeEnableArgs a{};
  a.r_debug = 0;
  a.mode_mask = abi::kRuntimeEnableModeEnable;
  int r = backend_->Ioctl(abi::kIocRuntimeEnable, &a);
  if (r == -EBUSY) r = 0;  // the runtime (a newer ROCr) enabled it already
  Status s = Check(r, "AMDKFD_IOC_RUNTIME_ENABLE");
  if (r == -EEXIST) {
    s = Status::Error(Status::Code::kBusy,
                      "AMDKFD_IOC_RUNTIME_ENABLE: the process already has queues (KFD needs it "
                      "before the first queue)",
                      EEXIST);
  }
  if (s.ok()) runtime_enabled_pid_ = pid;
  return s;
}

Status Device::DbgTrapEnable() {
  std::lock_guard<std::mutex> lock(mu_);
  return DbgTrapEnableLocked();
}

Status Device::DbgTrapEnableLocked() {
  if (!HasDbgTrapAbi()) {
    return Status::Error(Status::Code::kUnsupported,
                         "DBG_TRAP_ENABLE: needs KFD ioctl 1.13 (Linux 6.5), driver has " +
                             (available() ? version_.ToString() : why_none_));
  }
  const pid_t pid = getpid();
  if (dbg_enabled_pid_ == pid) return Status::Ok();
  // KFD notifies the debugger of the exceptions in exception_mask by writing to dbg_fd. We ask
  // for none, but it must be a valid writable file; keep the read end open so a write can never
  // raise SIGPIPE, and non-blocking so it can never stall the driver.
  if (dbg_pipe_pid_ != pid) {
    // First use, or a child of the process that made the pipe: a fresh pipe for this process.
    if (dbg_pipe_[0] >= 0) {
      close(dbg_pipe_[0]);
      close(dbg_pipe_[1]);
      dbg_pipe_[0] = dbg_pipe_[1] = -1;
    }
    if (pipe2(dbg_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
      return Status::FromErrno(errno, "DBG_TRAP_ENABLE: pipe2");
    }
    dbg_pipe_pid_ = pid;
  }
  abi::RuntimeInfo info{};
  abi::DbgTrapArgs a{};
  a.pid = static_cast<uint32_t>(pid);
  a.op = abi::kDbgTrapEnable;
  a.enable.exception_mask = 0;
  a.enable.rinfo_ptr = reinterpret_cast<uint64_t>(&info);
  a.enable.rinfo_size = sizeof(info);
  a.enable.dbg_fd = static_cast<uint32_t>(dbg_pipe_[1]);
  Status s = Check(backend_->Ioctl(abi::kIocDbgTrap, &a), "AMDKFD_IOC_DBG_TRAP(ENABLE, self)");
  if (!s.ok()) return s;
  dbg_enabled_pid_ = pid;
  HP_LOG(kInfo, "kfd: debug trap enabled on this process (runtime state %u)",
         info.runtime_state);
  return Status::Ok();
}

Status Device::DbgTrapDisable() {
  std::lock_guard<std::mutex> lock(mu_);
  if (dbg_enabled_pid_ != getpid()) return Status::Ok();
  abi::DbgTrapArgs a{};
  a.pid = static_cast<uint32_t>(getpid());
  a.op = abi::kDbgTrapDisable;
  Status s = Check(backend_->Ioctl(abi::kIocDbgTrap, &a), "AMDKFD_IOC_DBG_TRAP(DISABLE, self)");
  if (s.ok()) dbg_enabled_pid_ = 0;
  return s;
}

Status Device::SuspendQueues(const std::vector<uint32_t>& ids, uint32_t grace_period_kclk,
                             std::vector<uint32_t>* status, int* count) {
  if (Status s = RequireDbg("SUSPEND_QUEUES"); !s.ok()) return s;
  std::vector<uint32_t> words = ids;
  abi::DbgTrapArgs a{};
  a.pid = static_cast<uint32_t>(getpid());
  a.op = abi::kDbgTrapSuspendQueues;
  a.suspend_queues.exception_mask = abi::EcMask(abi::kEcQueueNew);
  a.suspend_queues.queue_array_ptr = reinterpret_cast<uint64_t>(words.data());
  a.suspend_queues.num_queues = static_cast<uint32_t>(words.size());
  a.suspend_queues.grace_period = grace_period_kclk;
  int r = backend_->Ioctl(abi::kIocDbgTrap, &a);
  if (status) *status = words;
  if (count) *count = r > 0 ? r : 0;
  Status s = Check(r, "AMDKFD_IOC_DBG_TRAP(SUSPEND_QUEUES)");
  Learn(&learned_.dbg_suspend, &learned_.dbg_suspend_why, s);
  return s;
}

Status Device::ResumeQueues(const std::vector<uint32_t>& ids, std::vector<uint32_t>* status,
                            int* count) {
  if (Status s = RequireDbg("RESUME_QUEUES"); !s.ok()) return s;
  std::vector<uint32_t> words = ids;
  abi::DbgTrapArgs a{};
  a.pid = static_cast<uint32_t>(getpid());
  a.op = abi::kDbgTrapResumeQueues;
  a.resume_queues.queue_array_ptr = reinterpret_cast<uint64_t>(words.data());
  a.resume_queues.num_queues = static_cast<uint32_t>(words.size());
  int r = backend_->Ioctl(abi::kIocDbgTrap, &a);
  if (status) *status = words;
  if (count) *count = r > 0 ? r : 0;
  return Check(r, "AMDKFD_IOC_DBG_TRAP(RESUME_QUEUES)");
}

Status Device::QueueSnapshot(std::vector<abi::QueueSnapshotEntry>* out,
                             uint64_t clear_exceptions) {
  out->clear();
  if (Status s = RequireDbg("GET_QUEUE_SNAPSHOT"); !s.ok()) return s;
  // Ask for the count, then read with headroom (queues may appear in between: KFD never writes
  // more than we allocated and tells us how many exist).
  uint32_t want = 16;
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::vector<abi::QueueSnapshotEntry> buf(want);
    abi::DbgTrapArgs a{};
    a.pid = static_cast<uint32_t>(getpid());
    a.op = abi::kDbgTrapGetQueueSnapshot;
    a.queue_snapshot.exception_mask = clear_exceptions;
    a.queue_snapshot.snapshot_buf_ptr = reinterpret_cast<uint64_t>(buf.data());
    a.queue_snapshot.num_queues = want;
    a.queue_snapshot.entry_size = sizeof(abi::QueueSnapshotEntry);
    Status s = Check(backend_->Ioctl(abi::kIocDbgTrap, &a), "AMDKFD_IOC_DBG_TRAP(GET_QUEUE_SNAPSHOT)");
    if (!s.ok()) return s;
    // Fields up to ring_size (offset 56) are what we use; an older layout must still have them.
    if (a.queue_snapshot.entry_size < 56) {
      return Status::Error(Status::Code::kUnsupported,
                           "GET_QUEUE_SNAPSHOT: driver fills only " +
                               std::to_string(a.queue_snapshot.entry_size) + " bytes per entry");
    }
    if (a.queue_snapshot.num_queues <= want) {
      buf.resize(a.queue_snapshot.num_queues);
      *out = std::move(buf);
      return Status::Ok();
    }
    want = a.queue_snapshot.num_queues + 8;
  }
  return Status::Error(Status::Code::kBusy, "GET_QUEUE_SNAPSHOT: queue count kept changing");
}

}  // namespace hsapreempt::kfd
