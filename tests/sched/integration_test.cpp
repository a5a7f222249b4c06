// Two real HSA programs (hsapreempt-workload on the real ROCr over the simulated device), each
// started with `hsapreempt run`, contending on one simulated GPU and one board. Checks behaviour,
// not timing targets (those are in the benches): the high-priority program's work suspends the
// low one while it runs; the low one still finishes its work; a killed high-priority program
// stops holding the low one within a second.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "sched/board.h"
#include "tests/sched/test_util.h"
#include "tests/support/process.h"
#include "tools/support/json.h"

namespace hsapreempt::sched {
namespace {

using testsupport::RunOptions;
using testsupport::RunProcess;
using testsupport::RunResult;

struct QueueSeen {
  int32_t pid = 0;
  uint64_t preemptions = 0;
  bool suspended = false;
};

// The board entry of the first queue with `priority`, if any.
bool FindQueue(Board* board, int priority, QueueSeen* out) {
  for (uint32_t i = 0; i < kBoardMaxQueues; ++i) {
    const BoardQueue* q = board->queue(i);
    if (Load(q->id) == 0 || Load(q->priority) != priority) continue;
    out->pid = Load(q->owner_pid);
    out->preemptions = Load(q->preemptions);
    out->suspended = Load(q->suspended) != 0;
    return true;
  }
  return false;
}

class SchedIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testsupport::SimLibDir().empty()) GTEST_SKIP() << "simulated device not built";
    device_ = testsupport::UniqueDeviceName("sched");
  }
  void TearDown() override {
    if (!device_.empty()) testsupport::RemoveSimDevice(device_);
  }

  RunOptions Options(double timeout_s) {
    RunOptions o;
    o.env = testsupport::SimEnvironment(device_);
    o.timeout_s = timeout_s;
    return o;
  }

  std::vector<std::string> Run(int priority, const std::vector<std::string>& workload) {
    std::vector<std::string> argv{HSAPREEMPT_CLI, "run", "--priority", std::to_string(priority),
                                  "--board", board_.name(), "--"};
    argv.push_back(testsupport::WorkloadPath());
    argv.insert(argv.end(), workload.begin(), workload.end());
    return argv;
  }

  // Opens the board once some program has created it.
  std::unique_ptr<Board> WaitForBoard() {
    std::unique_ptr<Board> board;
    testing::WaitFor([&] { return Board::OpenShared(board_.name(), false, &board).ok(); }, 10000);
    return board;
  }

  std::string device_;
  testing::ScopedBoardName board_;
};

double LatencyP50Us(const RunResult& r) {
  tools::json::Value v;
  std::string err;
  if (!tools::json::Parse(r.out, &v, &err)) return -1;
  return v.Get("latency_ns").Get("p50").AsNumber(-1000) / 1000.0;
}

TEST_F(SchedIntegrationTest, HighPriorityProgramSuspendsLowOneWhichStillProgresses) {
  RunResult low;
  std::thread low_thread([&] {
    low = RunProcess(Run(10, {"spin", "--duration-us", "2000", "--seconds", "2", "--inflight",
                              "4"}),
                     Options(120));
  });
  auto board = WaitForBoard();
  ASSERT_NE(board, nullptr);
  QueueSeen seen;
  ASSERT_TRUE(testing::WaitFor([&] { return FindQueue(board.get(), 10, &seen); }, 20000));
  std::atomic<bool> done{false};
  std::atomic<uint64_t> max_preemptions{0};
  std::thread watcher([&] {
    while (!done.load()) {
      QueueSeen q;
      if (FindQueue(board.get(), 10, &q) && q.preemptions > max_preemptions.load()) {
        max_preemptions.store(q.preemptions);
      }
      usleep(2000);
    }
  });
  RunResult high = RunProcess(Run(90, {"spin", "--duration-us", "200", "--count", "30", "--rate",
                                       "100", "--inflight", "1"}),
                              Options(120));
  low_thread.join();
  done.store(true);
  watcher.join();
  ASSERT_TRUE(high.ok()) << high.Describe() << "\n" << high.err;
  ASSERT_TRUE(low.ok()) << low.Describe() << "\n" << low.err;
  EXPECT_NE(high.out.find("\"ok\":true"), std::string::npos) << high.out;
  EXPECT_NE(low.out.find("\"ok\":true"), std::string::npos) << low.out;
  EXPECT_GE(max_preemptions.load(), 1u) << "the low queue was never suspended";
  std::printf("high p50 latency %.0f us, low p50 %.0f us, low suspended %llu times\n",
              LatencyP50Us(high), LatencyP50Us(low),
              static_cast<unsigned long long>(max_preemptions.load()));
}

// Kernel end times (device clock, shared by all processes) from `--samples` output.
std::vector<double> EndTimes(const RunResult& r) {
  tools::json::Value v;
  std::string err;
  std::vector<double> out;
  if (!tools::json::Parse(r.out, &v, &err)) return out;
  for (const auto& t : v.Get("samples").Get("end_ns").items()) out.push_back(t.AsNumber());
  return out;
}

// Two always-busy programs with weights 3 and 1 under the weighted policy share the GPU about
// 3:1 (Level-1 only on the simulated device; the share is measured in completed kernels).
TEST_F(SchedIntegrationTest, WeightedProgramsShareTheGpuByWeight) {
  RunResult policy = RunProcess({HSAPREEMPT_CLI, "policy", "weighted", "--board", board_.name()},
                                Options(30));
  ASSERT_TRUE(policy.ok()) << policy.Describe() << policy.err;
  const std::vector<std::string> stream{"spin", "--duration-us", "1000", "--seconds", "3",
                                        "--inflight", "2", "--samples"};
  RunResult heavy, light;
  auto with_weight = [&](const char* w) {
    std::vector<std::string> argv = Run(50, stream);
    argv.insert(argv.begin() + 2, {"--weight", w});
    return argv;
  };
  std::thread t([&] { heavy = RunProcess(with_weight("3"), Options(120)); });
  light = RunProcess(with_weight("1"), Options(120));
  t.join();
  ASSERT_TRUE(heavy.ok()) << heavy.Describe() << heavy.err;
  ASSERT_TRUE(light.ok()) << light.Describe() << light.err;
  // Count kernels that ended while both programs were running (their start-up times differ).
  const std::vector<double> he = EndTimes(heavy), le = EndTimes(light);
  ASSERT_FALSE(he.empty());
  ASSERT_FALSE(le.empty()) << "the light program must still progress";
  const double from = std::max(he.front(), le.front()), to = std::min(he.back(), le.back());
  ASSERT_GT(to - from, 0.5e9) << "the programs overlapped for less than 0.5 s";
  auto within = [&](const std::vector<double>& ends) {
    return static_cast<double>(
        std::count_if(ends.begin(), ends.end(), [&](double t) { return t >= from && t <= to; }));
  };
  const double h = within(he), l = within(le);
  ASSERT_GT(l, 0) << "the light program must still progress";
  const double share = h / (h + l);
  std::printf("weighted 3:1 over %.2f s of overlap: %.0f vs %.0f kernels, heavy share %.3f "
              "(ideal 0.750)\n", (to - from) / 1e9, h, l, share);
  // The policy divides GPU *time* 3:1 (its accounting is checked exactly by the unit tests, and
  // the board showed 2.85-2.95:1 service here). Kernels completed follow it while both programs
  // keep the GPU busy: 1 ms kernels keep it GPU-bound even on this loaded 2-core host (0.72-0.78
  // seen at load average ~14; with 0.5 ms kernels a starved submitter left its slices idle and
  // the work-conserving policy rightly gave them away: 0.54 seen). Without weights: 0.5.
  EXPECT_GT(share, 0.6);
  EXPECT_LT(share, 0.95);
}

TEST_F(SchedIntegrationTest, KilledHighPriorityProgramReleasesTheLowOneWithinASecond) {
  RunResult low, high;
  std::thread low_thread([&] {
    low = RunProcess(Run(10, {"spin", "--duration-us", "1000", "--seconds", "4", "--inflight",
                              "2"}),
                     Options(120));
  });
  auto board = WaitForBoard();
  ASSERT_NE(board, nullptr);
  QueueSeen low_q, high_q;
  ASSERT_TRUE(testing::WaitFor([&] { return FindQueue(board.get(), 10, &low_q); }, 20000));
  std::thread high_thread([&] {
    high = RunProcess(Run(90, {"spin", "--duration-us", "1000", "--seconds", "30", "--inflight",
                               "4"}),
                      Options(120));
  });
  // The high program is busy all the time: the low one is held.
  const bool held = testing::WaitFor(
      [&] { return FindQueue(board.get(), 90, &high_q) && FindQueue(board.get(), 10, &low_q) &&
                   low_q.suspended; },
      20000);
  if (!held) {
    if (high_q.pid > 0) kill(high_q.pid, SIGKILL);
    high_thread.join();
    low_thread.join();
    FAIL() << "the low queue was never held";
  }
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(high_q.pid, SIGKILL), 0);
  const bool released = testing::WaitFor(
      [&] { return FindQueue(board.get(), 10, &low_q) && !low_q.suspended; }, 5000);
  const auto waited = std::chrono::steady_clock::now() - t0;
  high_thread.join();
  low_thread.join();
  EXPECT_TRUE(released);
  std::printf("low queue released %lld ms after SIGKILL of the high program\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()));
  EXPECT_LT(waited, std::chrono::seconds(1))
      << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms";
  EXPECT_FALSE(high.exited) << "the high program was killed";
  EXPECT_TRUE(low.ok()) << low.Describe() << "\n" << low.err;
}

}  // namespace
}  // namespace hsapreempt::sched
