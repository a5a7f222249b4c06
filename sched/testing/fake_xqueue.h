// A test double for xq::XQueue: no rings, no GPU. It records Suspend/Resume (with the time of
// the last call) and lets the test say whether it has runnable work. Used by the sched tests and
// by `hsapreempt bench sched`. Thread-safe: the scheduler thread calls Suspend/Resume while the
// test reads the state.
#ifndef SCHED_TESTING_FAKE_XQUEUE_H_
#define SCHED_TESTING_FAKE_XQUEUE_H_

#include <atomic>
#include <cstdint>

#include "common/clock.h"
#include "xqueue/xqueue.h"

namespace hsapreempt::sched::testing {

class FakeXQueue : public xq::XQueue {
 public:
  explicit FakeXQueue(levels::LeverKind lever = levels::LeverKind::kNone) : lever_(lever) {}

  hsa_queue_t* soft_queue() const override { return nullptr; }
  hsa_queue_t* hw_queue() const override { return nullptr; }
  void OnDoorbell(uint64_t) override {}

  void Suspend() override {
    if (!suspended_.exchange(true)) {
      suspend_calls_.fetch_add(1);
      last_suspend_ns_.store(common::MonotonicRawNs());
    }
  }
  void Resume() override {
    if (suspended_.exchange(false)) {
      resume_calls_.fetch_add(1);
      last_resume_ns_.store(common::MonotonicRawNs());
    }
  }
  bool suspended() const override { return suspended_.load(); }
  void SetThrottled(bool throttled) override { throttled_.store(throttled); }
  void Pump() override {}
  bool HasRunnableWork() const override { return runnable_.load(); }
  bool HoldsSignalProducer(hsa_signal_t signal) const override {
    return signal.handle != 0 && signal.handle == produces_.load();
  }
  int BlockingSignals(hsa_signal_t* deps, int max) const override {
    const uint64_t s = blocked_on_.load();
    if (s == 0 || max < 1) return 0;
    deps[0].handle = s;
    return 1;
  }
  common::Status Drain(uint64_t) override { return common::Status::Ok(); }
  xq::XQueueStats stats() const override {
    xq::XQueueStats s;
    s.suspended = suspended_.load();
    s.suspensions = suspend_calls_.load();
    s.held = held_.load();
    s.in_flight = in_flight_.load();
    return s;
  }
  levels::LeverKind lever_kind() const override { return lever_; }

  // Test controls.
  void set_runnable(bool r) { runnable_.store(r); }
  bool throttled() const { return throttled_.load(); }
  void set_held(uint64_t h) { held_.store(h); }
  void set_in_flight(uint64_t n) { in_flight_.store(n); }
  // Barrier dependency: this queue waits on signal `handle` (0: none) / produces `handle`.
  void set_blocked_on(uint64_t handle) { blocked_on_.store(handle); }
  void set_produces(uint64_t handle) { produces_.store(handle); }
  uint64_t suspend_calls() const { return suspend_calls_.load(); }
  uint64_t resume_calls() const { return resume_calls_.load(); }
  uint64_t last_suspend_ns() const { return last_suspend_ns_.load(); }
  uint64_t last_resume_ns() const { return last_resume_ns_.load(); }

 private:
  levels::LeverKind lever_;
  std::atomic<bool> suspended_{false};
  std::atomic<bool> throttled_{true};  // as an XQueue starts
  std::atomic<bool> runnable_{true};
  std::atomic<uint64_t> held_{0};
  std::atomic<uint64_t> in_flight_{0};
  std::atomic<uint64_t> blocked_on_{0};
  std::atomic<uint64_t> produces_{0};
  std::atomic<uint64_t> suspend_calls_{0};
  std::atomic<uint64_t> resume_calls_{0};
  std::atomic<uint64_t> last_suspend_ns_{0};
  std::atomic<uint64_t> last_resume_ns_{0};
};

}  // namespace hsapreempt::sched::testing

#endif  // SCHED_TESTING_FAKE_XQUEUE_H_
