// TEMPORARY stand-in for simdev/model/ (engineer B) so the thunk and CP can be brought up before
// the shared model lands: a process-private device with unlimited slots (no contention, no
// CWSR). Built only when simdev/model/CMakeLists.txt does not exist. Delete once it does.
#include <time.h>

#include <map>
#include <mutex>
#include <thread>

#include "simdev/model/device.h"

namespace simdev {

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

Params Params::FromEnvironment() { return Params(); }
bool Params::ApplyPreset(const std::string& name) { return name == "mi300x"; }
std::string Params::Describe() const { return "fallback device (no model): preset " + preset; }

namespace {

class FallbackDevice : public Device {
 public:
  const Params& params() const override { return params_; }
  int AddQueue(uint32_t, uint32_t, uint64_t, uint64_t, uint32_t, uint64_t) override {
    std::lock_guard<std::mutex> l(mu_);
    return next_slot_++;
  }
  void RemoveQueue(int, uint64_t) override {}
  bool QueueRunnable(int slot) const override {
    std::lock_guard<std::mutex> l(mu_);
    return inactive_.count(slot) == 0;
  }
  uint64_t Launch(int, const KernelWork& w, uint64_t not_before) override {
    std::lock_guard<std::mutex> l(mu_);
    uint64_t slots = params_.cus * params_.slots_per_cu;
    uint64_t wg = w.workgroups ? w.workgroups : 1;
    uint64_t start = std::max(not_before, NowNs());
    uint64_t h = ++next_handle_;
    live_[h] = DispatchTimes{start, start + ((wg + slots - 1) / slots) * w.workgroup_ns};
    return h;
  }
  bool Poll(uint64_t h, uint64_t now, DispatchTimes* t) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = live_.find(h);
    if (it == live_.end() || it->second.end_ns > now) return false;
    *t = it->second;
    live_.erase(it);
    return true;
  }
  uint64_t NextEventTime(uint64_t) override {
    std::lock_guard<std::mutex> l(mu_);
    uint64_t n = UINT64_MAX;
    for (auto& kv : live_) n = std::min(n, kv.second.end_ns);
    return n;
  }
  uint64_t Generation() const override { return 0; }
  void WaitForChange(uint64_t, uint64_t deadline) override {
    uint64_t now = NowNs();
    if (deadline > now) {
      timespec ts{time_t((deadline - now) / 1000000000), long((deadline - now) % 1000000000)};
      nanosleep(&ts, nullptr);
    }
  }
  void Notify() override {}
  int SetQueueActive(int slot, bool active, uint64_t) override {
    std::lock_guard<std::mutex> l(mu_);
    if (active) inactive_.erase(slot); else inactive_[slot] = true;
    return 0;
  }
  int SetQueueSuspended(int slot, bool s, uint64_t now) override { return SetQueueActive(slot, !s, now); }
  int SetCuMask(int, const uint32_t*, uint32_t, uint64_t) override { return 0; }
  int SetQueuePriority(int, uint32_t, uint64_t) override { return 0; }
  void TraceEvent(uint32_t, int, uint64_t, uint64_t, uint64_t) override {}
  int SetQueuesSuspended(const int*, int, bool, uint64_t, uint64_t) override { return 0; }
  bool GetQueueInfo(int, DeviceQueueInfo*) override { return false; }
  int FindQueue(uint32_t, uint32_t) override { return -1; }
  void ClearQueueExceptions(int, uint64_t) override {}
  int ReapDeadProcesses(uint64_t) override { return 0; }
  size_t TraceRead(uint64_t*, hsapreempt_sim_event*, size_t) override { return 0; }
  int QueueCount() override { return 0; }

 private:
  Params params_;
  mutable std::mutex mu_;
  int next_slot_ = 0;
  uint64_t next_handle_ = 0;
  std::map<uint64_t, DispatchTimes> live_;
  std::map<int, bool> inactive_;
};

}  // namespace

Device* Device::Instance() {
  static Device* d = new FallbackDevice();
  return d;
}

}  // namespace simdev
