// The test-support HSA helpers against the real ROCr over the simulated device (a private device
// named by the test; CTest sets LD_LIBRARY_PATH to the simulated thunk). Checks the spin kernel's
// effects (exactly once, in order), barrier-AND across queues, profiling timestamps in the system
// timestamp's domain, and modelled durations.
#include "tests/support/hsa_helpers.h"
#include "tests/support/process.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "tools/support/sim_info.h"

namespace hsapreempt::testsupport {
namespace {

class HsaHelpersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    device_ = "support-test-" + std::to_string(getpid());
    setenv("HSAPREEMPT_SIM_DEVICE", device_.c_str(), 1);
    setenv("HSA_ENABLE_SDMA", "0", 1);
    ok_ = InitHsa(&sys_) == HSA_STATUS_SUCCESS;
    if (!ok_) {
      why_ = LastError();
      return;
    }
    simulated_ = !tools::SimDescribe().empty();
    ok_ = LoadSpinKernel(sys_, &kernel_) == HSA_STATUS_SUCCESS;
    if (!ok_) why_ = LastError();
  }
  static void TearDownTestSuite() {
    if (kernel_.object) UnloadKernel(&kernel_);
    if (sys_.gpu.handle) ShutdownHsa();
    RemoveSimDevice(device_);
  }
  void SetUp() override {
    if (!ok_) GTEST_SKIP() << "no HSA device: " << why_;
    ASSERT_EQ(hsa_queue_create(sys_.gpu, 256, HSA_QUEUE_TYPE_MULTI, nullptr, nullptr, UINT32_MAX,
                               UINT32_MAX, &q_),
              HSA_STATUS_SUCCESS);
    hsa_amd_profiling_set_profiler_enabled(q_, 1);
    ASSERT_TRUE(kernargs_.Init(sys_, 64, kernel_.kernarg_size));
    result_ = static_cast<uint64_t*>(AllocAccessible(sys_, sys_.fine_pool, 4096));
    ASSERT_NE(result_, nullptr);
    for (int i = 0; i < 512; ++i) result_[i] = 0;
  }
  void TearDown() override {
    if (q_) hsa_queue_destroy(q_);
    FreeMemory(result_);
  }
  hsa_signal_t NewSignal() {
    hsa_signal_t s{0};
    EXPECT_EQ(hsa_signal_create(1, 0, nullptr, &s), HSA_STATUS_SUCCESS);
    return s;
  }

  static inline HsaSystem sys_;
  static inline Kernel kernel_;
  static inline bool ok_ = false, simulated_ = false;
  static inline std::string why_, device_;
  hsa_queue_t* q_ = nullptr;
  KernargRing kernargs_;
  uint64_t* result_ = nullptr;
};

TEST_F(HsaHelpersTest, SpinKernelEffectsRunOnceInOrder) {
  auto* counter = reinterpret_cast<uint32_t*>(result_);
  auto* slots = reinterpret_cast<uint32_t*>(result_ + 8);
  uint64_t* done = result_ + 100;
  hsa_signal_t sig = NewSignal();
  const int kKernels = 20;
  for (int i = 0; i < kKernels; ++i) {
    void* args = kernargs_.Next();
    FillSpinArgs(args, kernel_.kernarg_size, 1000, i, done, 1000 + i, counter, &slots[i]);
    DispatchConfig d;
    d.workgroups = 4;
    d.barrier = true;
    d.completion = i + 1 == kKernels ? sig : hsa_signal_t{0};
    ASSERT_NE(SubmitDispatch(q_, kernel_, args, d), UINT64_MAX) << LastError();
  }
  ASSERT_TRUE(WaitSignalBelow(sig, 1, 30)) << LastError();
  EXPECT_EQ(__atomic_load_n(counter, __ATOMIC_ACQUIRE), static_cast<uint32_t>(kKernels));
  for (int i = 0; i < kKernels; ++i) EXPECT_EQ(slots[i], static_cast<uint32_t>(i)) << i;
  EXPECT_EQ(*done, 1000u + kKernels - 1);
  hsa_signal_destroy(sig);
}

TEST_F(HsaHelpersTest, ProfilingTimesMatchModelAndSystemClock) {
  const uint64_t kNs = 3000000;  // 3 ms, one round of workgroups
  hsa_signal_t sig = NewSignal();
  void* args = kernargs_.Next();
  FillSpinArgs(args, kernel_.kernarg_size, kNs, 0);
  DispatchConfig d;
  d.workgroups = sys_.gpu_compute_units;
  d.completion = sig;
  uint64_t before = SystemTimestampNs(sys_);
  ASSERT_NE(SubmitDispatch(q_, kernel_, args, d), UINT64_MAX);
  ASSERT_TRUE(WaitSignalBelow(sig, 1, 30)) << LastError();
  uint64_t after = SystemTimestampNs(sys_);
  uint64_t start = 0, end = 0;
  ASSERT_TRUE(DispatchTimeNs(sys_, sig, &start, &end)) << LastError();
  // Same clock: the kernel ran between our two readings of the system timestamp.
  EXPECT_GE(start, before);
  EXPECT_LE(end, after);
  if (simulated_) {
    EXPECT_NEAR(static_cast<double>(end - start), kNs, 0.01 * kNs);
  }
  EXPECT_GE(after - before, kNs * 99 / 100);  // it really took its time, seen from the host
  hsa_signal_destroy(sig);
}

// The device trace says when the simulated CP first saw each dispatch (DISPATCH_LAUNCH), and the
// collector pairs it with the dispatch's start: between our submission and the profiled start.
TEST_F(HsaHelpersTest, TraceTellsWhenTheCpSawEachDispatch) {
  if (!simulated_) GTEST_SKIP() << "the device trace is the simulated device's";
  tools::TraceCollector collector(static_cast<uint32_t>(getpid()), 0);
  collector.Poll();
  struct Sample {
    uint64_t submit = 0, start = 0;
  };
  std::vector<Sample> samples;
  for (int i = 0; i < 3; ++i) {
    hsa_signal_t sig = NewSignal();
    void* args = kernargs_.Next();
    FillSpinArgs(args, kernel_.kernarg_size, 200000, i);
    DispatchConfig d;
    d.completion = sig;
    Sample x;
    x.submit = SystemTimestampNs(sys_);
    ASSERT_NE(SubmitDispatch(q_, kernel_, args, d), UINT64_MAX);
    ASSERT_TRUE(WaitSignalBelow(sig, 1, 30)) << LastError();
    uint64_t end = 0;
    ASSERT_TRUE(DispatchTimeNs(sys_, sig, &x.start, &end)) << LastError();
    samples.push_back(x);
    hsa_signal_destroy(sig);
  }
  const tools::TraceSummary trace = collector.Finish();
  ASSERT_GE(trace.launches.size(), samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const uint64_t seen = tools::LaunchOfStart(trace.launches, samples[i].start);
    EXPECT_GE(seen, samples[i].submit) << "dispatch " << i;
    EXPECT_LE(seen, samples[i].start) << "dispatch " << i;
  }
  // Nothing started at a time no dispatch started at.
  EXPECT_EQ(tools::LaunchOfStart(trace.launches, samples[0].start + 100000), 0u);
}

TEST(LaunchOfStartTest, TakesTheNearestStartWithinTolerance) {
  const std::vector<std::pair<uint64_t, uint64_t>> launches = {
      {1000, 900}, {5000, 4000}, {5600, 5500}, {9000, 8000}};
  EXPECT_EQ(tools::LaunchOfStart(launches, 5000, 1000), 4000u);
  EXPECT_EQ(tools::LaunchOfStart(launches, 5400, 1000), 5500u);  // 5600 is nearer than 5000
  EXPECT_EQ(tools::LaunchOfStart(launches, 500, 1000), 900u);
  EXPECT_EQ(tools::LaunchOfStart(launches, 7000, 1000), 0u);     // none within 1 us
  EXPECT_EQ(tools::LaunchOfStart(launches, 10001, 1000), 0u);
  EXPECT_EQ(tools::LaunchOfStart({}, 5000), 0u);
}

TEST_F(HsaHelpersTest, BarrierAndWaitsForOtherQueue) {
  hsa_queue_t* other = nullptr;
  ASSERT_EQ(hsa_queue_create(sys_.gpu, 64, HSA_QUEUE_TYPE_MULTI, nullptr, nullptr, UINT32_MAX,
                             UINT32_MAX, &other),
            HSA_STATUS_SUCCESS);
  auto* counter = reinterpret_cast<uint32_t*>(result_);
  auto* slots = reinterpret_cast<uint32_t*>(result_ + 8);
  hsa_signal_t long_done = NewSignal(), barrier_done = NewSignal(), short_done = NewSignal();
  // Queue A: a 20 ms kernel on one workgroup. Queue B: barrier-AND on it, then a short kernel.
  void* a = kernargs_.Next();
  FillSpinArgs(a, kernel_.kernarg_size, 20000000, 1, nullptr, 0, counter, &slots[0]);
  DispatchConfig d;
  d.completion = long_done;
  ASSERT_NE(SubmitDispatch(q_, kernel_, a, d), UINT64_MAX);
  ASSERT_NE(SubmitBarrierAnd(other, {long_done}, barrier_done), UINT64_MAX) << LastError();
  void* b = kernargs_.Next();
  FillSpinArgs(b, kernel_.kernarg_size, 1000, 2, nullptr, 0, counter, &slots[1]);
  DispatchConfig d2;
  d2.completion = short_done;
  d2.barrier = true;
  ASSERT_NE(SubmitDispatch(other, kernel_, b, d2), UINT64_MAX);
  ASSERT_TRUE(WaitSignalBelow(short_done, 1, 30)) << LastError();
  EXPECT_EQ(hsa_signal_load_scacquire(long_done), 0);
  EXPECT_EQ(hsa_signal_load_scacquire(barrier_done), 0);
  EXPECT_EQ(slots[0], 0u);  // the long kernel finished first despite being 20000x longer
  EXPECT_EQ(slots[1], 1u);
  hsa_signal_destroy(long_done);
  hsa_signal_destroy(barrier_done);
  hsa_signal_destroy(short_done);
  hsa_queue_destroy(other);
}

TEST_F(HsaHelpersTest, FullRingTimesOutInsteadOfHanging) {
  // Fill a 64-slot queue behind a barrier-AND that never resolves, then one more must time out.
  hsa_queue_t* small = nullptr;
  ASSERT_EQ(hsa_queue_create(sys_.gpu, 64, HSA_QUEUE_TYPE_MULTI, nullptr, nullptr, UINT32_MAX,
                             UINT32_MAX, &small),
            HSA_STATUS_SUCCESS);
  hsa_signal_t never = NewSignal();
  for (uint32_t i = 0; i < small->size; ++i) {
    ASSERT_NE(SubmitBarrierAnd(small, {never}, hsa_signal_t{0}, true, 5), UINT64_MAX) << i;
  }
  EXPECT_EQ(SubmitBarrierAnd(small, {never}, hsa_signal_t{0}, true, 0.2), UINT64_MAX);
  EXPECT_NE(LastError().find("full"), std::string::npos);
  hsa_signal_store_screlease(never, 0);  // let the queue drain before destroying it
  hsa_signal_t drained = NewSignal();
  ASSERT_NE(SubmitBarrierAnd(small, {}, drained, true, 10), UINT64_MAX);
  EXPECT_TRUE(WaitSignalBelow(drained, 1, 30)) << LastError();
  hsa_signal_destroy(never);
  hsa_signal_destroy(drained);
  hsa_queue_destroy(small);
}

TEST_F(HsaHelpersTest, SpinCodeObjectHonoursKernelsDirOverride) {
  setenv("HSAPREEMPT_KERNELS_DIR", "/nonexistent-dir", 1);
  std::string fallback = SpinCodeObjectPath(sys_.gpu_name);  // the build tree still has it
  unsetenv("HSAPREEMPT_KERNELS_DIR");
  EXPECT_NE(fallback.find("spin_gfx90a.hsaco"), std::string::npos);
  EXPECT_EQ(SpinCodeObjectPath("gfx000"), "");
  EXPECT_GE(kernel_.kernarg_size, 64u);
}

}  // namespace
}  // namespace hsapreempt::testsupport
