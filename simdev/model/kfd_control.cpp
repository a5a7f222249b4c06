// KFD ioctl emulation on the simulated device (kfd_control.h states the semantics).
#include "simdev/model/kfd_control.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "simdev/model/kfd_ioctl_ext.h"

namespace simdev {
namespace {

constexpr uint32_t kMinorLinux61 = 11;
constexpr uint32_t kMinorLinux65 = 13;  // debugger API (DBG_TRAP, RUNTIME_ENABLE)
constexpr uint32_t kCommandEndLinux61 = 0x24;
constexpr uint32_t kCommandEndLinux65 = 0x27;
// Nominal CWSR state per saved workgroup for GET_QUEUE_WAVE_STATE (not a measured figure).
constexpr uint32_t kCtlStackBytesPerWg = 64;
constexpr uint32_t kSaveAreaBytesPerWg = 64 * 1024;

bool IsPowerOfTwo(uint32_t x) { return x != 0 && (x & (x - 1)) == 0; }

}  // namespace

KfdEmulator::ProcessState& KfdEmulator::State() {
  uint32_t pid = static_cast<uint32_t>(getpid());
  if (state_.pid != pid) {
    state_ = ProcessState{};
    state_.pid = pid;
  }
  return state_;
}

int KfdEmulator::SlotOf(uint32_t queue_id, QueueInfo* info) {
  QueueInfo local;
  if (info == nullptr) info = &local;
  if (queues_ == nullptr || !queues_->Lookup(queue_id, info)) return -1;
  return info->slot;
}

int KfdEmulator::UpdateQueue(uint32_t queue_id, uint32_t percent, uint32_t priority) {
  if (percent > 100 || priority > 15) return EINVAL;
  int slot = SlotOf(queue_id, nullptr);
  if (slot < 0) return EFAULT;
  // One runlist update; the dispatcher does not model pipe priority (docs/simdev.md).
  int r = device_->SetQueueActive(slot, percent > 0, NowNs());
  if (r == 0 && queues_ != nullptr) queues_->SetPercent(queue_id, percent);
  return r;
}

int KfdEmulator::SetCuMask(uint32_t queue_id, const uint32_t* mask, uint32_t mask_bits) {
  if (mask_bits == 0 || mask_bits % 32 != 0) return EINVAL;
  if (mask == nullptr) return EFAULT;
  int slot = SlotOf(queue_id, nullptr);
  if (slot < 0) return EFAULT;
  return device_->SetCuMask(slot, mask, mask_bits, NowNs());
}

int KfdEmulator::RuntimeEnable(bool enable) {
  if (params_.kernel == KernelProfile::kLinux61) return ENOTTY;
  std::lock_guard<std::mutex> lock(mu_);
  ProcessState& st = State();
  if (!enable) {
    st.runtime_state = SIMKFD_RUNTIME_STATE_DISABLED;
    return 0;
  }
  if (st.runtime_state != SIMKFD_RUNTIME_STATE_DISABLED) return EBUSY;
  if (queues_ != nullptr && queues_->List(nullptr, 0) > 0) return EEXIST;
  st.runtime_state = SIMKFD_RUNTIME_STATE_ENABLED;
  return 0;
}

int KfdEmulator::WaitDestroyable(uint32_t queue_id) {
  int slot = SlotOf(queue_id, nullptr);
  if (slot < 0) return 0;
  uint64_t deadline = NowNs() + params_.destroy_wait_ms * 1000000ull;
  for (;;) {
    uint64_t seen = device_->Generation();
    DeviceQueueInfo info;
    if (!device_->GetQueueInfo(slot, &info) || !info.suspended) return 0;
    uint64_t now = NowNs();
    if (now >= deadline) break;
    device_->WaitForChange(seen, std::min<uint64_t>(deadline, now + 10000000ull));
  }
  fprintf(stderr,
          "hsapreempt-sim: destroying queue %u while it is still DBG_TRAP-suspended (a real driver "
          "would block until it is resumed); giving up after %llu ms\n",
          queue_id, static_cast<unsigned long long>(params_.destroy_wait_ms));
  return ETIMEDOUT;
}

int KfdEmulator::Ioctl(unsigned long request, void* arg) {
  if (_IOC_TYPE(request) != 'K') return -ENOTTY;
  const bool v65 = params_.kernel == KernelProfile::kLinux65;
  uint32_t nr = _IOC_NR(request);
  if (nr >= (v65 ? kCommandEndLinux65 : kCommandEndLinux61)) return -ENOTTY;
  if (arg == nullptr) return -EFAULT;
  if (device_ == nullptr) return -ENODEV;
  int fault = 0;
  switch (nr) {
    case _IOC_NR(SIMKFD_IOC_GET_VERSION): {
      if ((fault = params_.FaultFor("get_version")) != 0) return -fault;
      auto* a = static_cast<simkfd_get_version_args*>(arg);
      a->major_version = 1;
      a->minor_version = v65 ? kMinorLinux65 : kMinorLinux61;
      return 0;
    }
    case _IOC_NR(SIMKFD_IOC_UPDATE_QUEUE): {
      if ((fault = params_.FaultFor("update_queue")) != 0) return -fault;
      auto* a = static_cast<simkfd_update_queue_args*>(arg);
      if (a->queue_percentage > 100 || a->queue_priority > 15) return -EINVAL;
      if (a->ring_size != 0 && !IsPowerOfTwo(a->ring_size)) return -EINVAL;
      return -UpdateQueue(a->queue_id, a->queue_percentage, a->queue_priority);
    }
    case _IOC_NR(SIMKFD_IOC_SET_CU_MASK): {
      if ((fault = params_.FaultFor("set_cu_mask")) != 0) return -fault;
      auto* a = static_cast<simkfd_set_cu_mask_args*>(arg);
      return -SetCuMask(a->queue_id, reinterpret_cast<const uint32_t*>(a->cu_mask_ptr),
                        a->num_cu_mask);
    }
    case _IOC_NR(SIMKFD_IOC_GET_QUEUE_WAVE_STATE): {
      if ((fault = params_.FaultFor("get_queue_wave_state")) != 0) return -fault;
      auto* a = static_cast<simkfd_get_queue_wave_state_args*>(arg);
      int slot = SlotOf(a->queue_id, nullptr);
      DeviceQueueInfo info;
      if (slot < 0 || !device_->GetQueueInfo(slot, &info)) return -EFAULT;
      if (info.active && !info.suspended) return -EINVAL;  // must be unmapped
      a->ctl_stack_used_size = info.saved_workgroups * kCtlStackBytesPerWg;
      a->save_area_used_size = info.saved_workgroups * kSaveAreaBytesPerWg;
      return 0;
    }
    case _IOC_NR(SIMKFD_IOC_RUNTIME_ENABLE): {  // (1.13+, profile linux-6.5 only: checked above)
      if ((fault = params_.FaultFor("runtime_enable")) != 0) return -fault;
      auto* a = static_cast<simkfd_runtime_enable_args*>(arg);
      int r = RuntimeEnable((a->mode_mask & SIMKFD_RUNTIME_ENABLE_MODE_ENABLE_MASK) != 0);
      if (r == 0) {
        std::lock_guard<std::mutex> lock(mu_);
        State().r_debug = a->r_debug;
      }
      return -r;
    }
    case _IOC_NR(SIMKFD_IOC_DBG_TRAP):
      return DbgTrap(arg);
    default:
      return -EINVAL;  // a KFD command this emulation does not serve
  }
}

int KfdEmulator::DbgTrap(void* arg) {
  auto* a = static_cast<simkfd_dbg_trap_args*>(arg);
  int fault = params_.FaultFor("dbg_trap");
  if (fault != 0) return -fault;
  if (a->pid != static_cast<uint32_t>(getpid())) {
    if (kill(static_cast<pid_t>(a->pid), 0) != 0 && errno == ESRCH) return -ESRCH;
    return -EPERM;  // another process: only a ptrace parent may debug it
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ProcessState& st = State();
    if (a->op != SIMKFD_DBG_TRAP_ENABLE && !st.debug_enabled) return -EINVAL;
    bool hw_op = a->op == SIMKFD_DBG_TRAP_SET_WAVE_LAUNCH_OVERRIDE ||
                 a->op == SIMKFD_DBG_TRAP_SET_WAVE_LAUNCH_MODE ||
                 a->op == SIMKFD_DBG_TRAP_SUSPEND_QUEUES ||
                 a->op == SIMKFD_DBG_TRAP_RESUME_QUEUES ||
                 a->op == SIMKFD_DBG_TRAP_SET_NODE_ADDRESS_WATCH ||
                 a->op == SIMKFD_DBG_TRAP_CLEAR_NODE_ADDRESS_WATCH ||
                 a->op == SIMKFD_DBG_TRAP_SET_FLAGS;
    if (hw_op && st.runtime_state != SIMKFD_RUNTIME_STATE_ENABLED) return -EPERM;
    if (a->op == SIMKFD_DBG_TRAP_ENABLE) {
      if ((fault = params_.FaultFor("dbg_enable")) != 0) return -fault;
      if (st.debug_enabled) return -EINVAL;
      if (fcntl(static_cast<int>(a->enable.dbg_fd), F_GETFD) < 0) return -EBADF;
      if (a->enable.rinfo_ptr != 0 && a->enable.rinfo_size > 0) {
        simkfd_runtime_info info{st.r_debug, st.runtime_state, 0};
        memcpy(reinterpret_cast<void*>(a->enable.rinfo_ptr), &info,
               std::min<size_t>(a->enable.rinfo_size, sizeof(info)));
      }
      a->enable.rinfo_size = sizeof(simkfd_runtime_info);
      st.debug_enabled = true;
      st.exception_mask = a->enable.exception_mask;
      return 0;
    }
    if (a->op == SIMKFD_DBG_TRAP_SET_EXCEPTIONS_ENABLED) {
      st.exception_mask = a->set_exceptions_enabled.exception_mask;
      return 0;
    }
  }
  switch (a->op) {
    case SIMKFD_DBG_TRAP_DISABLE: {
      // Resume everything this process suspended, then end the debug session.
      std::vector<QueueInfo> list(256);
      size_t n = std::min(queues_ != nullptr ? queues_->List(list.data(), list.size()) : 0,
                          list.size());
      std::vector<int> slots;
      for (size_t i = 0; i < n; ++i) slots.push_back(list[i].slot);
      if (!slots.empty()) {
        device_->SetQueuesSuspended(slots.data(), static_cast<int>(slots.size()), false, 0,
                                    NowNs());
      }
      std::lock_guard<std::mutex> lock(mu_);
      State().debug_enabled = false;
      return 0;
    }
    case SIMKFD_DBG_TRAP_SUSPEND_QUEUES:
      return SuspendQueues(arg, true);
    case SIMKFD_DBG_TRAP_RESUME_QUEUES:
      return SuspendQueues(arg, false);
    case SIMKFD_DBG_TRAP_GET_QUEUE_SNAPSHOT:
      return QueueSnapshot(arg);
    default:
      return -EINVAL;  // not modelled
  }
}

int KfdEmulator::SuspendQueues(void* arg, bool suspend) {
  auto* a = static_cast<simkfd_dbg_trap_args*>(arg);
  int fault = params_.FaultFor(suspend ? "dbg_suspend" : "dbg_resume");
  if (fault != 0) return -fault;
  uint32_t num = suspend ? a->suspend_queues.num_queues : a->resume_queues.num_queues;
  uint64_t ptr = suspend ? a->suspend_queues.queue_array_ptr : a->resume_queues.queue_array_ptr;
  if (num == 0) return 0;
  if (ptr == 0 || num > 4096) return ptr == 0 ? -EFAULT : -EINVAL;
  uint32_t* ids = reinterpret_cast<uint32_t*>(ptr);
  std::vector<int> change;     // slots whose state changes
  std::vector<uint32_t> done;  // indices counted as suspended/resumed
  int count = 0;
  for (uint32_t i = 0; i < num; ++i) {
    uint32_t id = ids[i] & ~(SIMKFD_DBG_QUEUE_ERROR_MASK | SIMKFD_DBG_QUEUE_INVALID_MASK);
    ids[i] = id | SIMKFD_DBG_QUEUE_INVALID_MASK;
    int slot = SlotOf(id, nullptr);
    DeviceQueueInfo info;
    if (slot < 0 || !device_->GetQueueInfo(slot, &info)) continue;
    if (suspend) {
      if (info.suspended) {  // already suspended: success, nothing to do
        ids[i] = id;
        ++count;
        continue;
      }
      if (info.exception_status & SIMKFD_EC_MASK(SIMKFD_EC_QUEUE_NEW)) continue;  // -EBUSY inside
      ids[i] = id;
      change.push_back(slot);
      done.push_back(i);
      ++count;
    } else {
      ids[i] = id;
      if (info.suspended) {
        change.push_back(slot);
        ++count;
      }
    }
  }
  if (!change.empty()) {
    uint64_t grace_ns = suspend ? static_cast<uint64_t>(a->suspend_queues.grace_period) *
                                      1000000ull / std::max(1u, params_.engine_clock_mhz)
                                : 0;
    int r = device_->SetQueuesSuspended(change.data(), static_cast<int>(change.size()), suspend,
                                        grace_ns, NowNs());
    if (r != 0) {
      for (uint32_t i : done) ids[i] |= SIMKFD_DBG_QUEUE_ERROR_MASK;
      return -r;
    }
  }
  if (suspend && a->suspend_queues.exception_mask != 0 && count > 0) {
    // Upstream clears exception_mask on every listed queue once the device's queues were unmapped.
    for (uint32_t i = 0; i < num; ++i) {
      uint32_t id = ids[i] & ~(SIMKFD_DBG_QUEUE_ERROR_MASK | SIMKFD_DBG_QUEUE_INVALID_MASK);
      int slot = SlotOf(id, nullptr);
      if (slot >= 0) device_->ClearQueueExceptions(slot, a->suspend_queues.exception_mask);
    }
  }
  return count;
}

int KfdEmulator::QueueSnapshot(void* arg) {
  auto* a = static_cast<simkfd_dbg_trap_args*>(arg);
  int fault = params_.FaultFor("dbg_snapshot");
  if (fault != 0) return -fault;
  simkfd_dbg_trap_queue_snapshot_args& s = a->queue_snapshot;
  if (s.num_queues > 0 && s.snapshot_buf_ptr == 0) return -EFAULT;
  std::vector<QueueInfo> list(256);
  size_t total = queues_ != nullptr ? queues_->List(list.data(), list.size()) : 0;
  size_t have = std::min(total, list.size());
  uint32_t stride = s.entry_size;
  uint32_t fill = std::min<uint32_t>(stride, sizeof(simkfd_queue_snapshot_entry));
  size_t copy = std::min<size_t>(have, s.num_queues);
  for (size_t i = 0; i < copy; ++i) {
    const QueueInfo& q = list[i];
    DeviceQueueInfo info;
    device_->GetQueueInfo(q.slot, &info);
    simkfd_queue_snapshot_entry e{};
    e.exception_status = info.exception_status;
    e.ring_base_address = q.ring_base;
    e.write_pointer_address = q.write_ptr_address;
    e.read_pointer_address = q.read_ptr_address;
    e.ctx_save_restore_address = q.ctx_save_restore_address;
    e.queue_id = q.kfd_queue_id;
    e.gpu_id = q.gpu_id != 0 ? q.gpu_id : params_.gpu_id;
    e.ring_size = static_cast<uint32_t>(q.ring_bytes);
    e.queue_type = q.type;
    e.ctx_save_restore_area_size = q.ctx_save_restore_bytes;
    memcpy(reinterpret_cast<char*>(s.snapshot_buf_ptr) + i * stride, &e, fill);
    device_->ClearQueueExceptions(q.slot, s.exception_mask);
  }
  s.num_queues = static_cast<uint32_t>(total);
  s.entry_size = fill;
  return 0;
}

}  // namespace simdev
