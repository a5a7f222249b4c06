// FakeBackend: a small in-memory KFD for unit tests of kfd_ctl and levels. It answers the ioctls
// kfd_ctl issues with the driver's semantics that matter to us (version gating, unknown queue ->
// EINVAL, debug trap needs enable first, NEW queues refuse suspension with EBUSY), and lets a test
// inject errno values and inspect every call. Also builds a fake sysfs tree in a temp directory.
#ifndef TESTS_KFD_CTL_FAKE_BACKEND_H_
#define TESTS_KFD_CTL_FAKE_BACKEND_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "kfd_ctl/backend.h"
#include "kfd_ctl/kfd_ioctl_ext.h"

namespace hsapreempt::kfd::testing {

struct FakeQueue {
  uint64_t ring_base = 0;
  uint32_t ring_size = 0;
  uint32_t gpu_id = 0x1234;
  uint32_t percent = 100;
  uint32_t priority = abi::kKfdPriorityNormal;
  std::vector<uint32_t> cu_mask;
  bool suspended = false;
  bool is_new = false;    // EC_QUEUE_NEW: not suspendable until a snapshot clears it
  int busy_suspends = 0;  // SUSPEND_QUEUES answers EBUSY this many more times regardless
};

class FakeBackend : public Backend {
 public:
  explicit FakeBackend(uint32_t major = 1, uint32_t minor = 11) : major_(major), minor_(minor) {
    char tmpl[] = "/tmp/hsapreempt-fakesys-XXXXXX";
    const char* dir = mkdtemp(tmpl);
    root_ = dir ? dir : "/nonexistent";
  }
  ~FakeBackend() override {
    std::string cmd = "rm -rf '" + root_ + "'";
    if (std::system(cmd.c_str()) != 0) {
    }
  }

  const char* name() const override { return "fake"; }
  std::string SysfsRoot() const override { return root_; }

  // ---- test controls ----
  // The next calls with `request` fail with these errno values (one each), before any semantics.
  void FailNext(unsigned long request, int err, int times = 1) {
    for (int i = 0; i < times; ++i) fail_[request].push_back(err);
  }
  // Every call with `request` fails with `err` (0: stop).
  void FailAlways(unsigned long request, int err) { sticky_[request] = err; }
  int calls(unsigned long request) const {
    auto it = calls_.find(request);
    return it == calls_.end() ? 0 : it->second;
  }
  int dbg_calls(uint32_t op) const {
    auto it = dbg_calls_.find(op);
    return it == dbg_calls_.end() ? 0 : it->second;
  }
  std::map<uint32_t, FakeQueue> queues;
  bool dbg_enabled = false;
  bool runtime_enabled = false;  // set directly to model a runtime (ROCm 6 ROCr) that did it
  abi::DbgTrapArgs last_dbg{};

  // Writes <root>/class/kfd/kfd/proc/<pid>/queues/<id>/{size,type,gpuid}.
  void AddSysfsQueue(pid_t pid, uint32_t id, uint64_t size, uint32_t gpu_id = 0x1234) {
    std::string d = root_ + "/class/kfd/kfd/proc/" + std::to_string(pid) + "/queues/" +
                    std::to_string(id);
    MkdirP(d);
    std::ofstream(d + "/size") << size << "\n";
    std::ofstream(d + "/type") << 2 << "\n";
    std::ofstream(d + "/gpuid") << gpu_id << "\n";
  }
  void MakeProcDir() { MkdirP(root_ + "/class/kfd/kfd/proc"); }
  void AddTopologyGpu(uint32_t node, uint32_t gpu_id, uint32_t gfx, uint32_t simd_count,
                      uint32_t simd_per_cu, uint32_t clk_mhz) {
    std::string d = root_ + "/class/kfd/kfd/topology/nodes/" + std::to_string(node);
    MkdirP(d);
    std::ofstream(d + "/gpu_id") << gpu_id << "\n";
    std::ofstream(d + "/properties") << "cpu_cores_count 0\nsimd_count " << simd_count
                                     << "\nsimd_per_cu " << simd_per_cu
                                     << "\ngfx_target_version " << gfx
                                     << "\nmax_engine_clk_fcompute " << clk_mhz << "\n";
  }

  static void MkdirP(const std::string& path) {
    std::string cur;
    for (size_t i = 0; i <= path.size(); ++i) {
      if (i == path.size() || (path[i] == '/' && i > 0)) {
        mkdir(path.substr(0, i).c_str(), 0755);
      }
    }
  }

 protected:
  int IoctlOnce(unsigned long request, void* arg) override {
    ++calls_[request];
    if (request == abi::kIocDbgTrap) ++dbg_calls_[static_cast<abi::DbgTrapArgs*>(arg)->op];
    auto f = fail_.find(request);
    if (f != fail_.end() && !f->second.empty()) {
      int err = f->second.front();
      f->second.pop_front();
      return -err;
    }
    auto s = sticky_.find(request);
    if (s != sticky_.end() && s->second != 0) return -s->second;
    if (request == abi::kIocGetVersion) {
      auto* a = static_cast<abi::GetVersionArgs*>(arg);
      a->major_version = major_;
      a->minor_version = minor_;
      return 0;
    }
    if (request == abi::kIocUpdateQueue) {
      auto* a = static_cast<abi::UpdateQueueArgs*>(arg);
      auto it = queues.find(a->queue_id);
      if (it == queues.end()) return -EINVAL;
      it->second.ring_base = a->ring_base_address;
      it->second.ring_size = a->ring_size;
      it->second.percent = a->queue_percentage;
      it->second.priority = a->queue_priority;
      return 0;
    }
    if (request == abi::kIocSetCuMask) {
      auto* a = static_cast<abi::SetCuMaskArgs*>(arg);
      auto it = queues.find(a->queue_id);
      if (it == queues.end() || a->num_cu_mask % 32 != 0 || a->num_cu_mask == 0) return -EINVAL;
      const auto* m = reinterpret_cast<const uint32_t*>(a->cu_mask_ptr);
      it->second.cu_mask.assign(m, m + a->num_cu_mask / 32);
      return 0;
    }
    if (request == abi::kIocRuntimeEnable) {
      if (major_ == 1 && minor_ < 13) return -EINVAL;
      if (runtime_enabled) return -EBUSY;
      if (!queues.empty()) return -EEXIST;
      if (dbg_enabled) return -EDEADLK;  // the real driver would wait for a debugger: never do it
      runtime_enabled = true;
      return 0;
    }
    if (request == abi::kIocDbgTrap) {
      if (major_ == 1 && minor_ < 13) return -EINVAL;  // unknown ioctl number
      auto* a = static_cast<abi::DbgTrapArgs*>(arg);
      last_dbg = *a;
      if (a->pid != static_cast<uint32_t>(getpid())) return -ESRCH;
      if (a->op == abi::kDbgTrapEnable) {
        if (dbg_enabled) return -EINVAL;
        if (fcntl(static_cast<int>(a->enable.dbg_fd), F_GETFD) < 0) return -EBADF;
        dbg_enabled = true;
        return 0;
      }
      if (!dbg_enabled) return -EINVAL;
      if (a->op == abi::kDbgTrapDisable) {
        dbg_enabled = false;
        return 0;
      }
      if (a->op == abi::kDbgTrapSuspendQueues || a->op == abi::kDbgTrapResumeQueues) {
        if (!runtime_enabled) return -EPERM;
        const bool suspend = a->op == abi::kDbgTrapSuspendQueues;
        auto* ids = reinterpret_cast<uint32_t*>(suspend ? a->suspend_queues.queue_array_ptr
                                                        : a->resume_queues.queue_array_ptr);
        uint32_t n = suspend ? a->suspend_queues.num_queues : a->resume_queues.num_queues;
        int done = 0;
        bool busy = false;
        for (uint32_t i = 0; i < n; ++i) {
          auto it = queues.find(ids[i]);
          if (it == queues.end()) {
            ids[i] |= abi::kDbgQueueInvalidMask;
            continue;
          }
          if (suspend && (it->second.is_new || it->second.busy_suspends > 0)) {
            if (it->second.busy_suspends > 0) --it->second.busy_suspends;
            ids[i] |= abi::kDbgQueueInvalidMask;
            busy = true;
            continue;
          }
          it->second.suspended = suspend;
          ++done;
        }
        if (busy) return -EBUSY;
        return done;
      }
      if (a->op == abi::kDbgTrapGetQueueSnapshot) {
        auto* out = reinterpret_cast<abi::QueueSnapshotEntry*>(a->queue_snapshot.snapshot_buf_ptr);
        uint32_t cap = a->queue_snapshot.num_queues;
        uint32_t i = 0;
        for (auto& [id, q] : queues) {
          if (a->queue_snapshot.exception_mask & abi::EcMask(abi::kEcQueueNew)) q.is_new = false;
          if (i < cap && out != nullptr) {
            abi::QueueSnapshotEntry e{};
            e.ring_base_address = q.ring_base;
            e.queue_id = id;
            e.gpu_id = q.gpu_id;
            e.ring_size = q.ring_size;
            e.queue_type = 2;
            out[i] = e;
          }
          ++i;
        }
        a->queue_snapshot.num_queues = i;
        a->queue_snapshot.entry_size = sizeof(abi::QueueSnapshotEntry);
        return 0;
      }
      return -EINVAL;
    }
    return -ENOTTY;
  }

 private:
  uint32_t major_, minor_;
  std::string root_;
  std::map<unsigned long, std::deque<int>> fail_;
  std::map<unsigned long, int> sticky_;
  std::map<unsigned long, int> calls_;
  std::map<uint32_t, int> dbg_calls_;
};

}  // namespace hsapreempt::kfd::testing

#endif  // TESTS_KFD_CTL_FAKE_BACKEND_H_
