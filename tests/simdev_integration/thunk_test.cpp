// The simulated thunk called directly (no ROCr): events, topology details HIP relies on, queue ids,
// fork (a child gets its own CP thread and queues) and the CP thread's placement.
#include <gtest/gtest.h>
#include <hsa/amd_hsa_signal.h>
#include <hsa/hsa.h>
#include <hsakmt.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "common/cpu_list.h"
#include "simdev/queue_registry.h"
#include "tests/support/fork_child.h"

namespace {

class ThunkTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(hsaKmtOpenKFD(), HSAKMT_STATUS_SUCCESS); }
  void TearDown() override { hsaKmtCloseKFD(); }
};

HsaEvent* NewEvent(bool manual) {
  HsaEventDescriptor d{};
  d.EventType = HSA_EVENTTYPE_SIGNAL;
  d.NodeId = 1;
  HsaEvent* e = nullptr;
  EXPECT_EQ(hsaKmtCreateEvent(&d, manual, false, &e), HSAKMT_STATUS_SUCCESS);
  return e;
}

TEST_F(ThunkTest, WaitTimesOutThenAutoResets) {
  HsaEvent* e = NewEvent(false);
  ASSERT_NE(e, nullptr);
  // HsaEvent is a packed struct: copy the field out before gtest binds a reference to it.
  const uint64_t mailbox = e->EventData.HWData2;
  EXPECT_NE(mailbox, 0u) << "no mailbox";
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(hsaKmtWaitOnEvent(e, 20), HSAKMT_STATUS_WAIT_TIMEOUT);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(20));
  EXPECT_EQ(hsaKmtSetEvent(e), HSAKMT_STATUS_SUCCESS);
  EXPECT_EQ(hsaKmtWaitOnEvent(e, 1000), HSAKMT_STATUS_SUCCESS);
  EXPECT_EQ(hsaKmtWaitOnEvent(e, 10), HSAKMT_STATUS_WAIT_TIMEOUT) << "auto-reset event stayed set";
  EXPECT_EQ(hsaKmtDestroyEvent(e), HSAKMT_STATUS_SUCCESS);
}

TEST_F(ThunkTest, ManualResetStaysSignalledAndWakesAWaiter) {
  HsaEvent* e = NewEvent(true);
  HsaEvent* other = NewEvent(false);
  std::thread setter([e] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    hsaKmtSetEvent(e);
  });
  HsaEvent* both[2] = {other, e};
  EXPECT_EQ(hsaKmtWaitOnMultipleEvents(both, 2, false, 5000), HSAKMT_STATUS_SUCCESS);
  setter.join();
  EXPECT_EQ(hsaKmtWaitOnEvent(e, 0), HSAKMT_STATUS_SUCCESS);
  EXPECT_EQ(hsaKmtWaitOnMultipleEvents(both, 2, true, 10), HSAKMT_STATUS_WAIT_TIMEOUT);
  hsaKmtDestroyEvent(e);
  hsaKmtDestroyEvent(other);
}

// KFD semantics ROCr depends on: setting an auto-reset event wakes every thread waiting on it
// (here: two), and then does not stay signalled; a set with nobody waiting is kept for the next
// wait. (A "first waiter consumes it" event hangs ROCr's hsa_queue_destroy.)
TEST_F(ThunkTest, SetWakesEveryWaiterOfAnAutoResetEvent) {
  HsaEvent* e = NewEvent(false);
  std::atomic<int> woken{0};
  auto wait = [&] {
    if (hsaKmtWaitOnEvent(e, 5000) == HSAKMT_STATUS_SUCCESS) woken.fetch_add(1);
  };
  std::thread a(wait), b(wait);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // both are waiting
  EXPECT_EQ(hsaKmtSetEvent(e), HSAKMT_STATUS_SUCCESS);
  a.join();
  b.join();
  EXPECT_EQ(woken.load(), 2);
  EXPECT_EQ(hsaKmtWaitOnEvent(e, 10), HSAKMT_STATUS_WAIT_TIMEOUT) << "stayed signalled";
  EXPECT_EQ(hsaKmtSetEvent(e), HSAKMT_STATUS_SUCCESS);  // nobody waiting: kept
  EXPECT_EQ(hsaKmtWaitOnEvent(e, 10), HSAKMT_STATUS_SUCCESS);
  hsaKmtDestroyEvent(e);
}

TEST_F(ThunkTest, ReportsGpuAndCpuDataCachesAndTileConfig) {
  for (uint32_t node : {0u, 1u}) {
    HsaNodeProperties p{};
    ASSERT_EQ(hsaKmtGetNodeProperties(node, &p), HSAKMT_STATUS_SUCCESS);
    ASSERT_GT(p.NumCaches, 0u);
    HsaCacheProperties c[8] = {};
    ASSERT_EQ(hsaKmtGetNodeCacheProperties(node, node ? p.FComputeIdLo : p.CComputeIdLo,
                                           p.NumCaches, c),
              HSAKMT_STATUS_SUCCESS);
    EXPECT_EQ(c[0].CacheType.ui32.Data, 1u);
    EXPECT_EQ(node == 1 ? c[0].CacheType.ui32.HSACU : c[0].CacheType.ui32.CPU, 1u);
    EXPECT_GT(c[0].CacheSize, 0u);
  }
  HsaGpuTileConfig tile{};
  EXPECT_EQ(hsaKmtGetTileConfig(1, &tile), HSAKMT_STATUS_SUCCESS);
  HsaClockCounters clk{};
  ASSERT_EQ(hsaKmtGetClockCounters(1, &clk), HSAKMT_STATUS_SUCCESS);
  EXPECT_EQ(clk.SystemClockFrequencyHz, 1000000000u);
  EXPECT_EQ(clk.GPUClockCounter, clk.SystemClockCounter);
}

// A minimal hand-made AQL queue: ring, read/write indices, and a barrier-AND packet with no
// dependencies whose completion signal the CP must decrement.
struct MiniQueue {
  void* ring = nullptr;
  alignas(64) volatile uint64_t read = 0;
  alignas(64) volatile uint64_t write = 0;
  HsaQueueResource rsrc{};
  amd_signal_t* signal = nullptr;

  HSAKMT_STATUS Create() {
    HsaMemFlags f{};
    f.ui32.HostAccess = 1;
    HSAKMT_STATUS s = hsaKmtAllocMemory(0, 4096, f, &ring);
    if (s != HSAKMT_STATUS_SUCCESS) return s;
    s = hsaKmtAllocMemory(0, 4096, f, reinterpret_cast<void**>(&signal));
    if (s != HSAKMT_STATUS_SUCCESS) return s;
    for (int i = 0; i < 64; ++i) {
      static_cast<uint16_t*>(ring)[i * 32] = HSA_PACKET_TYPE_INVALID;
    }
    rsrc.Queue_read_ptr_aql = const_cast<uint64_t*>(&read);
    rsrc.Queue_write_ptr_aql = const_cast<uint64_t*>(&write);
    return hsaKmtCreateQueue(1, HSA_QUEUE_COMPUTE_AQL, 100, HSA_QUEUE_PRIORITY_NORMAL, ring, 4096,
                             nullptr, &rsrc);
  }

  // Submits one empty barrier and waits for its completion signal; true if it completed.
  bool RoundTrip() {
    signal->kind = AMD_SIGNAL_KIND_USER;
    signal->value = 1;
    uint64_t idx = write;
    auto* p = static_cast<hsa_barrier_and_packet_t*>(ring) + (idx % 64);
    memset(reinterpret_cast<uint8_t*>(p) + 2, 0, sizeof(*p) - 2);
    p->completion_signal.handle = reinterpret_cast<uint64_t>(signal);
    __atomic_store_n(&p->header, uint16_t(HSA_PACKET_TYPE_BARRIER_AND), __ATOMIC_RELEASE);
    __atomic_store_n(&write, idx + 1, __ATOMIC_RELEASE);
    *rsrc.Queue_DoorBell_aql = idx;
    for (int i = 0; i < 2000; ++i) {
      if (__atomic_load_n(&signal->value, __ATOMIC_ACQUIRE) == 0) {
        return __atomic_load_n(&read, __ATOMIC_ACQUIRE) == idx + 1;
      }
      usleep(1000);
    }
    return false;
  }
};

TEST_F(ThunkTest, QueueIdsAreSmallAndReused) {
  MiniQueue a, b;
  ASSERT_EQ(a.Create(), HSAKMT_STATUS_SUCCESS);
  ASSERT_EQ(b.Create(), HSAKMT_STATUS_SUCCESS);
  EXPECT_EQ(a.rsrc.QueueId, 0u);
  EXPECT_EQ(b.rsrc.QueueId, 1u);
  EXPECT_GE(simdev::LookupQueueSlot(0), 0);
  uint64_t base = 0, bytes = 0;
  ASSERT_TRUE(simdev::LookupQueueRing(1, &base, &bytes));
  EXPECT_EQ(base, reinterpret_cast<uint64_t>(b.ring));
  EXPECT_EQ(bytes, 4096u);
  EXPECT_TRUE(a.RoundTrip());
  ASSERT_EQ(hsaKmtDestroyQueue(a.rsrc.QueueId), HSAKMT_STATUS_SUCCESS);
  EXPECT_EQ(simdev::LookupQueueSlot(0), -1);
  MiniQueue c;
  ASSERT_EQ(c.Create(), HSAKMT_STATUS_SUCCESS);
  EXPECT_EQ(c.rsrc.QueueId, 0u) << "lowest free id first, like KFD";
  EXPECT_TRUE(c.RoundTrip());
  hsaKmtDestroyQueue(b.rsrc.QueueId);
  hsaKmtDestroyQueue(c.rsrc.QueueId);
}

TEST_F(ThunkTest, InactiveQueueIsNotServedUntilReactivated) {
  MiniQueue q;
  ASSERT_EQ(q.Create(), HSAKMT_STATUS_SUCCESS);
  ASSERT_EQ(hsaKmtUpdateQueue(q.rsrc.QueueId, 0, HSA_QUEUE_PRIORITY_NORMAL, q.ring, 4096, nullptr),
            HSAKMT_STATUS_SUCCESS);
  std::thread resume([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    hsaKmtUpdateQueue(q.rsrc.QueueId, 100, HSA_QUEUE_PRIORITY_NORMAL, q.ring, 4096, nullptr);
  });
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(q.RoundTrip());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(45));
  resume.join();
  hsaKmtDestroyQueue(q.rsrc.QueueId);
}

TEST_F(ThunkTest, ForkedChildGetsItsOwnCommandProcessor) {
  MiniQueue parent;
  ASSERT_EQ(parent.Create(), HSAKMT_STATUS_SUCCESS);
  ASSERT_TRUE(parent.RoundTrip());
  pid_t pid = hsapreempt::testsupport::ForkWithWatchdog();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child has no queues and no CP thread; it opens KFD and creates its own queue.
    int rc = 0;
    if (simdev::LookupQueueSlot(parent.rsrc.QueueId) != -1) rc |= 1;
    if (hsaKmtOpenKFD() != HSAKMT_STATUS_SUCCESS) rc |= 2;
    MiniQueue child;
    if (child.Create() != HSAKMT_STATUS_SUCCESS) rc |= 4;
    if (rc == 0 && child.rsrc.QueueId != 0) rc |= 8;
    if (rc == 0 && !child.RoundTrip()) rc |= 16;
    _exit(rc);
  }
  ASSERT_EQ(hsapreempt::testsupport::ChildOutcome(pid), "");
  EXPECT_TRUE(parent.RoundTrip()) << "parent's CP stopped after fork";
  hsaKmtDestroyQueue(parent.rsrc.QueueId);
}

// The thread id of this process's CP thread ("hsapreempt-cp"), or 0 if there is none.
pid_t CpThreadId() {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name == "hsapreempt-cp") return std::atoi(task.path().filename().c_str());
  }
  return 0;
}

// The CPUs the CP thread of this process may run on, "" if there is none.
std::string CpThreadCpus() {
  const pid_t tid = CpThreadId();
  if (tid == 0) return "";
  cpu_set_t set;
  if (sched_getaffinity(tid, sizeof(set), &set) != 0) return "sched_getaffinity failed";
  return hsapreempt::common::FormatCpuList(set);
}

// How often the CP thread went to sleep (voluntary context switches) so far, or -1.
long CpThreadSleeps() {
  const pid_t tid = CpThreadId();
  std::ifstream status("/proc/self/task/" + std::to_string(tid) + "/status");
  for (std::string line; tid != 0 && std::getline(status, line);) {
    if (line.rfind("voluntary_ctxt_switches:", 0) == 0) return std::atol(line.c_str() + 24);
  }
  return -1;
}

// In a forked child (the CP thread and its placement are per process): this thread on `app_cpu`,
// HSAPREEMPT_SIM_CP_CPUS=`setting`, one queue round trip; returns the CP thread's CPUs, or
// "error: ..." when the queue did not work.
std::string CpCpusInChild(int app_cpu, const std::string& setting) {
  cpu_set_t app;
  CPU_ZERO(&app);
  CPU_SET(app_cpu, &app);
  if (sched_setaffinity(0, sizeof(app), &app) != 0) return "error: cannot place the test thread";
  setenv("HSAPREEMPT_SIM_CP_CPUS", setting.c_str(), 1);
  if (hsaKmtOpenKFD() != HSAKMT_STATUS_SUCCESS) return "error: open";
  MiniQueue q;
  if (q.Create() != HSAKMT_STATUS_SUCCESS) return "error: create";
  if (!q.RoundTrip()) return "error: the queue did not complete a packet";
  return CpThreadCpus();
}

// Two CPUs this process may use, or false.
bool TwoCpus(int* a, int* b) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || CPU_COUNT(&allowed) < 2) return false;
  int found = 0;
  for (int c = 0; c < CPU_SETSIZE && found < 2; ++c) {
    if (CPU_ISSET(c, &allowed)) *(found++ == 0 ? a : b) = c;
  }
  return true;
}

// Runs `in_child` in a forked child (the CP thread and its settings are per process) and returns
// what it found (through a pipe).
std::string FromChild(const std::function<std::string()>& in_child) {
  int fds[2];
  if (pipe(fds) != 0) return "error: pipe";
  pid_t pid = hsapreempt::testsupport::ForkWithWatchdog();
  if (pid == 0) {
    close(fds[0]);
    std::string found = in_child();
    ssize_t w = write(fds[1], found.data(), found.size());
    _exit(w == static_cast<ssize_t>(found.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string found;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) found.append(buf, n);
  close(fds[0]);
  std::string outcome = hsapreempt::testsupport::ChildOutcome(pid);
  return outcome.empty() ? found : "error: child " + outcome;
}

std::string CpCpusFromChild(int app_cpu, const std::string& setting) {
  return FromChild([&] { return CpCpusInChild(app_cpu, setting); });
}

// In a child with HSAPREEMPT_SIM_CP_SPIN=`setting` (nullptr: unset): after one queue round trip,
// how many times the CP thread slept over 200 ms with nothing to do, or "error: ...".
std::string CpSleepsWhileIdleFromChild(const char* setting) {
  return FromChild([setting]() -> std::string {
    if (setting != nullptr) setenv("HSAPREEMPT_SIM_CP_SPIN", setting, 1);
    if (hsaKmtOpenKFD() != HSAKMT_STATUS_SUCCESS) return "error: open";
    MiniQueue q;
    if (q.Create() != HSAKMT_STATUS_SUCCESS) return "error: create";
    if (!q.RoundTrip()) return "error: the queue did not complete a packet";
    const long before = CpThreadSleeps();
    usleep(200000);
    const long after = CpThreadSleeps();
    if (before < 0 || after < 0) return "error: no CP thread status";
    return std::to_string(after - before);
  });
}

// Spinning, the CP never sleeps (it only yields); polling, an idle CP sleeps between polls
// (20 us, then 100 us, then 1 ms: hundreds of times in 200 ms).
TEST(CpSpin, SpinningCpNeverSleepsAndAPollingOneDoes) {
  const std::string spinning = CpSleepsWhileIdleFromChild("1");
  ASSERT_EQ(spinning.rfind("error", 0), std::string::npos) << spinning;
  EXPECT_LE(std::atol(spinning.c_str()), 5) << "sleeps of a spinning CP in 200 ms";
  for (const char* setting : {static_cast<const char*>(nullptr), "0", "yes"}) {
    const std::string polling = CpSleepsWhileIdleFromChild(setting);
    ASSERT_EQ(polling.rfind("error", 0), std::string::npos) << polling;
    EXPECT_GE(std::atol(polling.c_str()), 50)
        << "sleeps of a polling CP in 200 ms, HSAPREEMPT_SIM_CP_SPIN=" << (setting ? setting : "");
  }
}

TEST(CpPlacement, CpThreadRunsOnTheListedCpusOnly) {
  int app_cpu, cp_cpu;
  if (!TwoCpus(&app_cpu, &cp_cpu)) GTEST_SKIP() << "needs two CPUs";
  // The CP thread is created by the application's thread (on app_cpu) and must move to cp_cpu.
  EXPECT_EQ(CpCpusFromChild(app_cpu, std::to_string(cp_cpu)), std::to_string(cp_cpu));
}

TEST(CpPlacement, BadListLeavesTheCpThreadWhereItWasAndTheQueueWorking) {
  int app_cpu, other;
  if (!TwoCpus(&app_cpu, &other)) GTEST_SKIP() << "needs two CPUs";
  // Inherited from its creator: the application thread's CPU.
  for (const char* bad : {"x", "1-0", "0,,1", "99999"}) {
    EXPECT_EQ(CpCpusFromChild(app_cpu, bad), std::to_string(app_cpu)) << bad;
  }
}

}  // namespace
