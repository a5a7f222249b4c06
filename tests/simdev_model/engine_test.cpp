// The execution model with explicit times (no shared memory, no clocks, no sleeping).
#include "simdev/model/engine.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace simdev {
namespace {

constexpr uint64_t kRunlist = 100;  // distinct costs so a mix-up shows in the figures
constexpr uint64_t kSave = 20;
constexpr uint64_t kRestore = 30;
constexpr uint64_t kStart = 1000;   // after the queue-creation runlist updates

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { Reset(4, 1); }
  void Reset(uint32_t cus, uint32_t slots_per_cu) {
    state_ = std::make_unique<DeviceState>();
    ModelConfig c{};
    c.cus = cus;
    c.slots_per_cu = slots_per_cu;
    c.engine_clock_mhz = 1000;
    c.runlist_update_ns = kRunlist;
    c.cwsr_save_ns = kSave;
    c.cwsr_restore_ns = kRestore;
    Engine::Init(state_.get(), c);
    engine_ = std::make_unique<Engine>(state_.get());
  }
  int Queue(uint32_t id) { return engine_->AddQueue(1, 0, id, 0x1000 * id, 4096, 0, 0); }
  // Launches at model time `at` (the model is advanced there first, as a CP would be).
  uint64_t Launch(int q, uint32_t wgs, uint64_t ns, uint64_t at) {
    engine_->AdvanceTo(at);
    return LaunchAhead(q, wgs, ns, at, false);
  }
  // Launches without advancing the model: the dispatch may start at `not_before` at the earliest.
  uint64_t LaunchAhead(int q, uint32_t wgs, uint64_t ns, uint64_t not_before, bool barrier,
                       uint64_t gap = 0) {
    KernelWork w;
    w.workgroups = wgs;
    w.workgroup_ns = ns;
    w.barrier = barrier;
    w.barrier_gap_ns = gap;
    return engine_->Launch(q, w, not_before);
  }
  // Runs the model until the dispatch ends; returns its times.
  DispatchTimes Finish(uint64_t h) {
    DispatchTimes t;
    for (int i = 0; i < 100000; ++i) {
      uint64_t next = engine_->NextEventTime(state_->now);
      if (engine_->Poll(h, next == UINT64_MAX ? state_->now : next, &t)) return t;
      if (next == UINT64_MAX) break;
    }
    ADD_FAILURE() << "dispatch never ended";
    return t;
  }

  std::unique_ptr<DeviceState> state_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, KernelAloneTakesRoundsOfWorkgroupTime) {
  int q = Queue(1);
  uint64_t h = Launch(q, 10, 1000, kStart);  // 4 slots: ceil(10/4) = 3 rounds
  DispatchTimes t;
  EXPECT_FALSE(engine_->Poll(h, kStart + 3 * 1000 - 1, &t));
  ASSERT_TRUE(engine_->Poll(h, kStart + 3 * 1000, &t));
  EXPECT_EQ(t.start_ns, kStart);
  EXPECT_EQ(t.end_ns, kStart + 3000);
}

TEST_F(EngineTest, LaunchAheadStartsAtNotBeforeWithoutAdvancingTheModel) {
  int q = Queue(1);
  engine_->AdvanceTo(kStart);
  uint64_t h = LaunchAhead(q, 1, 500, kStart + 700, false);
  EXPECT_EQ(state_->now, kStart) << "launching must not move model time";
  EXPECT_EQ(engine_->NextEventTime(kStart), kStart + 700) << "its start is the next event";
  DispatchTimes t = Finish(h);
  EXPECT_EQ(t.start_ns, kStart + 700);
  EXPECT_EQ(t.end_ns, kStart + 1200);
}

TEST_F(EngineTest, BarrierDispatchStartsAtItsPredecessorsEndPlusGap) {
  int q = Queue(1);
  engine_->AdvanceTo(kStart);
  // Two dispatches in flight (one device round each), then a barrier launched long before they
  // end: it starts exactly gap after the later end, not when it was launched or polled.
  uint64_t a = LaunchAhead(q, 2, 1000, kStart, false);
  uint64_t b = LaunchAhead(q, 2, 3000, kStart, false);
  uint64_t c = LaunchAhead(q, 1, 100, kStart + 10, true, 7);
  uint64_t d = LaunchAhead(q, 1, 100, kStart + 20, false);  // in order: waits behind the barrier
  EXPECT_EQ(Finish(a).end_ns, kStart + 1000);
  EXPECT_EQ(Finish(b).end_ns, kStart + 3000);
  DispatchTimes tc = Finish(c), td = Finish(d);
  EXPECT_EQ(tc.start_ns, kStart + 3000 + 7);
  EXPECT_EQ(td.start_ns, kStart + 3000 + 7) << "a non-barrier packet behind it starts with it";
}

TEST_F(EngineTest, BarrierWithNothingOutstandingWaitsForTheLastEndAndItsReadyTime) {
  int q = Queue(1);
  DispatchTimes ta = Finish(Launch(q, 1, 1000, kStart));
  EXPECT_EQ(ta.end_ns, kStart + 1000);
  // Launched after the end was modelled, but the gap still counts from that end.
  engine_->AdvanceTo(kStart + 1001);
  DispatchTimes tb = Finish(LaunchAhead(q, 1, 10, kStart + 1001, true, 50));
  EXPECT_EQ(tb.start_ns, kStart + 1050);
  // And never before the packet was ready (processed by the CP).
  DispatchTimes tc = Finish(LaunchAhead(q, 1, 10, kStart + 5000, true, 50));
  EXPECT_EQ(tc.start_ns, kStart + 5000);
}

TEST_F(EngineTest, BarrierOfASuspendedQueueWaitsForItsSavedPredecessor) {
  int q = Queue(1), other = Queue(2);
  engine_->AdvanceTo(kStart);
  uint64_t a = LaunchAhead(q, 4, 1000, kStart, false);
  uint64_t b = LaunchAhead(q, 1, 10, kStart, true, 5);
  ASSERT_EQ(engine_->SetSuspended(&q, 1, true, 0, kStart + 400), 0);
  ASSERT_EQ(engine_->SetSuspended(&q, 1, false, 0, kStart + 2000), 0);
  (void)other;
  DispatchTimes ta = Finish(a), tb = Finish(b);
  EXPECT_GT(ta.end_ns, kStart + 2000) << "a was saved and restored";
  EXPECT_EQ(tb.start_ns, ta.end_ns + 5);
}

TEST_F(EngineTest, CpOnlyBarrierEndsAtItsGateWithoutASlotAndOrdersWhatFollows) {
  Reset(1, 1);  // one slot, held by the running dispatch
  int q = Queue(1);
  engine_->AdvanceTo(kStart);
  uint64_t a = LaunchAhead(q, 1, 1000, kStart, false);
  KernelWork marker;
  marker.cp_only = true;
  marker.barrier = true;
  marker.barrier_gap_ns = 5;
  uint64_t m = engine_->Launch(q, marker, kStart + 1);
  uint64_t b = LaunchAhead(q, 1, 100, kStart + 2, false);  // no barrier bit, still after the marker
  DispatchTimes tm = Finish(m);
  EXPECT_EQ(tm.start_ns, kStart + 1005);
  EXPECT_EQ(tm.end_ns, kStart + 1005);
  EXPECT_EQ(Finish(a).end_ns, kStart + 1000);
  EXPECT_EQ(Finish(b).start_ns, kStart + 1005);
  EXPECT_EQ(state_->free_count, state_->total_slots);
}

TEST_F(EngineTest, CpOnlyEntryOfAnInactiveQueueWaitsUntilItRunsAgain) {
  int q = Queue(1);
  engine_->AdvanceTo(kStart);
  ASSERT_EQ(engine_->SetActive(q, false, kStart), 0);
  KernelWork marker;
  marker.cp_only = true;
  uint64_t m = engine_->Launch(q, marker, kStart + 10);
  DispatchTimes t;
  EXPECT_FALSE(engine_->Poll(m, kStart + 5000, &t));
  ASSERT_EQ(engine_->SetActive(q, true, kStart + 6000), 0);
  t = Finish(m);
  EXPECT_EQ(t.end_ns, kStart + 6000 + kRunlist);
}

TEST_F(EngineTest, SlotsPerCuMultiplySlots) {
  Reset(4, 2);
  int q = Queue(1);
  DispatchTimes t = Finish(Launch(q, 16, 500, kStart));  // 8 slots: 2 rounds
  EXPECT_EQ(t.end_ns - t.start_ns, 1000u);
}

TEST_F(EngineTest, ZeroTimeDispatchEndsWhenItStarts) {
  int q = Queue(1);
  DispatchTimes t = Finish(Launch(q, 1, 0, kStart));
  EXPECT_EQ(t.start_ns, kStart);
  EXPECT_EQ(t.end_ns, kStart);
}

TEST_F(EngineTest, QueueCreationIsARunlistUpdate) {
  int q = Queue(1);  // at time 0: nothing starts before kRunlist
  DispatchTimes t = Finish(Launch(q, 1, 10, 0));
  EXPECT_EQ(t.start_ns, kRunlist);
}

TEST_F(EngineTest, RoundRobinSharesSlotsBetweenQueues) {
  int a = Queue(1), b = Queue(2);
  // Both launched during the creation runlist updates, so both are pending when slots free up.
  uint64_t ha = Launch(a, 8, 1000, 10);
  uint64_t hb = Launch(b, 8, 1000, 10);
  const uint64_t t0 = 2 * kRunlist;
  // A alone would take the 4 slots for 2 rounds; sharing gives each 2 slots for 4 rounds.
  DispatchTimes ta = Finish(ha), tb = Finish(hb);
  EXPECT_EQ(ta.start_ns, t0);
  EXPECT_EQ(tb.start_ns, t0);
  EXPECT_EQ(ta.end_ns, t0 + 4000);
  EXPECT_EQ(tb.end_ns, t0 + 4000);
}

TEST_F(EngineTest, FirstComerFillsAnIdleDeviceThenQueuesShare) {
  int a = Queue(1), b = Queue(2);
  uint64_t ha = Launch(a, 8, 1000, kStart);       // takes all 4 slots at once
  uint64_t hb = Launch(b, 8, 1000, kStart + 10);  // shares from the next refill on
  EXPECT_EQ(Finish(ha).end_ns, kStart + 3000);    // 4, then 2 + 2
  EXPECT_EQ(Finish(hb).end_ns, kStart + 4000);    // 2, 2, then 4
}

TEST_F(EngineTest, SmallDemandLeavesTheRestToOthers) {
  int a = Queue(1), b = Queue(2);
  uint64_t ha = Launch(a, 1, 1000, 10);
  uint64_t hb = Launch(b, 6, 1000, 10);
  const uint64_t t0 = 2 * kRunlist;
  // B gets 3 slots (1 + 3 = 4), then its last 3 when the first round ends.
  EXPECT_EQ(Finish(ha).end_ns, t0 + 1000);
  EXPECT_EQ(Finish(hb).end_ns, t0 + 2000);
}

TEST_F(EngineTest, ShortKernelWaitsBehindLongKernelThatFillsTheDevice) {
  int lo = Queue(1), hi = Queue(2);
  uint64_t hl = Launch(lo, 4, 50000, kStart);  // fills every slot for 50 us
  uint64_t hs = Launch(hi, 1, 100, kStart + 10);
  DispatchTimes ts = Finish(hs);
  EXPECT_EQ(ts.start_ns, kStart + 50000);  // no slot frees before the long workgroups end
  EXPECT_EQ(ts.end_ns, kStart + 50100);
  EXPECT_EQ(Finish(hl).end_ns, kStart + 50000);
}

TEST_F(EngineTest, DispatchesOfAQueueStartInLaunchOrder) {
  int q = Queue(1);
  uint64_t h1 = Launch(q, 6, 1000, kStart);  // 4 now, 2 at +1000
  uint64_t h2 = Launch(q, 2, 1000, kStart);  // only after h1's last workgroups started
  DispatchTimes t1 = Finish(h1), t2 = Finish(h2);
  EXPECT_EQ(t1.end_ns, kStart + 2000);
  EXPECT_EQ(t2.start_ns, kStart + 1000);  // the 2 slots h1 left free at +1000
  EXPECT_EQ(t2.end_ns, kStart + 2000);
}

TEST_F(EngineTest, CuMaskLimitsSlots) {
  int q = Queue(1);
  uint32_t mask = 0x1;  // one CU
  ASSERT_EQ(engine_->SetCuMask(q, &mask, 32, kStart), 0);
  uint64_t start = kStart + kRunlist;
  DispatchTimes t = Finish(Launch(q, 4, 1000, start));
  EXPECT_EQ(t.start_ns, start);
  EXPECT_EQ(t.end_ns, start + 4000);  // 4 rounds on one slot
  DeviceQueueInfo info;
  ASSERT_TRUE(engine_->GetQueueInfo(q, &info));
  EXPECT_EQ(info.cus_enabled, 1u);
}

TEST_F(EngineTest, DisjointCuMasksRunSideBySide) {
  int a = Queue(1), b = Queue(2);
  uint32_t ma = 0x3, mb = 0xc;
  engine_->SetCuMask(a, &ma, 32, kStart);
  engine_->SetCuMask(b, &mb, 32, kStart);
  uint64_t start = kStart + 2 * kRunlist;
  uint64_t ha = Launch(a, 4, 1000, start);
  uint64_t hb = Launch(b, 2, 1000, start);
  EXPECT_EQ(Finish(ha).end_ns, start + 2000);  // never uses B's CUs, even when they are idle
  EXPECT_EQ(Finish(hb).end_ns, start + 1000);
}

TEST_F(EngineTest, DeactivationSavesWorkAndResumesWithRemainingTimePlusRestore) {
  int lo = Queue(1), hi = Queue(2);
  uint64_t hl = Launch(lo, 4, 10000, kStart);  // all slots, 10 us
  uint64_t t_off = kStart + 4000;               // 6000 ns left on each workgroup
  ASSERT_EQ(engine_->SetActive(lo, false, t_off), 0);
  uint64_t hs = Launch(hi, 4, 500, t_off);
  // Slots free after the save; nothing starts before the runlist update ends.
  DispatchTimes ts = Finish(hs);
  EXPECT_EQ(ts.start_ns, t_off + std::max(kSave, kRunlist));
  DeviceQueueInfo info;
  ASSERT_TRUE(engine_->GetQueueInfo(lo, &info));
  EXPECT_EQ(info.saved_workgroups, 4u);
  uint64_t t_on = ts.end_ns + 1000;
  ASSERT_EQ(engine_->SetActive(lo, true, t_on), 0);
  DispatchTimes tl = Finish(hl);
  EXPECT_EQ(tl.end_ns, t_on + kRunlist + kRestore + 6000);
}

TEST_F(EngineTest, RunlistUpdatePausesOtherQueues) {
  int a = Queue(1), b = Queue(2);
  uint64_t ha = Launch(a, 2, 10000, kStart);  // 2 slots
  ASSERT_EQ(engine_->SetActive(b, false, kStart + 100), 0);  // b idle, but it is a runlist change
  EXPECT_EQ(Finish(ha).end_ns, kStart + 10000 + kRunlist);
}

TEST_F(EngineTest, SuspendedQueueMakesNoProgress) {
  int a = Queue(1);
  uint64_t ha = Launch(a, 1, 1000, kStart);
  int slots[] = {a};
  ASSERT_EQ(engine_->SetSuspended(slots, 1, true, 0, kStart + 400), 0);  // 600 left
  DispatchTimes t;
  EXPECT_FALSE(engine_->Poll(ha, kStart + 1000000, &t));
  uint64_t h2 = Launch(a, 1, 10, kStart + 1000000);  // accepted but not started
  EXPECT_FALSE(engine_->Poll(h2, kStart + 2000000, &t));
  EXPECT_FALSE(engine_->Poll(ha, kStart + 2000000, &t));
  uint64_t t_res = kStart + 2000000;
  ASSERT_EQ(engine_->SetSuspended(slots, 1, false, 0, t_res), 0);
  EXPECT_EQ(Finish(ha).end_ns, t_res + kRunlist + kRestore + 600);
}

TEST_F(EngineTest, GraceLetsWavesEndingWithinItFinish) {
  int a = Queue(1);
  uint64_t h1 = Launch(a, 2, 300, kStart);
  uint64_t h2 = Launch(a, 2, 5000, kStart);
  int slots[] = {a};
  ASSERT_EQ(engine_->SetSuspended(slots, 1, true, 1000, kStart + 100), 0);
  DispatchTimes t;
  ASSERT_TRUE(engine_->Poll(h1, kStart + 300, &t));  // ended inside the grace period
  EXPECT_EQ(t.end_ns, kStart + 300);
  EXPECT_FALSE(engine_->Poll(h2, kStart + 100000, &t));
  DeviceQueueInfo info;
  engine_->GetQueueInfo(a, &info);
  EXPECT_EQ(info.saved_workgroups, 2u);  // saved at +1100 with 3900 left
  ASSERT_EQ(engine_->SetSuspended(slots, 1, false, 0, kStart + 200000), 0);
  EXPECT_EQ(Finish(h2).end_ns, kStart + 200000 + kRunlist + kRestore + 3900);
}

TEST_F(EngineTest, RemoveQueueDropsItsWorkAndFreesSlots) {
  int a = Queue(1), b = Queue(2);
  uint64_t ha = Launch(a, 4, 100000, kStart);
  uint64_t hb = Launch(b, 1, 100, kStart + 10);
  engine_->RemoveQueue(a, kStart + 1000);
  DispatchTimes t;
  EXPECT_TRUE(engine_->Poll(ha, kStart + 1000, &t));  // dropped: nothing left to wait for
  EXPECT_EQ(t.end_ns, 0u);
  EXPECT_EQ(Finish(hb).start_ns, kStart + 1000 + kRunlist);
  EXPECT_EQ(state_->free_count, state_->total_slots);
}

TEST_F(EngineTest, FullDispatchTableRefusesUntilAHandleIsReleased) {
  int q = Queue(1);
  engine_->SetActive(q, false, kStart);  // nothing starts: every launch stays pending
  std::vector<uint64_t> handles;
  for (uint32_t i = 0; i < kMaxDispatches; ++i) {
    handles.push_back(Launch(q, 1, 10, kStart + 1));
    ASSERT_NE(handles.back(), 0u) << i;
  }
  EXPECT_EQ(Launch(q, 1, 10, kStart + 2), 0u);
  engine_->SetActive(q, true, kStart + 3);
  DispatchTimes t = Finish(handles[0]);  // releases its entry
  EXPECT_GT(t.end_ns, 0u);
  EXPECT_NE(Launch(q, 1, 10, t.end_ns), 0u);
}

TEST_F(EngineTest, SavedBatchesFillingTheTableStillRestore) {
  Reset(kMaxSlots, 1);
  int a = Queue(1), b = Queue(2), c = Queue(3), d = Queue(4);
  const uint64_t t0 = kStart, t1 = kStart + 10000;
  // A: one batch per slot, then suspended: kMaxSlots saved batches.
  std::vector<uint64_t> ha;
  for (uint32_t i = 0; i < kMaxSlots; ++i) ha.push_back(Launch(a, 1, 1000000, t0));
  ASSERT_EQ(engine_->SetSuspended(&a, 1, true, 0, t0 + 10), 0);
  // D's short dispatches end one per ns, so B's single wide dispatch starts in kMaxSlots
  // separate batches (one per refill): the batch table fills up while dispatch entries remain.
  std::vector<uint64_t> hd;
  for (uint32_t i = 0; i + 1 < kMaxSlots; ++i) hd.push_back(Launch(d, 1, i + 1, t1));
  Launch(b, kMaxSlots, 1000000, t1);
  DispatchTimes t;
  for (uint64_t h : hd) ASSERT_TRUE(engine_->Poll(h, t1 + kMaxSlots, &t));
  ASSERT_EQ(engine_->SetSuspended(&b, 1, true, 0, t1 + kMaxSlots + 10), 0);
  // Every slot is free, every batch entry holds saved work: C cannot start a batch.
  uint64_t t2 = t1 + kMaxSlots + 1000;
  uint64_t hc = Launch(c, 1, 10, t2);
  ASSERT_NE(hc, 0u);
  ASSERT_EQ(state_->batch_hwm, kMaxBatches);
  ASSERT_EQ(state_->batch_free_head, -1);
  ASSERT_EQ(state_->free_count, state_->total_slots);
  EXPECT_FALSE(engine_->Poll(hc, t2 + 1000, &t));
  // Restoring A needs no new entry; once its work ends, entries free up and C runs.
  uint64_t t3 = t2 + 2000;
  ASSERT_EQ(engine_->SetSuspended(&a, 1, false, 0, t3), 0);
  DispatchTimes ta = Finish(ha.back());
  EXPECT_EQ(ta.end_ns, t3 + kRunlist + kRestore + (1000000 - 10));
  EXPECT_GE(Finish(hc).start_ns, ta.end_ns);
}

TEST_F(EngineTest, TraceRecordsDispatchAndQueueEvents) {
  int a = Queue(7);
  KernelWork w;
  w.workgroups = 1;
  w.workgroup_ns = 100;
  w.packet_index = 42;
  w.seen_ns = kStart - 7;  // the CP saw it before it handed it over
  Finish(engine_->Launch(a, w, kStart));
  engine_->SetActive(a, false, kStart + 1000);
  hsapreempt_sim_event ev[64];
  uint64_t cursor = 0;
  size_t n = engine_->TraceRead(&cursor, ev, 64);
  std::vector<uint32_t> kinds;
  for (size_t i = 0; i < n; ++i) kinds.push_back(ev[i].kind);
  std::vector<uint32_t> want = {HSAPREEMPT_SIM_EV_QUEUE_CREATE,   HSAPREEMPT_SIM_EV_RUNLIST,
                                HSAPREEMPT_SIM_EV_DISPATCH_LAUNCH, HSAPREEMPT_SIM_EV_DISPATCH_START,
                                HSAPREEMPT_SIM_EV_DISPATCH_END,    HSAPREEMPT_SIM_EV_QUEUE_ACTIVE,
                                HSAPREEMPT_SIM_EV_RUNLIST};
  ASSERT_EQ(kinds, want);
  // The launch names the packet and its workgroups, at the time the CP first saw it.
  EXPECT_EQ(ev[2].dispatch, 42u);
  EXPECT_EQ(ev[2].value, 1u);
  EXPECT_EQ(ev[2].time_ns, kStart - 7);
  EXPECT_EQ(ev[3].dispatch, 42u);
  EXPECT_EQ(ev[3].queue_id, 7u);
  EXPECT_EQ(ev[4].time_ns, kStart + 100);
  EXPECT_EQ(cursor, n);
  EXPECT_EQ(engine_->TraceRead(&cursor, ev, 64), 0u);
}

TEST_F(EngineTest, TraceReaderThatFellBehindSkipsToOldest) {
  for (uint32_t i = 0; i < kTraceCapacity + 10; ++i) engine_->Trace(1, -1, i, 0, i);
  uint64_t cursor = 0;
  hsapreempt_sim_event ev[4];
  ASSERT_EQ(engine_->TraceRead(&cursor, ev, 4), 4u);
  EXPECT_EQ(ev[0].dispatch, 10u);
  EXPECT_EQ(cursor, 14u);
}

TEST_F(EngineTest, RepairRebuildsConsistentState) {
  int a = Queue(1), b = Queue(2);
  uint64_t ha = Launch(a, 3, 1000, kStart);
  uint64_t hb = Launch(b, 3, 1000, kStart);
  // Simulate a half-done update: corrupt derived data.
  state_->free_count = 0;
  state_->queues[a].running_wgs = 999;
  engine_->Repair();
  EXPECT_EQ(state_->free_count + state_->queues[a].running_wgs + state_->queues[b].running_wgs,
            state_->total_slots);
  EXPECT_GT(Finish(ha).end_ns, 0u);
  EXPECT_GT(Finish(hb).end_ns, 0u);
  EXPECT_EQ(state_->free_count, state_->total_slots);
}

}  // namespace
}  // namespace simdev
