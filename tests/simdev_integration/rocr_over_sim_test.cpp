// Debian's real ROCr 5.2.3 running over the simulated thunk (LD_LIBRARY_PATH puts
// build/simdev/lib first; each test gets its own HSAPREEMPT_SIM_DEVICE, see CMakeLists.txt).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "tests/simdev_integration/hsa_env.h"

namespace {

using simtest::HsaEnv;

class RocrOverSimTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(env_.Init(), HSA_STATUS_SUCCESS); }
  void TearDown() override { env_.Shutdown(); }

  hsa_queue_t* CreateQueue(uint32_t size) {
    hsa_queue_t* q = nullptr;
    EXPECT_EQ(hsa_queue_create(env_.gpu, size, HSA_QUEUE_TYPE_MULTI, nullptr, nullptr, UINT32_MAX,
                               UINT32_MAX, &q),
              HSA_STATUS_SUCCESS);
    if (q != nullptr) hsa_amd_profiling_set_profiler_enabled(q, 1);
    return q;
  }

  hsa_signal_t Signal(int64_t value) {
    hsa_signal_t s{0};
    EXPECT_EQ(hsa_signal_create(value, 0, nullptr, &s), HSA_STATUS_SUCCESS);
    return s;
  }

  hsa_amd_profiling_dispatch_time_t Times(hsa_signal_t s) {
    hsa_amd_profiling_dispatch_time_t t{};
    EXPECT_EQ(hsa_amd_profiling_get_dispatch_time(env_.gpu, s, &t), HSA_STATUS_SUCCESS);
    return t;
  }

  HsaEnv env_;
};

TEST_F(RocrOverSimTest, InitFindsOneGpuAndOneCpuAgent) {
  EXPECT_EQ(env_.gpu_count, 1);
  EXPECT_EQ(env_.cpu_count, 1);
  char name[64] = {};
  ASSERT_EQ(hsa_agent_get_info(env_.gpu, HSA_AGENT_INFO_NAME, name), HSA_STATUS_SUCCESS);
  EXPECT_STREQ(name, "gfx90a");
  uint32_t cus = 0;
  ASSERT_EQ(hsa_agent_get_info(env_.gpu, (hsa_agent_info_t)HSA_AMD_AGENT_INFO_COMPUTE_UNIT_COUNT,
                               &cus),
            HSA_STATUS_SUCCESS);
  EXPECT_EQ(cus, 304u);  // MI300X preset
  uint32_t caches[4] = {};
  ASSERT_EQ(hsa_agent_get_info(env_.gpu, HSA_AGENT_INFO_CACHE_SIZE, caches), HSA_STATUS_SUCCESS);
  EXPECT_GT(caches[0], 0u);
  EXPECT_GT(caches[1], 0u);
}

// 10,000 dispatches through a 64-slot ring: the ring wraps ~156 times; every packet runs exactly
// once and in order (order tickets), and every completion signal decrement arrives.
TEST_F(RocrOverSimTest, TenThousandDispatchesWrapASixtyFourSlotRing) {
  constexpr int kN = 10000;
  hsa_queue_t* q = CreateQueue(64);
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(q->size, 64u);
  auto* args = static_cast<hsapreempt_kernel_args*>(env_.Alloc(64 * sizeof(hsapreempt_kernel_args)));
  auto* counter = static_cast<uint32_t*>(env_.Alloc(sizeof(uint32_t)));
  auto* tickets = static_cast<uint32_t*>(env_.Alloc(kN * sizeof(uint32_t)));
  ASSERT_TRUE(args && counter && tickets);
  for (int i = 0; i < kN; ++i) tickets[i] = UINT32_MAX;
  hsa_signal_t all = Signal(kN);
  for (int i = 0; i < kN; ++i) {
    // The kernarg slot of packet i is reused only after packet i-64 left the ring.
    uint64_t idx = hsa_queue_load_write_index_relaxed(q);
    while (idx - hsa_queue_load_read_index_scacquire(q) >= 64) {
    }
    simtest::SetArgs(&args[idx % 64], 100, nullptr, 0, counter, &tickets[i]);
    simtest::SubmitDispatch(q, env_.fake_kernel, &args[idx % 64], 1, all);
  }
  ASSERT_TRUE(simtest::WaitZero(all));
  EXPECT_EQ(hsa_signal_load_scacquire(all), 0);
  EXPECT_EQ(*counter, uint32_t(kN));
  int out_of_order = 0;
  for (int i = 0; i < kN; ++i) out_of_order += tickets[i] != uint32_t(i);
  EXPECT_EQ(out_of_order, 0);
  EXPECT_EQ(hsa_queue_load_read_index_scacquire(q), uint64_t(kN));
  hsa_signal_destroy(all);
  hsa_queue_destroy(q);
}

// Queue B waits on queue A's long kernel with a barrier-AND: B's kernel starts after A's ended.
TEST_F(RocrOverSimTest, BarrierAndOrdersAcrossQueues) {
  hsa_queue_t* a = CreateQueue(64);
  hsa_queue_t* b = CreateQueue(64);
  ASSERT_TRUE(a && b);
  auto* args = static_cast<hsapreempt_kernel_args*>(env_.Alloc(2 * sizeof(hsapreempt_kernel_args)));
  auto* counter = static_cast<uint32_t*>(env_.Alloc(sizeof(uint32_t)));
  auto* order = static_cast<uint32_t*>(env_.Alloc(2 * sizeof(uint32_t)));
  simtest::SetArgs(&args[0], 5'000'000, nullptr, 0, counter, &order[0]);  // A: 5 ms
  simtest::SetArgs(&args[1], 10'000, nullptr, 0, counter, &order[1]);     // B: 10 us
  hsa_signal_t done_a = Signal(1), barrier_b = Signal(1), done_b = Signal(1);
  // B's barrier goes in first, so only the dependency can hold B back.
  simtest::SubmitBarrier(b, false, &done_a, 1, barrier_b);
  simtest::SubmitDispatch(b, env_.fake_kernel, &args[1], 1, done_b, /*barrier=*/true);
  usleep(2000);
  EXPECT_EQ(hsa_signal_load_scacquire(done_b), 1) << "B ran before its dependency was met";
  simtest::SubmitDispatch(a, env_.fake_kernel, &args[0], 1, done_a);
  ASSERT_TRUE(simtest::WaitZero(done_b));
  ASSERT_TRUE(simtest::WaitZero(done_a));
  auto ta = Times(done_a), tb = Times(done_b);
  EXPECT_GE(ta.end - ta.start, 5'000'000u);
  EXPECT_GE(tb.start, ta.end);
  // Exact in the model (B's launch is stamped from A's end); the bound only allows for a CP
  // thread descheduled on a loaded machine.
  EXPECT_LT(tb.start - ta.end, 200'000'000u)
      << "B started long after its dependency: A " << ta.start << ".." << ta.end << " B "
      << tb.start << ".." << tb.end;
  EXPECT_EQ(order[0], 0u);
  EXPECT_EQ(order[1], 1u);
  for (hsa_signal_t s : {done_a, barrier_b, done_b}) hsa_signal_destroy(s);
  hsa_queue_destroy(a);
  hsa_queue_destroy(b);
}

// Barrier-OR completes as soon as one of its dependencies is met.
TEST_F(RocrOverSimTest, BarrierOrNeedsOnlyOneDependency) {
  hsa_queue_t* q = CreateQueue(64);
  ASSERT_NE(q, nullptr);
  hsa_signal_t deps[2] = {Signal(1), Signal(1)};
  hsa_signal_t done = Signal(1);
  simtest::SubmitBarrier(q, true, deps, 2, done);
  usleep(2000);
  EXPECT_EQ(hsa_signal_load_scacquire(done), 1);
  hsa_signal_store_screlease(deps[1], 0);
  EXPECT_TRUE(simtest::WaitZero(done, 5000));
  for (hsa_signal_t s : {deps[0], deps[1], done}) hsa_signal_destroy(s);
  hsa_queue_destroy(q);
}

// Profiling timestamps are on the clock of hsa_system_get_info(TIMESTAMP).
TEST_F(RocrOverSimTest, DispatchTimesShareTheSystemClock) {
  hsa_queue_t* q = CreateQueue(64);
  ASSERT_NE(q, nullptr);
  auto* args = static_cast<hsapreempt_kernel_args*>(env_.Alloc(sizeof(hsapreempt_kernel_args)));
  simtest::SetArgs(args, 1'000'000);
  hsa_signal_t done = Signal(1);
  uint64_t before = simtest::SystemTimestamp();
  simtest::SubmitDispatch(q, env_.fake_kernel, args, 1, done);
  ASSERT_TRUE(simtest::WaitZero(done));
  uint64_t after = simtest::SystemTimestamp();
  auto t = Times(done);
  EXPECT_GE(t.start, before);
  EXPECT_LE(t.end, after);
  EXPECT_GE(t.end - t.start, 1'000'000u);
  EXPECT_LT(t.end - t.start, 1'100'000u);
  hsa_signal_destroy(done);
  hsa_queue_destroy(q);
}

// Two threads, each with its own queue, submit and wait in turn: no kernel starts before its
// packet was submitted (host clock before writing the packet) and none ends after its waiter saw
// it complete. (A CP that stamped packets with a stale clock failed this.)
TEST_F(RocrOverSimTest, KernelsNeverStartBeforeSubmissionOrEndAfterCompletion) {
  std::atomic<int> violations{0}, completed{0};
  auto worker = [&] {
    hsa_queue_t* q = CreateQueue(64);
    if (q == nullptr) return;
    auto* args = static_cast<hsapreempt_kernel_args*>(env_.Alloc(sizeof(hsapreempt_kernel_args)));
    hsa_signal_t done = Signal(1);
    for (int i = 0; i < 15; ++i) {
      simtest::SetArgs(args, 1'000'000);
      uint64_t submit = simtest::SystemTimestamp();
      simtest::SubmitDispatch(q, env_.fake_kernel, args, 1, done);
      if (!simtest::WaitZero(done)) break;
      uint64_t seen = simtest::SystemTimestamp();
      auto t = Times(done);
      if (t.start < submit || t.end > seen) violations.fetch_add(1);
      completed.fetch_add(1);
      hsa_signal_store_screlease(done, 1);
    }
    hsa_signal_destroy(done);
    hsa_queue_destroy(q);
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  EXPECT_EQ(completed.load(), 30);
  EXPECT_EQ(violations.load(), 0);
}

TEST_F(RocrOverSimTest, MemoryCopyAsyncCopyAndFillMoveTheBytes) {
  constexpr size_t kBytes = (1 << 20) + 12;
  uint8_t *host_a = nullptr, *host_b = nullptr, *dev = nullptr;
  ASSERT_EQ(hsa_amd_memory_pool_allocate(env_.sys, kBytes, 0, (void**)&host_a), HSA_STATUS_SUCCESS);
  ASSERT_EQ(hsa_amd_memory_pool_allocate(env_.sys, kBytes, 0, (void**)&host_b), HSA_STATUS_SUCCESS);
  ASSERT_EQ(hsa_amd_memory_pool_allocate(env_.vram, kBytes, 0, (void**)&dev), HSA_STATUS_SUCCESS);
  hsa_agent_t both[2] = {env_.gpu, env_.cpu};
  ASSERT_EQ(hsa_amd_agents_allow_access(2, both, nullptr, host_a), HSA_STATUS_SUCCESS);
  ASSERT_EQ(hsa_amd_agents_allow_access(2, both, nullptr, host_b), HSA_STATUS_SUCCESS);
  ASSERT_EQ(hsa_amd_agents_allow_access(2, both, nullptr, dev), HSA_STATUS_SUCCESS);
  for (size_t i = 0; i < kBytes; ++i) host_a[i] = uint8_t(i * 7 + 3);

  // Aligned copy host -> device.
  ASSERT_EQ(hsa_memory_copy(dev, host_a, kBytes), HSA_STATUS_SUCCESS);
  EXPECT_EQ(memcmp(dev, host_a, kBytes), 0);

  // Misaligned async copy device -> host (src and dst differ mod 4).
  memset(host_b, 0, kBytes);
  hsa_signal_t done = Signal(1);
  ASSERT_EQ(hsa_amd_memory_async_copy(host_b + 3, env_.cpu, dev + 1, env_.gpu, kBytes - 8, 0,
                                      nullptr, done),
            HSA_STATUS_SUCCESS);
  ASSERT_TRUE(simtest::WaitZero(done));
  EXPECT_EQ(memcmp(host_b + 3, host_a + 1, kBytes - 8), 0);
  EXPECT_EQ(host_b[2], 0);
  EXPECT_EQ(host_b[kBytes - 5], 0);

  // Fill.
  ASSERT_EQ(hsa_amd_memory_fill(dev, 0xC0FFEE11u, 1024), HSA_STATUS_SUCCESS);
  const uint32_t* words = reinterpret_cast<const uint32_t*>(dev);
  int wrong = 0;
  for (int i = 0; i < 1024; ++i) wrong += words[i] != 0xC0FFEE11u;
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(dev[4096], host_a[4096]) << "fill wrote past its end";
  hsa_signal_destroy(done);
  hsa_amd_memory_pool_free(host_a);
  hsa_amd_memory_pool_free(host_b);
  hsa_amd_memory_pool_free(dev);
}

// The real spin kernel code object (kernels/spin.cl), loaded by ROCr's loader (which itself copies
// the code with blit kernels and flushes the icache with a PM4 vendor packet), runs for its
// modelled time and performs its effects.
TEST_F(RocrOverSimTest, LoadedSpinKernelTakesItsModelledTime) {
  const std::string path = HSAPREEMPT_SPIN_HSACO;
  if (access(path.c_str(), R_OK) != 0) GTEST_SKIP() << "spin code object not built: " << path;
  uint64_t kernel = 0;
  uint32_t kernarg_size = 0;
  ASSERT_EQ(env_.LoadKernel(path, HSAPREEMPT_SPIN_KERNEL_SYMBOL, &kernel, &kernarg_size),
            HSA_STATUS_SUCCESS);
  EXPECT_GE(kernarg_size, uint32_t(HSAPREEMPT_KERNEL_ARGS_SIZE));
  hsa_queue_t* q = CreateQueue(64);
  ASSERT_NE(q, nullptr);
  auto* args = static_cast<hsapreempt_kernel_args*>(env_.Alloc(kernarg_size));
  auto* done_word = static_cast<uint64_t*>(env_.Alloc(sizeof(uint64_t)));
  simtest::SetArgs(args, 3'000'000, done_word, 0xD0E);  // 3 ms per workgroup
  hsa_signal_t done = Signal(1);
  simtest::SubmitDispatch(q, kernel, args, 8, done);  // 8 workgroups fit at once: 3 ms
  ASSERT_TRUE(simtest::WaitZero(done));
  auto t = Times(done);
  EXPECT_GE(t.end - t.start, 3'000'000u);
  EXPECT_LT(t.end - t.start, 3'300'000u);
  EXPECT_EQ(*done_word, 0xD0Eu);
  hsa_signal_destroy(done);
  hsa_queue_destroy(q);
}

struct ErrorSeen {
  int calls = 0;
  hsa_status_t status = HSA_STATUS_SUCCESS;
};

void OnQueueError(hsa_status_t status, hsa_queue_t*, void* data) {
  auto* seen = static_cast<ErrorSeen*>(data);
  __atomic_store_n(&seen->status, status, __ATOMIC_RELAXED);
  __atomic_add_fetch(&seen->calls, 1, __ATOMIC_RELEASE);
}

// A malformed packet stops its queue and reaches the application's queue error callback through
// ROCr's own error path; the process and other queues carry on.
TEST_F(RocrOverSimTest, NullKernelObjectReportsQueueErrorAndOtherQueuesRun) {
  ErrorSeen seen;
  hsa_queue_t* bad = nullptr;
  ASSERT_EQ(hsa_queue_create(env_.gpu, 64, HSA_QUEUE_TYPE_MULTI, OnQueueError, &seen, UINT32_MAX,
                             UINT32_MAX, &bad),
            HSA_STATUS_SUCCESS);
  hsa_queue_t* good = CreateQueue(64);
  ASSERT_NE(good, nullptr);
  hsa_signal_t never = Signal(1);
  simtest::SubmitDispatch(bad, 0, nullptr, 1, never);
  for (int i = 0; i < 500 && __atomic_load_n(&seen.calls, __ATOMIC_ACQUIRE) == 0; ++i) usleep(10000);
  EXPECT_EQ(__atomic_load_n(&seen.calls, __ATOMIC_ACQUIRE), 1);
  EXPECT_EQ(seen.status, HSA_STATUS_ERROR_INVALID_CODE_OBJECT);
  EXPECT_EQ(hsa_signal_load_scacquire(never), 1);

  auto* args = static_cast<hsapreempt_kernel_args*>(env_.Alloc(sizeof(hsapreempt_kernel_args)));
  simtest::SetArgs(args, 1000);
  hsa_signal_t done = Signal(1);
  simtest::SubmitDispatch(good, env_.fake_kernel, args, 1, done);
  EXPECT_TRUE(simtest::WaitZero(done));
  hsa_signal_destroy(done);
  hsa_signal_destroy(never);
  hsa_queue_destroy(good);
  hsa_queue_destroy(bad);
}

}  // namespace
