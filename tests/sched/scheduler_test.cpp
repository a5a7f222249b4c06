// The scheduler thread over fake XQueues: in-process and across forked processes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <dirent.h>
#include <fstream>
#include <string>
#include <thread>

#include "common/clock.h"
#include "sched/board.h"
#include "sched/scheduler_internal.h"
#include "sched/testing/fake_xqueue.h"
#include "tests/sched/test_util.h"
#include "tests/support/fork_child.h"

namespace hsapreempt::sched {
namespace {

using testing::FakeXQueue;
using testing::ScopedBoardName;
using testing::WaitFor;

common::Config TestConfig(const std::string& board, bool cross_process = true) {
  common::Config c;
  c.board = board;
  c.cross_process = cross_process;
  c.l2_hysteresis_us = 0;
  return c;
}

QueueAttrs Prio(int p) {
  QueueAttrs a;
  a.priority = p;
  return a;
}

class SchedulerTest : public ::testing::TestWithParam<bool> {};

TEST_P(SchedulerTest, HighQueueWithWorkSuspendsLowOneUntilIdle) {
  ScopedBoardName n;
  auto s = NewScheduler();
  ASSERT_TRUE(s->Start(TestConfig(n.name(), GetParam()), 0).ok());
  EXPECT_EQ(s->board_shared(), GetParam());
  FakeXQueue high, low;
  s->AddQueue(&high, Prio(90));
  s->AddQueue(&low, Prio(10));
  s->OnBusy(&low);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(low.suspended());
  s->OnBusy(&high);
  EXPECT_TRUE(WaitFor([&] { return low.suspended(); }));
  EXPECT_FALSE(high.suspended());
  s->OnIdle(&high);
  EXPECT_TRUE(WaitFor([&] { return !low.suspended(); }));
  s->RemoveQueue(&high);
  s->RemoveQueue(&low);
  s->Stop();
}

TEST_P(SchedulerTest, LevelOneBoundOnlyOnQueuesSomethingCanPreempt) {
  ScopedBoardName n;
  auto s = NewScheduler();
  ASSERT_TRUE(s->Start(TestConfig(n.name(), GetParam()), 0).ok());
  FakeXQueue high, low;
  s->AddQueue(&low, Prio(10));
  EXPECT_TRUE(WaitFor([&] { return !low.throttled(); })) << "alone: nothing can preempt it";
  s->AddQueue(&high, Prio(90));  // idle, but it may become busy at any time
  EXPECT_TRUE(WaitFor([&] { return low.throttled(); }));
  EXPECT_TRUE(WaitFor([&] { return !high.throttled(); }));
  s->RemoveQueue(&high);
  EXPECT_TRUE(WaitFor([&] { return !low.throttled(); }));
  s->RemoveQueue(&low);
  s->Stop();
}

TEST(SchedulerThrottleTest, QueueOnAHardwareLeverIsNeverThrottled) {
  ScopedBoardName n;
  auto s = NewScheduler();
  ASSERT_TRUE(s->Start(TestConfig(n.name(), false), 0).ok());
  FakeXQueue high, low_l2(levels::LeverKind::kUpdateQueue), low_l1;
  s->AddQueue(&high, Prio(90));
  s->AddQueue(&low_l2, Prio(10));
  s->AddQueue(&low_l1, Prio(10));
  EXPECT_TRUE(WaitFor([&] { return !low_l2.throttled() && low_l1.throttled(); }))
      << "the lever preempts in-flight work; Level-1 needs the bound";
  s->RemoveQueue(&high);
  s->RemoveQueue(&low_l2);
  s->RemoveQueue(&low_l1);
  s->Stop();
}

TEST(SchedulerThrottleTest, AlwaysKeepsTheBoundAndStopLiftsIt) {
  ScopedBoardName n;
  auto s = NewScheduler();
  common::Config c = TestConfig(n.name(), false);
  c.throttle_always = true;
  ASSERT_TRUE(s->Start(c, 0).ok());
  FakeXQueue q;
  s->AddQueue(&q, Prio(50));
  s->OnBusy(&q);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_TRUE(q.throttled());
  s->Stop();
  EXPECT_FALSE(q.throttled()) << "nothing schedules it after Stop";
  s->RemoveQueue(&q);
}

TEST_P(SchedulerTest, QueueBlockedOnABarrierHoldsNobody) {
  ScopedBoardName n;
  auto s = NewScheduler();
  ASSERT_TRUE(s->Start(TestConfig(n.name(), GetParam()), 0).ok());
  FakeXQueue high, low;
  high.set_runnable(false);  // waiting on a signal the low queue will produce
  s->AddQueue(&high, Prio(90));
  s->AddQueue(&low, Prio(10));
  s->OnBusy(&low);
  s->OnBusy(&high);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(low.suspended()) << "a blocked queue must not keep its producer suspended";
  high.set_runnable(true);  // the dependency resolved
  EXPECT_TRUE(WaitFor([&] { return low.suspended(); }));
  s->Stop();
}

TEST_P(SchedulerTest, PriorityChangesApplyAndStopResumesEverything) {
  ScopedBoardName n;
  auto s = NewScheduler();
  ASSERT_TRUE(s->Start(TestConfig(n.name(), GetParam()), 0).ok());
  FakeXQueue a, b;
  s->AddQueue(&a, Prio(50));
  s->AddQueue(&b, Prio(40));
  s->OnBusy(&a);
  s->OnBusy(&b);
  EXPECT_TRUE(WaitFor([&] { return b.suspended() && !a.suspended(); }));
  EXPECT_TRUE(s->SetQueueAttrs(&b, Prio(60)).ok());
  EXPECT_TRUE(WaitFor([&] { return a.suspended() && !b.suspended(); }));
  EXPECT_FALSE(s->SetQueueAttrs(&b, Prio(100)).ok());
  FakeXQueue stranger;
  EXPECT_FALSE(s->SetQueueAttrs(&stranger, Prio(1)).ok());
  s->Stop();
  EXPECT_FALSE(a.suspended());
  EXPECT_FALSE(b.suspended());
  s->Stop();  // idempotent
}

// High waits on a barrier for a signal that Low's held packet produces, while Mid has work:
// strict priority alone would hold Low behind Mid, and with it High.
TEST_P(SchedulerTest, BlockedQueueReleasesTheProducerOfItsDependency) {
  ScopedBoardName n;
  auto s = NewScheduler();
  ASSERT_TRUE(s->Start(TestConfig(n.name(), GetParam()), 0).ok());
  FakeXQueue high, mid, low;
  s->AddQueue(&high, Prio(90));
  s->AddQueue(&mid, Prio(50));
  s->AddQueue(&low, Prio(10));
  s->OnBusy(&mid);
  s->OnBusy(&low);
  ASSERT_TRUE(WaitFor([&] { return low.suspended(); }));
  high.set_runnable(false);
  high.set_blocked_on(42);
  low.set_produces(42);
  s->OnBusy(&high);
  EXPECT_TRUE(WaitFor([&] { return !low.suspended(); })) << "the producer must inherit";
  EXPECT_FALSE(high.suspended());
  // Dependency met: High runs and holds both others.
  high.set_blocked_on(0);
  low.set_produces(0);
  high.set_runnable(true);
  EXPECT_TRUE(WaitFor([&] { return low.suspended() && mid.suspended(); }));
  s->Stop();
}

TEST_P(SchedulerTest, ConcurrentStopsJoinOnce) {
  ScopedBoardName n;
  auto s = NewScheduler();
  ASSERT_TRUE(s->Start(TestConfig(n.name(), GetParam()), 0).ok());
  FakeXQueue q;
  s->AddQueue(&q, Prio(10));
  std::thread t1([&] { s->Stop(); });
  std::thread t2([&] { s->Stop(); });
  t1.join();
  t2.join();
  EXPECT_FALSE(q.suspended());
}

INSTANTIATE_TEST_SUITE_P(InProcessAndBoard, SchedulerTest, ::testing::Bool());

// The nice value of this process's scheduler thread ("hsapreempt-sch"), or 100 if none runs.
int SchedulerThreadNice() {
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return 100;
  int nice = 100;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name != "hsapreempt-sch") continue;
    errno = 0;
    int v = getpriority(PRIO_PROCESS, static_cast<id_t>(std::stoi(e->d_name)));
    if (errno == 0) nice = v;
  }
  closedir(d);
  return nice;
}

// Whether a thread of this process may raise its priority to `nice` (tried on a scratch thread).
bool MayRaiseThreadPriority(int nice) {
  bool ok = false;
  std::thread([&] {
    ok = setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), nice) == 0;
  }).join();
  return ok;
}

TEST(SchedulerThreadTest, RaisesItsPriorityWherePermittedAndNeverLowersIt) {
  errno = 0;
  const int inherited = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
  ASSERT_EQ(errno, 0);
  for (int want : {-5, 0}) {
    ScopedBoardName n;
    auto s = NewScheduler();
    common::Config c = TestConfig(n.name(), false);
    c.sched_nice = want;
    ASSERT_TRUE(s->Start(c, 0).ok());
    int nice = 100;
    // The thread sets its priority first thing; give it the time to start.
    EXPECT_TRUE(WaitFor([&] { return (nice = SchedulerThreadNice()) != 100; }));
    const bool raised = want < inherited && MayRaiseThreadPriority(want);
    EXPECT_EQ(nice, raised ? want : inherited)
        << "HSAPREEMPT_SCHED_NICE=" << want << ", inherited " << inherited
        << (raised ? ", raising permitted" : ", raising not permitted or not asked");
    s->Stop();
  }
}

TEST(SchedulerHysteresisTest, HardwareLeverStaysEngagedForTheHysteresis) {
  ScopedBoardName n;
  auto s = NewScheduler();
  common::Config c = TestConfig(n.name(), false);
  c.l2_hysteresis_us = 100'000;
  ASSERT_TRUE(s->Start(c, 0).ok());
  FakeXQueue high, low(levels::LeverKind::kUpdateQueue);
  s->AddQueue(&high, Prio(90));
  s->AddQueue(&low, Prio(10));
  s->OnBusy(&low);
  s->OnBusy(&high);
  ASSERT_TRUE(WaitFor([&] { return low.suspended(); }));
  s->OnIdle(&high);
  ASSERT_TRUE(WaitFor([&] { return !low.suspended(); }));
  const uint64_t down_ns = low.last_resume_ns() - low.last_suspend_ns();
  EXPECT_GE(down_ns, 100'000'000u);
  EXPECT_LT(down_ns, 1'000'000'000u);
  s->Stop();
}

TEST(SchedulerBoardTest, SetThroughTheBoardIsAppliedByTheOwner) {
  ScopedBoardName n;
  auto s = NewScheduler();
  ASSERT_TRUE(s->Start(TestConfig(n.name()), 0).ok());
  FakeXQueue a, b;
  s->AddQueue(&a, Prio(50));
  s->AddQueue(&b, Prio(40));
  s->OnBusy(&a);
  s->OnBusy(&b);
  ASSERT_TRUE(WaitFor([&] { return b.suspended(); }));
  // What `hsapreempt set` does: write the entry, bump, wake.
  std::unique_ptr<Board> board;
  ASSERT_TRUE(Board::OpenShared(n.name(), false, &board).ok());
  for (uint32_t i = 0; i < kBoardMaxQueues; ++i) {
    if (Load(board->queue(i)->id) != 0 && Load(board->queue(i)->priority) == 40) {
      Store(board->queue(i)->priority, 70);
    }
  }
  board->BumpAndWake();
  EXPECT_TRUE(WaitFor([&] { return a.suspended() && !b.suspended(); }));
  s->Stop();
}

TEST(SchedulerBoardTest, WeightedSharesFollowWeights) {
  ScopedBoardName n;
  auto s = NewScheduler();
  common::Config c = TestConfig(n.name());
  c.policy = common::PolicyChoice::kWeighted;
  c.policy_set = true;
  ASSERT_TRUE(s->Start(c, 0).ok());
  FakeXQueue a, b;
  QueueAttrs wa, wb;
  wa.weight = 3;
  wb.weight = 1;
  s->AddQueue(&a, wa);
  s->AddQueue(&b, wb);
  s->OnBusy(&a);
  s->OnBusy(&b);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  std::unique_ptr<Board> board;
  ASSERT_TRUE(Board::OpenShared(n.name(), false, &board).ok());
  double sa = 0, sb = 0;
  for (uint32_t i = 0; i < kBoardMaxQueues; ++i) {
    const BoardQueue* q = board->queue(i);
    if (Load(q->id) == 0) continue;
    (Load(q->weight) == 3 ? sa : sb) = static_cast<double>(Load(q->service_ns));
  }
  ASSERT_GT(sa + sb, 0);
  EXPECT_NEAR(sa / (sa + sb), 0.75, 0.05) << "a " << sa << " b " << sb;
  EXPECT_GT(a.suspend_calls(), 5u);
  EXPECT_GT(b.suspend_calls(), 5u);
  s->Stop();
}

TEST(SchedulerPolicyTest, EdfRunsTheNearestDeadlineAndHoldsTheRest) {
  auto s = NewScheduler();
  common::Config c = TestConfig("unused", false);
  c.policy = common::PolicyChoice::kEdf;
  ASSERT_TRUE(s->Start(c, 0).ok());
  FakeXQueue loose, tight, none;
  QueueAttrs a, b, d;
  a.deadline_us = 50'000;
  b.deadline_us = 1'000;
  s->AddQueue(&loose, a);
  s->AddQueue(&tight, b);
  s->AddQueue(&none, d);
  s->OnBusy(&none);
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(none.suspended()) << "no deadline work: nobody is held";
  s->OnBusy(&loose);
  EXPECT_TRUE(WaitFor([&] { return none.suspended() && !loose.suspended(); }));
  s->OnBusy(&tight);  // its absolute deadline (now + 1 ms) is nearer than loose's
  EXPECT_TRUE(WaitFor([&] { return loose.suspended() && !tight.suspended(); }));
  s->OnIdle(&tight);
  EXPECT_TRUE(WaitFor([&] { return !loose.suspended() && none.suspended(); }));
  s->OnIdle(&loose);
  EXPECT_TRUE(WaitFor([&] { return !none.suspended(); }));
  s->Stop();
}

// Level-1 lets a suspended queue's forwarded packets finish: that GPU time is charged to it, so
// the weighted split is not skewed towards the queue that drains the longest.
TEST(SchedulerPolicyTest, WeightedChargesDrainingWorkToTheSuspendedQueue) {
  ScopedBoardName n;
  auto s = NewScheduler();
  common::Config c = TestConfig(n.name());
  c.policy = common::PolicyChoice::kWeighted;
  c.policy_set = true;
  ASSERT_TRUE(s->Start(c, 0).ok());
  FakeXQueue a, b;
  a.set_in_flight(4);  // never drains: charged whenever it has work
  s->AddQueue(&a, QueueAttrs());
  s->AddQueue(&b, QueueAttrs());
  s->OnBusy(&a);
  s->OnBusy(&b);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::unique_ptr<Board> board;
  ASSERT_TRUE(Board::OpenShared(n.name(), false, &board).ok());
  double sa = 0, sb = 0;
  for (uint32_t i = 0; i < kBoardMaxQueues; ++i) {
    const BoardQueue* q = board->queue(i);
    if (Load(q->id) == 0) continue;
    (Load(q->in_flight) == 4 ? sa : sb) = static_cast<double>(Load(q->service_ns));
  }
  const bool a_held = a.suspended();
  s->Stop();
  // a is charged all the time (running or draining), so b, which is charged only while it runs,
  // keeps the lower virtual time and soon runs alone. Without the drain charge they would split
  // the time evenly (about 0.25 s each).
  EXPECT_GT(sa, 0.4e9);
  EXPECT_GT(sb, 0.4e9);
  EXPECT_TRUE(a_held);
}

// A child process registers a high-priority queue with work; our low queue is suspended. When
// the child is killed (and left a zombie), the low queue resumes within a second.
TEST(SchedulerCrossProcessTest, KilledHighPriorityProcessReleasesOthersWithinASecond) {
  ScopedBoardName n;
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = testsupport::ForkWithWatchdog();
  if (child == 0) {
    auto cs = NewScheduler();
    if (!cs->Start(TestConfig(n.name()), 0).ok()) _exit(1);
    FakeXQueue high;
    cs->AddQueue(&high, Prio(90));
    cs->OnBusy(&high);
    char c = 1;
    if (write(ready[1], &c, 1) != 1) _exit(2);
    pause();
    _exit(0);
  }
  close(ready[1]);  // a child that dies before writing gives EOF, not a hang
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1) << testsupport::ChildOutcome(child);
  auto s = NewScheduler();
  ASSERT_TRUE(s->Start(TestConfig(n.name()), 0).ok());
  FakeXQueue low;
  s->AddQueue(&low, Prio(10));
  s->OnBusy(&low);
  ASSERT_TRUE(WaitFor([&] { return low.suspended(); })) << "the child's queue must count";
  const auto t0 = std::chrono::steady_clock::now();
  kill(child, SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return !low.suspended(); }, 3000));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(waited, std::chrono::seconds(1))
      << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms";
  waitpid(child, nullptr, 0);
  s->Stop();
  close(ready[0]);
}

// The process-wide scheduler in a forked child: the child forgets the parent's state, registers
// anew when it adds a queue, and then takes part in decisions on the shared board.
TEST(SchedulerCrossProcessTest, ForkedChildReRegistersLazily) {
  ScopedBoardName n;
  auto s = NewScheduler();
  ASSERT_TRUE(s->Start(TestConfig(n.name()), 0).ok());
  FakeXQueue low;
  s->AddQueue(&low, Prio(10));
  s->OnBusy(&low);
  // Fork once the scheduler thread is asleep. The product does not need this (glibc's malloc is
  // fork-safe and the scheduler takes no lock the child needs), but GCC 12's ASan allocator is
  // not: a child forked while that thread allocated blocked forever in its first malloc.
  for (uint64_t seen = ~0ull; seen != s->evaluations();) {
    seen = s->evaluations();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = testsupport::ForkWithWatchdog();
  if (child == 0) {
    s->AtForkChild();
    FakeXQueue high;
    s->AddQueue(&high, Prio(90));  // restarts with the same configuration
    s->OnBusy(&high);
    char c = 1;
    if (write(ready[1], &c, 1) != 1) _exit(2);
    usleep(300000);
    s->OnIdle(&high);
    usleep(300000);
    s->Stop();
    _exit(0);
  }
  close(ready[1]);  // a child that dies before writing gives EOF, not a hang
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1) << testsupport::ChildOutcome(child);
  EXPECT_TRUE(WaitFor([&] { return low.suspended(); }));
  EXPECT_TRUE(WaitFor([&] { return !low.suspended(); }));
  EXPECT_EQ(testsupport::ChildOutcome(child), "");
  s->Stop();
  close(ready[0]);
}

}  // namespace
}  // namespace hsapreempt::sched
