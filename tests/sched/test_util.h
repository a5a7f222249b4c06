// Helpers for the sched tests: unique board names (removed at scope exit) and polling.
#ifndef TESTS_SCHED_TEST_UTIL_H_
#define TESTS_SCHED_TEST_UTIL_H_

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "sched/board.h"

namespace hsapreempt::sched::testing {

// A board name unique to this test process; the segment is unlinked on destruction.
class ScopedBoardName {
 public:
  ScopedBoardName() {
    static std::atomic<int> counter{0};
    name_ = "test-" + std::to_string(getpid()) + "-" + std::to_string(counter.fetch_add(1));
    unlink(Board::PathFor(name_).c_str());
  }
  ~ScopedBoardName() { unlink(Board::PathFor(name_).c_str()); }
  const std::string& name() const { return name_; }
  std::string path() const { return Board::PathFor(name_); }

 private:
  std::string name_;
};

// Polls `cond` every 200 us until it holds or `timeout_ms` passes; returns the final value.
inline bool WaitFor(const std::function<bool()>& cond, int timeout_ms = 2000) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return cond();
}

}  // namespace hsapreempt::sched::testing

#endif  // TESTS_SCHED_TEST_UTIL_H_
