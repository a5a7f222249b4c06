// The CP's packet engine (simdev/cp_queue.h) against a scripted fake device: exact launch times,
// barrier bit, in-order retirement, out-of-order signalling, inactive queues, a full device, blit
// recognition. Deterministic: the fake decides when and how dispatches end.
#include <gtest/gtest.h>
#include <hsa/amd_hsa_kernel_code.h>
#include <hsa/amd_hsa_signal.h>
#include <hsa/hsa.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <vector>

#include "hsapreempt/sim_kernel_abi.h"
#include "simdev/cp_queue.h"

namespace simdev {
namespace {

class FakeDevice : public Device {
 public:
  struct Launched {
    int slot;
    KernelWork work;
    uint64_t not_before;
  };
  FakeDevice() { params_.cp_dispatch_ns = 2000; }
  const Params& params() const override { return params_; }
  int AddQueue(uint32_t, uint32_t, uint64_t, uint64_t, uint32_t, uint64_t) override { return 0; }
  void RemoveQueue(int, uint64_t) override {}
  bool QueueRunnable(int) const override { return runnable; }
  uint64_t Launch(int slot, const KernelWork& w, uint64_t not_before) override {
    if (full) return 0;
    launched.push_back({slot, w, not_before});
    return launched.size();  // handle = 1-based launch number
  }
  bool Poll(uint64_t handle, uint64_t, DispatchTimes* t) override {
    auto it = ended.find(handle);
    if (it == ended.end()) return false;
    *t = it->second;
    ended.erase(it);
    return true;
  }
  uint64_t NextEventTime(uint64_t) override { return UINT64_MAX; }
  uint64_t Generation() const override { return 0; }
  void WaitForChange(uint64_t, uint64_t) override {}
  void Notify() override {}
  int SetQueueActive(int, bool, uint64_t) override { return 0; }
  int SetQueueSuspended(int, bool, uint64_t) override { return 0; }
  int SetCuMask(int, const uint32_t*, uint32_t, uint64_t) override { return 0; }
  int SetQueuePriority(int, uint32_t, uint64_t) override { return 0; }
  void TraceEvent(uint32_t kind, int, uint64_t, uint64_t value, uint64_t) override {
    traced.push_back({kind, value});
  }
  int SetQueuesSuspended(const int*, int, bool, uint64_t, uint64_t) override { return 0; }
  bool GetQueueInfo(int, DeviceQueueInfo*) override { return false; }
  int FindQueue(uint32_t, uint32_t) override { return -1; }
  void ClearQueueExceptions(int, uint64_t) override {}
  int ReapDeadProcesses(uint64_t) override { return 0; }
  size_t TraceRead(uint64_t*, hsapreempt_sim_event*, size_t) override { return 0; }
  int QueueCount() override { return 1; }

  Params params_;
  bool runnable = true;
  bool full = false;
  std::vector<Launched> launched;
  std::map<uint64_t, DispatchTimes> ended;  // handles the fake reports as ended
  std::vector<std::pair<uint32_t, uint64_t>> traced;
};

// One queue's memory: ring, indices, signals, a convention kernel.
class CpEngineTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kSlots = 8;

  void SetUp() override {
    ring_.resize(kSlots * 64 + 64);
    uint8_t* base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(ring_.data()) + 63) & ~63ull);
    for (uint32_t i = 0; i < kSlots; ++i) base[i * 64] = HSA_PACKET_TYPE_INVALID;
    q_.cfg.kfd_queue_id = 3;
    q_.cfg.slot = 0;
    q_.cfg.ring = base;
    q_.cfg.ring_packets = kSlots;
    q_.cfg.read_ptr = &read_;
    q_.cfg.write_ptr = &write_;
    memset(kd_, 0, sizeof(kd_));
    uint32_t kernarg_size = 64;
    memcpy(kd_ + 8, &kernarg_size, 4);
    for (auto& s : signals_) {
      memset(&s, 0, sizeof(s));
      s.kind = AMD_SIGNAL_KIND_USER;
      s.value = 1;
    }
  }

  // Writes a convention dispatch (or a barrier-AND) at the next index.
  uint64_t Dispatch(uint64_t workgroup_ns, bool barrier, amd_signal_t* signal, uint32_t* counter) {
    uint64_t idx = write_;
    auto* p = reinterpret_cast<hsa_kernel_dispatch_packet_t*>(q_.cfg.ring + (idx % kSlots) * 64);
    memset(reinterpret_cast<uint8_t*>(p) + 2, 0, 62);
    hsapreempt_kernel_args& a = args_[idx % kSlots];
    memset(&a, 0, sizeof(a));
    a.magic = HSAPREEMPT_KERNEL_MAGIC;
    a.workgroup_ns = workgroup_ns;
    a.order_counter = counter;
    p->setup = 1;
    p->workgroup_size_x = 64;
    p->workgroup_size_y = p->workgroup_size_z = 1;
    p->grid_size_x = 64 * 3;
    p->grid_size_y = p->grid_size_z = 1;
    p->kernel_object = reinterpret_cast<uint64_t>(kd_);
    p->kernarg_address = &a;
    p->completion_signal.handle = reinterpret_cast<uint64_t>(signal);
    Publish(idx, HSA_PACKET_TYPE_KERNEL_DISPATCH, barrier);
    return idx;
  }

  uint64_t BarrierAnd(amd_signal_t* dep, amd_signal_t* signal) {
    uint64_t idx = write_;
    auto* p = reinterpret_cast<hsa_barrier_and_packet_t*>(q_.cfg.ring + (idx % kSlots) * 64);
    memset(reinterpret_cast<uint8_t*>(p) + 2, 0, 62);
    p->dep_signal[0].handle = reinterpret_cast<uint64_t>(dep);
    p->completion_signal.handle = reinterpret_cast<uint64_t>(signal);
    Publish(idx, HSA_PACKET_TYPE_BARRIER_AND, false);
    return idx;
  }

  void Publish(uint64_t idx, hsa_packet_type_t type, bool barrier) {
    uint16_t h = static_cast<uint16_t>((type << HSA_PACKET_HEADER_TYPE) |
                                       ((barrier ? 1 : 0) << HSA_PACKET_HEADER_BARRIER));
    __atomic_store_n(reinterpret_cast<uint16_t*>(q_.cfg.ring + (idx % kSlots) * 64), h,
                     __ATOMIC_RELEASE);
    write_ = idx + 1;
  }

  bool Step() {
    uint64_t next = UINT64_MAX;
    return ProcessQueue(q_, dev_, log_, NowNs(), &next);
  }

  FakeDevice dev_;
  CompletionLog log_;
  CpQueue q_;
  std::vector<uint8_t> ring_;
  volatile uint64_t read_ = 0, write_ = 0;
  alignas(64) uint8_t kd_[64];
  hsapreempt_kernel_args args_[kSlots];
  amd_signal_t signals_[4];
};

TEST_F(CpEngineTest, DispatchLaunchesAtArrivalPlusCpCostWithItsWorkgroups) {
  uint32_t counter = 0;
  uint64_t before = NowNs();
  Dispatch(5000, false, &signals_[0], &counter);
  EXPECT_TRUE(Step());
  uint64_t after = NowNs();
  ASSERT_EQ(dev_.launched.size(), 1u);
  const auto& l = dev_.launched[0];
  EXPECT_EQ(l.work.workgroups, 3u);
  EXPECT_EQ(l.work.workgroup_ns, 5000u);
  EXPECT_GE(l.not_before, before + 2000);
  EXPECT_LE(l.not_before, after + 2000);
  // Ends: effects, timestamps, decrement, header invalidated, read index advanced.
  dev_.ended[1] = DispatchTimes{l.not_before, l.not_before + 5000};
  EXPECT_TRUE(Step());
  EXPECT_EQ(counter, 1u);
  EXPECT_EQ(signals_[0].value, 0);
  EXPECT_EQ(signals_[0].start_ts, l.not_before);
  EXPECT_EQ(signals_[0].end_ts, l.not_before + 5000);
  EXPECT_EQ(read_, 1u);
  EXPECT_EQ(q_.cfg.ring[0], HSA_PACKET_TYPE_INVALID);
}

TEST_F(CpEngineTest, BarrierBitDispatchIsHandedToTheDeviceWithItsGate) {
  // Behind device dispatches only, a barrier-bit dispatch goes to the device at once, marked so
  // the device starts it after the earlier ones end (at the modelled time, not the CP's wake-up).
  uint64_t before = NowNs();
  Dispatch(1000, false, nullptr, nullptr);
  Dispatch(1000, true, &signals_[1], nullptr);
  Step();
  ASSERT_EQ(dev_.launched.size(), 2u);
  EXPECT_FALSE(dev_.launched[0].work.barrier);
  EXPECT_TRUE(dev_.launched[1].work.barrier);
  EXPECT_EQ(dev_.launched[1].work.barrier_gap_ns, 2000u);
  EXPECT_GE(dev_.launched[1].not_before, before + 2 * 2000) << "one CP cost per packet";
}

TEST_F(CpEngineTest, BarrierPacketWithBarrierBitBehindDispatchesIsQueuedOnTheDevice) {
  // Level-1's marker: a barrier-AND with the barrier bit and no dependency, behind a dispatch.
  Dispatch(1000, false, nullptr, nullptr);
  uint64_t idx = BarrierAnd(nullptr, &signals_[0]);
  uint16_t h = static_cast<uint16_t>((HSA_PACKET_TYPE_BARRIER_AND << HSA_PACKET_HEADER_TYPE) |
                                     (1 << HSA_PACKET_HEADER_BARRIER));
  __atomic_store_n(reinterpret_cast<uint16_t*>(q_.cfg.ring + (idx % kSlots) * 64), h,
                   __ATOMIC_RELEASE);
  Step();
  ASSERT_EQ(dev_.launched.size(), 2u);
  EXPECT_TRUE(dev_.launched[1].work.cp_only);
  EXPECT_TRUE(dev_.launched[1].work.barrier);
  // The device reports both ended: the marker's signal carries the device's time.
  uint64_t t = NowNs();
  dev_.ended[1] = DispatchTimes{t, t + 10};
  dev_.ended[2] = DispatchTimes{t + 2010, t + 2010};
  Step();
  EXPECT_EQ(signals_[0].value, 0);
  EXPECT_EQ(signals_[0].end_ts, t + 2010);
  EXPECT_EQ(read_, 2u);
}

TEST_F(CpEngineTest, BarrierBitBehindAnUnfinishedCpPacketWaitsForIt) {
  // A barrier-AND the CP completes itself (its dependency met, its CP cost not yet elapsed) is
  // not known to the device: a barrier-bit dispatch behind it waits in the CP until it is done.
  signals_[2].value = 0;
  BarrierAnd(&signals_[2], nullptr);
  Dispatch(1000, true, &signals_[1], nullptr);
  uint64_t t0 = NowNs();
  Step();
  if (NowNs() < t0 + 2000) {
    EXPECT_EQ(dev_.launched.size(), 0u) << "the barrier-bit packet must wait for the barrier-AND";
  }
  for (int i = 0; i < 100000 && dev_.launched.empty(); ++i) Step();
  ASSERT_EQ(dev_.launched.size(), 1u);
  EXPECT_FALSE(dev_.launched[0].work.barrier) << "nothing left in flight to gate on";
  EXPECT_GE(dev_.launched[0].not_before, t0 + 2 * 2000) << "after the barrier-AND's end + CP cost";
}

TEST_F(CpEngineTest, OutOfOrderEndSignalsAtOnceButRetiresInOrder) {
  Dispatch(1000, false, &signals_[0], nullptr);
  Dispatch(1000, false, &signals_[1], nullptr);
  Step();
  ASSERT_EQ(dev_.launched.size(), 2u);
  uint64_t t = NowNs();
  dev_.ended[2] = DispatchTimes{t, t + 10};
  Step();
  EXPECT_EQ(signals_[1].value, 0) << "a finished packet signals even behind an unfinished one";
  EXPECT_EQ(signals_[0].value, 1);
  EXPECT_EQ(read_, 0u) << "the read index passes packets in order only";
  dev_.ended[1] = DispatchTimes{t, t + 20};
  Step();
  EXPECT_EQ(signals_[0].value, 0);
  EXPECT_EQ(read_, 2u);
}

TEST_F(CpEngineTest, InactiveQueueIsNotFetchedAndFullDeviceIsRetried) {
  Dispatch(1000, false, nullptr, nullptr);
  dev_.runnable = false;
  EXPECT_FALSE(Step());
  EXPECT_TRUE(dev_.launched.empty());
  dev_.runnable = true;
  dev_.full = true;
  EXPECT_FALSE(Step());
  EXPECT_EQ(q_.fetch, 0u);
  dev_.full = false;
  EXPECT_TRUE(Step());
  EXPECT_EQ(dev_.launched.size(), 1u);
  EXPECT_EQ(q_.fetch, 1u);
}

TEST_F(CpEngineTest, BarrierAndCompletesAtTheExactEndOfItsDependency) {
  Dispatch(1000, false, &signals_[0], nullptr);
  BarrierAnd(&signals_[0], &signals_[1]);
  Step();
  EXPECT_EQ(signals_[1].value, 1);
  uint64_t end = NowNs() + 500'000;
  dev_.ended[1] = DispatchTimes{end - 1000, end};
  Step();  // completes the dispatch (logs its end), then launches the barrier at end + cp cost
  uint64_t done = UINT64_MAX;
  for (int i = 0; i < 2000 && signals_[1].value != 0; ++i) {
    usleep(500);
    Step();
    done = signals_[1].end_ts;
  }
  ASSERT_EQ(signals_[1].value, 0);
  EXPECT_EQ(done, end + 2000);
}

TEST_F(CpEngineTest, MalformedPacketStopsTheQueueAndIsTraced) {
  Dispatch(1000, false, nullptr, nullptr);
  auto* p = reinterpret_cast<hsa_kernel_dispatch_packet_t*>(q_.cfg.ring);
  p->kernel_object = 0;
  Step();
  EXPECT_TRUE(q_.error);
  EXPECT_TRUE(dev_.launched.empty());
  ASSERT_EQ(dev_.traced.size(), 1u);
  EXPECT_EQ(dev_.traced[0].first, uint32_t(HSAPREEMPT_SIM_EV_QUEUE_ERROR));
  EXPECT_EQ(dev_.traced[0].second, uint64_t(HSA_STATUS_ERROR_INVALID_CODE_OBJECT));
  Dispatch(1000, false, nullptr, nullptr);
  Step();
  EXPECT_TRUE(dev_.launched.empty()) << "a stopped queue fetches nothing more";
}

TEST_F(CpEngineTest, RocrCopyKernelIsEmulatedAtTheModelledBandwidth) {
  // An amd_kernel_code_t as ROCr writes it for CopyAligned: 32 SGPRs, 12 VGPRs (granules 3, 2).
  alignas(256) static amd_kernel_code_t code;
  memset(&code, 0, sizeof(code));
  code.kernel_code_entry_byte_offset = sizeof(amd_kernel_code_t);
  code.compute_pgm_rsrc1 = (3u << 6) | 2u;
  std::vector<uint8_t> src(100000), dst(100000, 0);
  for (size_t i = 0; i < src.size(); ++i) src[i] = uint8_t(i * 13);
  alignas(16) uint64_t kernarg[11] = {};
  kernarg[0] = reinterpret_cast<uint64_t>(src.data());  // phase1_src_start
  kernarg[1] = reinterpret_cast<uint64_t>(dst.data());  // phase1_dst_start
  kernarg[8] = reinterpret_cast<uint64_t>(src.data() + src.size());  // phase4_src_end
  kernarg[9] = reinterpret_cast<uint64_t>(dst.data() + dst.size());  // phase4_dst_end
  Dispatch(0, false, &signals_[0], nullptr);
  auto* p = reinterpret_cast<hsa_kernel_dispatch_packet_t*>(q_.cfg.ring);
  p->kernel_object = reinterpret_cast<uint64_t>(&code);
  p->kernarg_address = kernarg;
  Step();
  ASSERT_EQ(dev_.launched.size(), 1u);
  EXPECT_EQ(dev_.launched[0].work.workgroups, 1u);
  EXPECT_EQ(dev_.launched[0].work.workgroup_ns, 100000u * 1000 / dev_.params_.blit_bytes_per_us);
  EXPECT_NE(memcmp(src.data(), dst.data(), src.size()), 0) << "copied before the modelled end";
  dev_.ended[1] = DispatchTimes{1, 2};
  Step();
  EXPECT_EQ(memcmp(src.data(), dst.data(), src.size()), 0);
  EXPECT_EQ(signals_[0].value, 0);
}

}  // namespace
}  // namespace simdev
