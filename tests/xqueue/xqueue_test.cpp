// XQueue behaviour over the fake runtime: forwarding, Level-1, markers, suspension, barriers, drain.
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "tests/support/fork_child.h"
#include "tests/xqueue/fake_runtime.h"
#include "xqueue/xqueue.h"

namespace hsapreempt::xq::test {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;

struct Rig {
  Rig(uint32_t soft_size, uint32_t hw_size, uint32_t parallel, XQueueOptions opts,
      std::unique_ptr<levels::Lever> lever = nullptr, Listener* listener = nullptr)
      : soft(soft_size), hw(hw_size), cp(&hw, parallel) {
    xq = XQueue::Create(FakeOps(), &soft.q, &hw.q, opts, listener, std::move(lever));
  }
  ~Rig() {
    if (xq) {
      EXPECT_TRUE(xq->Drain(5 * kSecond).ok());
    }
    xq.reset();
  }
  uint64_t Kernel(uint64_t ns = 0, hsa_signal_t sig = {0}, bool barrier = false) {
    return SubmitKernel(&soft, xq.get(), ns, sig, barrier);
  }
  FakeQueue soft;
  FakeQueue hw;
  FakeCp cp;
  std::unique_ptr<XQueue> xq;
};

XQueueOptions Opts(uint32_t threshold, uint32_t batch, bool hold = true) {
  XQueueOptions o;
  o.hold_enabled = hold;
  o.threshold = threshold;
  o.batch = batch;
  return o;
}

using testsupport::ExpectChildReturnsZero;

TEST(XQueueTest, RejectsBadInput) {
  FakeQueue soft(64), hw(64);
  RuntimeOps partial = *FakeOps();
  partial.signal_create = nullptr;
  EXPECT_EQ(XQueue::Create(&partial, &soft.q, &hw.q, Opts(16, 8), nullptr, nullptr), nullptr);
  EXPECT_EQ(XQueue::Create(FakeOps(), nullptr, &hw.q, Opts(16, 8), nullptr, nullptr), nullptr);
  hsa_queue_t odd = hw.q;
  odd.size = 48;
  EXPECT_EQ(XQueue::Create(FakeOps(), &soft.q, &odd, Opts(16, 8), nullptr, nullptr), nullptr);
  // Out-of-range Level-1 options are clamped, not fatal.
  auto q = XQueue::Create(FakeOps(), &soft.q, &hw.q, Opts(0, 99), nullptr, nullptr);
  EXPECT_NE(q, nullptr);
}

TEST(XQueueTest, ForwardsInOrderExactlyOnceWithManyProducersAndWraps) {
  constexpr int kProducers = 8;
  constexpr uint64_t kPerProducer = 4000;  // 32000 packets through a 32-slot ring: 1000 wraps
  int64_t signals_before = LiveSignals();
  {
    Rig rig(32, 32, 8, Opts(16, 4));
    ASSERT_NE(rig.xq, nullptr);
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&rig, p] {
        std::mt19937 rng(p);
        for (uint64_t i = 0; i < kPerProducer; ++i) {
          // Occasionally dawdle between reserving and publishing: out-of-order publication.
          uint64_t idx = SubmitKernel(&rig.soft, rig.xq.get(), 0, {0}, false);
          ASSERT_NE(idx, UINT64_MAX);
          if (rng() % 64 == 0) std::this_thread::yield();
        }
      });
    }
    for (auto& t : producers) t.join();
    const uint64_t total = kProducers * kPerProducer;
    // Let the throttle finish the job (Drain would lift the threshold).
    EXPECT_TRUE(WaitFor([&] { return rig.cp.app_completed.load() == total; }));
    ASSERT_TRUE(rig.xq->Drain(10 * kSecond).ok());
    EXPECT_EQ(rig.cp.app_started.load(), total);
    EXPECT_EQ(rig.cp.app_completed.load(), total);
    EXPECT_EQ(rig.cp.order_errors.load(), 0u);
    EXPECT_EQ(rig.cp.expected_seq.load(), total);
    XQueueStats s = rig.xq->stats();
    EXPECT_EQ(s.submitted, total);
    EXPECT_EQ(s.forwarded, total);
    EXPECT_EQ(s.held, 0u);
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_LE(rig.cp.max_in_flight.load(), 16u);
    EXPECT_EQ(rig.cp.barriers.load(), s.markers);
  }
  EXPECT_EQ(LiveSignals(), signals_before);  // marker signal destroyed after a clean drain
}

TEST(XQueueTest, ThresholdBoundsPacketsInFlight) {
  Rig rig(256, 256, 64, Opts(16, 8));
  for (int i = 0; i < 300; ++i) ASSERT_NE(rig.Kernel(200'000), UINT64_MAX);
  EXPECT_TRUE(WaitFor([&] { return rig.cp.app_completed.load() == 300; }));
  EXPECT_EQ(rig.cp.app_completed.load(), 300u);
  // Never more than threshold application packets in the ring or running...
  EXPECT_LE(rig.cp.max_in_flight.load(), 16u);
  // ...and the throttle really lets work overlap (batches of 8 on top of what runs).
  EXPECT_GE(rig.cp.max_in_flight.load(), 8u);
  EXPECT_EQ(rig.cp.order_errors.load(), 0u);
}

TEST(XQueueTest, UnthrottledQueueForwardsAllAtOnceWithFewMarkers) {
  Rig rig(1024, 1024, 1024, Opts(16, 8, /*hold=*/false));
  for (int i = 0; i < 500; ++i) ASSERT_NE(rig.Kernel(2'000'000), UINT64_MAX);
  // Level "none": nothing is held even beyond the threshold.
  EXPECT_EQ(rig.xq->stats().held, 0u);
  EXPECT_TRUE(WaitFor([&] { return rig.cp.max_in_flight.load() > 100; }));
  rig.xq->Suspend();  // observe only: no effect
  EXPECT_FALSE(rig.xq->suspended());
  ASSERT_TRUE(rig.xq->Drain(30 * kSecond).ok());
  EXPECT_LE(rig.xq->stats().markers, 500u / 8 + 10);
}

TEST(XQueueTest, LiftingTheThrottleForwardsHeldPacketsAndDropsBatchMarkers) {
  Rig rig(1024, 1024, 1024, Opts(16, 8));
  for (int i = 0; i < 200; ++i) ASSERT_NE(rig.Kernel(50'000'000), UINT64_MAX);
  // Throttled (the default): at most a threshold's worth reaches the ring.
  EXPECT_LE(rig.xq->stats().forwarded, 16u);
  EXPECT_GT(rig.xq->stats().held, 100u);
  const uint64_t markers_before = rig.xq->stats().markers;
  rig.xq->SetThrottled(false);
  EXPECT_EQ(rig.xq->stats().held, 0u) << "lifting the bound forwards what was held";
  EXPECT_TRUE(WaitFor([&] { return rig.cp.max_in_flight.load() > 100; }));
  for (int i = 0; i < 200; ++i) ASSERT_NE(rig.Kernel(0), UINT64_MAX);
  EXPECT_EQ(rig.xq->stats().held, 0u);
  // Unthrottled, the submission path adds no per-batch markers (only the pump's tail markers).
  EXPECT_LE(rig.xq->stats().markers - markers_before, 2u);
  // Bound back on: new packets wait for room again.
  rig.xq->SetThrottled(true);
  for (int i = 0; i < 64; ++i) ASSERT_NE(rig.Kernel(0), UINT64_MAX);
  EXPECT_GT(rig.xq->stats().held, 0u);
  ASSERT_TRUE(rig.xq->Drain(30 * kSecond).ok());
  EXPECT_EQ(rig.cp.order_errors.load(), 0u);
}

XQueueOptions SlackOpts(uint64_t slack_ns) {
  XQueueOptions o = Opts(16, 8);
  o.slack_ns = slack_ns;
  return o;
}

// Short packets: the window grows to batch + slack / packet time (50 us packets, 2 ms slack:
// about 48), so a batch release never finds the device idle; the estimate is in stats().
TEST(XQueueTest, ShortPacketsWidenTheLevel1Window) {
  Rig rig(4096, 1024, /*parallel=*/1, SlackOpts(2'000'000));
  for (int i = 0; i < 1500; ++i) ASSERT_NE(rig.Kernel(50'000), UINT64_MAX);
  EXPECT_TRUE(WaitFor([&] { return rig.cp.max_in_flight.load() > 20; }))
      << "window " << rig.xq->stats().window << ", packet " << rig.xq->stats().packet_ns << " ns";
  const XQueueStats st = rig.xq->stats();
  EXPECT_GE(st.packet_ns, 40'000u);
  EXPECT_GT(st.window, 16u);
  EXPECT_LE(st.window, 8u + 2'000'000u / 40'000u);
  EXPECT_LE(rig.cp.max_in_flight.load(), st.window + 8);  // a batch may be in the ring early
}

// Long packets (slack / packet time below threshold - batch) keep the configured threshold.
TEST(XQueueTest, LongPacketsKeepTheThreshold) {
  Rig rig(256, 256, /*parallel=*/1, SlackOpts(2'000'000));
  for (int i = 0; i < 40; ++i) ASSERT_NE(rig.Kernel(1'000'000), UINT64_MAX);
  EXPECT_TRUE(WaitFor([&] { return rig.xq->stats().packet_ns != 0; }));
  EXPECT_TRUE(WaitFor([&] { return rig.cp.app_completed.load() >= 24; }));
  EXPECT_EQ(rig.xq->stats().window, 16u);
  EXPECT_LE(rig.cp.max_in_flight.load(), 16u);
}

// Without slack the window is the threshold whatever the packets' length.
TEST(XQueueTest, NoSlackKeepsTheThresholdForShortPackets) {
  Rig rig(4096, 1024, /*parallel=*/1, SlackOpts(0));
  for (int i = 0; i < 600; ++i) ASSERT_NE(rig.Kernel(50'000), UINT64_MAX);
  EXPECT_TRUE(WaitFor([&] { return rig.cp.app_completed.load() >= 300; }));
  EXPECT_EQ(rig.xq->stats().window, 16u);
  EXPECT_EQ(rig.xq->stats().packet_ns, 0u);
  EXPECT_LE(rig.cp.max_in_flight.load(), 16u);
}

TEST(XQueueTest, MarkerOverheadIsAboutOnePerBatch) {
  Rig rig(256, 256, 64, Opts(4096, 8));
  uint64_t t0 = common::MonotonicRawNs();
  constexpr int kPackets = 20000;
  for (int i = 0; i < kPackets; ++i) ASSERT_NE(rig.Kernel(0), UINT64_MAX);
  uint64_t elapsed_us = (common::MonotonicRawNs() - t0) / 1000;
  ASSERT_TRUE(rig.xq->Drain(10 * kSecond).ok());
  uint64_t markers = rig.xq->stats().markers;
  // One per batch, plus at most one per pump poll (>= 50 us apart), plus the drain's.
  EXPECT_LE(markers, kPackets / 8 + elapsed_us / 50 + 2) << "elapsed " << elapsed_us << " us";
  printf("markers: %llu for %d packets (%.3f per packet) in %llu us\n",
         static_cast<unsigned long long>(markers), kPackets,
         static_cast<double>(markers) / kPackets, static_cast<unsigned long long>(elapsed_us));
}

TEST(XQueueTest, SuspendHoldsEverythingAndResumeReleases) {
  auto lever = std::make_unique<FakeLever>();
  FakeLever* lv = lever.get();
  Rig rig(64, 64, 8, Opts(16, 8), std::move(lever));
  rig.xq->Suspend();
  EXPECT_TRUE(rig.xq->suspended());
  EXPECT_EQ(lv->engages.load(), 1);
  EXPECT_TRUE(rig.xq->stats().lever_engaged);
  for (int i = 0; i < 40; ++i) ASSERT_NE(rig.Kernel(0), UINT64_MAX);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(rig.cp.app_started.load(), 0u);
  XQueueStats s = rig.xq->stats();
  EXPECT_EQ(s.held, 40u);
  EXPECT_EQ(s.forwarded, 0u);
  EXPECT_TRUE(rig.xq->HasRunnableWork());
  rig.xq->Suspend();  // idempotent
  EXPECT_EQ(rig.xq->stats().suspensions, 1u);
  rig.xq->Resume();
  EXPECT_FALSE(rig.xq->suspended());
  EXPECT_EQ(lv->releases.load(), 1);
  EXPECT_FALSE(rig.xq->stats().lever_engaged);
  EXPECT_TRUE(WaitFor([&] { return rig.cp.app_completed.load() == 40; }));
  EXPECT_EQ(rig.cp.order_errors.load(), 0u);
}

TEST(XQueueTest, SuspendLetsInFlightWorkFinishAndHoldsTheRest) {
  Rig rig(64, 64, 64, Opts(16, 8));
  rig.cp.set_paused(true);  // nothing completes before the suspension, however slow we are
  for (int i = 0; i < 40; ++i) ASSERT_NE(rig.Kernel(2'000'000), UINT64_MAX);
  rig.xq->Suspend();
  rig.cp.set_paused(false);
  EXPECT_TRUE(WaitFor([&] { return rig.xq->stats().in_flight == 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  uint64_t done = rig.cp.app_completed.load();
  EXPECT_EQ(done, 16u);  // the first threshold's worth ran; nothing after the suspension
  EXPECT_EQ(rig.xq->stats().held, 24u);
  rig.xq->Resume();
  EXPECT_TRUE(WaitFor([&] { return rig.cp.app_completed.load() == 40; }));
}

TEST(XQueueTest, LeverFailureFallsBackToLevel1) {
  auto lever = std::make_unique<FakeLever>();
  FakeLever* lv = lever.get();
  lv->fail_engage.store(true);
  Rig rig(64, 64, 8, Opts(16, 8), std::move(lever));
  EXPECT_EQ(rig.xq->lever_kind(), levels::LeverKind::kUpdateQueue);
  rig.xq->Suspend();
  EXPECT_EQ(rig.xq->lever_kind(), levels::LeverKind::kNone);
  EXPECT_FALSE(lv->engaged());
  EXPECT_GE(lv->releases.load(), 1);  // left released
  EXPECT_FALSE(rig.xq->stats().lever_engaged);
  // Level-1 still holds.
  for (int i = 0; i < 10; ++i) ASSERT_NE(rig.Kernel(0), UINT64_MAX);
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(rig.cp.app_started.load(), 0u);
  rig.xq->Resume();
  EXPECT_TRUE(WaitFor([&] { return rig.cp.app_completed.load() == 10; }));
  // For good: a later suspension does not try the lever again.
  rig.xq->Suspend();
  rig.xq->Resume();
  EXPECT_EQ(lv->engages.load(), 1);
}

TEST(XQueueTest, WaitingBarrierIsNotRunnableWork) {
  Rig rig(64, 64, 8, Opts(16, 8));
  EXPECT_FALSE(rig.xq->HasRunnableWork());  // empty
  hsa_signal_t dep = MakeSignal(1);
  hsa_signal_t done = MakeSignal(1);
  ASSERT_NE(SubmitBarrier(&rig.soft, rig.xq.get(), false, &dep, 1, {0}), UINT64_MAX);
  ASSERT_NE(rig.Kernel(0, done), UINT64_MAX);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(rig.cp.app_started.load(), 0u);   // the CP is blocked on the barrier...
  EXPECT_FALSE(rig.xq->HasRunnableWork());    // ...so the queue cannot use the GPU
  hsa_signal_t blocking[5];
  ASSERT_EQ(rig.xq->BlockingSignals(blocking, 5), 1);
  EXPECT_EQ(blocking[0].handle, dep.handle);
  ToFake(dep)->value.store(0);                // satisfied by someone else
  EXPECT_TRUE(WaitFor([&] { return ToFake(done)->value.load() == 0; }));
  EXPECT_TRUE(WaitFor([&] { return !rig.xq->HasRunnableWork(); }));
  // A held barrier at the head of a suspended queue is not runnable either; a held kernel is.
  rig.xq->Suspend();
  ToFake(dep)->value.store(1);
  ASSERT_NE(SubmitBarrier(&rig.soft, rig.xq.get(), true, &dep, 1, {0}), UINT64_MAX);
  EXPECT_FALSE(rig.xq->HasRunnableWork());
  ToFake(dep)->value.store(0);
  EXPECT_TRUE(rig.xq->HasRunnableWork());
  rig.xq->Resume();
  ASSERT_TRUE(rig.xq->Drain(5 * kSecond).ok());
  FreeSignal(dep);
  FreeSignal(done);
}

TEST(XQueueTest, HoldsSignalProducer) {
  Rig rig(64, 64, 8, Opts(16, 8));
  hsa_signal_t produced = MakeSignal(1);
  hsa_signal_t other = MakeSignal(1);
  rig.xq->Suspend();
  ASSERT_NE(rig.Kernel(0), UINT64_MAX);
  ASSERT_NE(rig.Kernel(0, produced), UINT64_MAX);
  EXPECT_TRUE(rig.xq->HoldsSignalProducer(produced));
  EXPECT_FALSE(rig.xq->HoldsSignalProducer(other));
  EXPECT_FALSE(rig.xq->HoldsSignalProducer(hsa_signal_t{0}));
  rig.xq->Resume();
  EXPECT_TRUE(WaitFor([&] { return ToFake(produced)->value.load() == 0; }));
  EXPECT_FALSE(rig.xq->HoldsSignalProducer(produced));
  ASSERT_TRUE(rig.xq->Drain(5 * kSecond).ok());
  FreeSignal(produced);
  FreeSignal(other);
}

TEST(XQueueTest, DrainForwardsHeldPacketsAndTimesOutWhenTheGpuStalls) {
  Rig rig(64, 64, 8, Opts(16, 8));
  rig.xq->Suspend();
  for (int i = 0; i < 30; ++i) ASSERT_NE(rig.Kernel(0), UINT64_MAX);
  EXPECT_TRUE(rig.xq->Drain(5 * kSecond).ok());
  EXPECT_FALSE(rig.xq->suspended());
  EXPECT_EQ(rig.cp.app_completed.load(), 30u);
  // A stalled device: Drain gives up in time, loses nothing, and finishes once it moves again.
  rig.cp.set_paused(true);
  for (int i = 0; i < 5; ++i) ASSERT_NE(rig.Kernel(0), UINT64_MAX);
  uint64_t t0 = common::MonotonicRawNs();
  common::Status st = rig.xq->Drain(20'000'000);
  uint64_t took = common::MonotonicRawNs() - t0;
  EXPECT_EQ(st.code(), common::Status::Code::kBusy);
  EXPECT_LT(took, 500'000'000u);
  rig.cp.set_paused(false);
  EXPECT_TRUE(rig.xq->Drain(5 * kSecond).ok());
  EXPECT_EQ(rig.cp.app_completed.load(), 35u);
  EXPECT_EQ(rig.cp.order_errors.load(), 0u);
}

TEST(XQueueTest, ListenerSeesBusyThenIdle) {
  FakeListener listener;
  Rig rig(64, 64, 8, Opts(16, 8), nullptr, &listener);
  for (int round = 0; round < 3; ++round) {
    rig.cp.set_paused(true);  // one busy period per round, however slow the submissions are
    for (int i = 0; i < 5; ++i) ASSERT_NE(rig.Kernel(100'000), UINT64_MAX);
    EXPECT_TRUE(listener.busy.load());
    rig.cp.set_paused(false);
    EXPECT_TRUE(WaitFor([&] { return !listener.busy.load(); }));
    EXPECT_EQ(rig.cp.app_completed.load(), 5u * (round + 1));
  }
  EXPECT_EQ(listener.busy_calls.load(), 3);
  EXPECT_EQ(listener.idle_calls.load(), 3);
}

// Priority inheritance within a process: a queue blocked on a signal finds the suspended queue
// that holds its producer; releasing that queue unblocks it.
TEST(XQueueTest, BlockedQueueFindsTheHeldProducerOfItsDependency) {
  Rig waiter(64, 64, 8, Opts(16, 8));
  Rig producer(64, 64, 8, Opts(16, 8));
  hsa_signal_t s = MakeSignal(1);
  hsa_signal_t t = MakeSignal(1);
  hsa_signal_t done = MakeSignal(1);
  producer.xq->Suspend();
  ASSERT_NE(producer.Kernel(0, s), UINT64_MAX);
  hsa_signal_t deps[2] = {s, t};
  ASSERT_NE(SubmitBarrier(&waiter.soft, waiter.xq.get(), false, deps, 2, {0}), UINT64_MAX);
  ASSERT_NE(waiter.Kernel(0, done), UINT64_MAX);
  EXPECT_TRUE(WaitFor([&] { return !waiter.xq->HasRunnableWork(); }));
  hsa_signal_t blocking[5];
  ASSERT_EQ(waiter.xq->BlockingSignals(blocking, 5), 2);
  EXPECT_TRUE(producer.xq->HoldsSignalProducer(blocking[0]));
  EXPECT_FALSE(producer.xq->HoldsSignalProducer(blocking[1]));
  EXPECT_EQ(waiter.xq->BlockingSignals(blocking, 1), 1);  // respects max
  ToFake(t)->value.store(0);
  ASSERT_EQ(waiter.xq->BlockingSignals(blocking, 5), 1);
  EXPECT_EQ(blocking[0].handle, s.handle);
  producer.xq->Resume();
  EXPECT_TRUE(WaitFor([&] { return ToFake(done)->value.load() == 0; }));
  EXPECT_EQ(waiter.xq->BlockingSignals(blocking, 5), 0);
  ASSERT_TRUE(waiter.xq->Drain(5 * kSecond).ok());
  ASSERT_TRUE(producer.xq->Drain(5 * kSecond).ok());
  FreeSignal(s);
  FreeSignal(t);
  FreeSignal(done);
}

TEST(XQueueTest, DrainWithZeroTimeoutHandsEverythingToTheGpu) {
  Rig rig(64, 64, 64, Opts(16, 8));
  rig.cp.set_paused(true);
  rig.xq->Suspend();
  for (int i = 0; i < 40; ++i) ASSERT_NE(rig.Kernel(0), UINT64_MAX);
  EXPECT_EQ(rig.xq->Drain(0).code(), common::Status::Code::kBusy);
  EXPECT_EQ(rig.xq->stats().forwarded, 40u);  // not just a threshold's worth
  EXPECT_EQ(rig.xq->stats().held, 0u);
  rig.xq->Suspend();  // a draining queue no longer holds
  ASSERT_NE(rig.Kernel(0), UINT64_MAX);
  EXPECT_EQ(rig.xq->stats().forwarded, 41u);
  rig.cp.set_paused(false);
  EXPECT_TRUE(rig.xq->Drain(5 * kSecond).ok());
  EXPECT_EQ(rig.cp.app_completed.load(), 41u);
}

// StopPump (exit handlers) is process-wide: exercise it in a child.
TEST(XQueueTest, StoppedPumpTouchesNoQueueButDrainStillWorks) {
  ExpectChildReturnsZero([&] {
    int rc = 0;
    {
      FakeQueue soft(64), hw(64);
      FakeCp cp(&hw, 64);
      auto xq = XQueue::Create(FakeOps(), &soft.q, &hw.q, Opts(16, 8), nullptr, nullptr);
      if (!xq) return 2;
      StopPump();
      StopPump();  // idempotent
      cp.set_paused(true);  // so no doorbell sees a completion: only the pump could release
      for (int i = 0; i < 40; ++i) SubmitKernel(&soft, xq.get(), 0, {0}, false);
      cp.set_paused(false);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      // The first 16 ran; nobody released the rest.
      if (cp.app_completed.load() != 16) rc = 3;
      if (xq->stats().held != 24) rc = 4;
      if (!xq->Drain(kSecond).ok()) rc = 5;
      if (cp.app_completed.load() != 40) rc = 6;
    }
    return rc;
  });
}

// Work that arrives after the queue went idle but before the pump reported it (the scheduler may
// have seen the idle through HasRunnableWork) is reported again: a busy report is never lost.
// In a child, with the pump stopped, so the idle is never reported.
TEST(XQueueTest, WorkAfterAnUnreportedIdleIsReportedAgain) {
  ExpectChildReturnsZero([&] {
    int rc = 0;
    {
      FakeQueue soft(64), hw(64);
      FakeCp cp(&hw, 64);
      FakeListener listener;
      // Threshold 1, batch 1: a marker after every packet, so completion is known without a pump.
      auto xq = XQueue::Create(FakeOps(), &soft.q, &hw.q, Opts(1, 1), &listener, nullptr);
      if (!xq) return 2;
      StopPump();
      SubmitKernel(&soft, xq.get(), 0, {0}, false);
      if (listener.busy_calls.load() != 1) rc = 3;
      if (!WaitFor([&] { return cp.app_completed.load() == 1 && !xq->HasRunnableWork(); })) rc = 4;
      if (listener.idle_calls.load() != 0) rc = 5;  // nobody reported the idle
      SubmitKernel(&soft, xq.get(), 0, {0}, false);
      if (listener.busy_calls.load() != 2) rc = 6;  // the new work is reported anyway
      if (!xq->Drain(kSecond).ok()) rc = 7;
    }
    return rc;
  });
}

// A forked child inherits no pump thread: it must start its own and still release held packets.
TEST(XQueueTest, ForkedChildGetsItsOwnPump) {
  Rig warm(64, 64, 8, Opts(16, 8));  // the parent's pump is running
  ASSERT_NE(warm.Kernel(0), UINT64_MAX);
  // Fork only once the parent's pump and CP threads are past their start-up (the kernel ran to
  // completion through both). Under ASan (GCC 12's runtime, which takes no allocator locks
  // around fork) a thread still in its sanitizer start-up at fork() left an allocator lock held
  // in the child, and every thread the child started then hung (gdb: both in
  // AsanThread::Init -> pthread_getattr_np -> free); glibc's malloc is fork-safe, so only the
  // sanitized build was affected.
  ASSERT_TRUE(warm.xq->Drain(5 * kSecond).ok());
  ExpectChildReturnsZero([&] {
    int rc = 0;
    {
      FakeQueue soft(32), hw(32);
      FakeCp cp(&hw, 4);
      auto xq = XQueue::Create(FakeOps(), &soft.q, &hw.q, Opts(4, 2), nullptr, nullptr);
      if (!xq) return 2;
      for (int i = 0; i < 200; ++i) {
        if (SubmitKernel(&soft, xq.get(), 10'000, {0}, false) == UINT64_MAX) _exit(3);
      }
      if (!WaitFor([&] { return cp.app_completed.load() == 200; }, 5000)) rc = 4;
      if (cp.order_errors.load() != 0) rc = 5;
      if (!xq->Drain(kSecond).ok()) rc = 6;
    }
    return rc;
  });
}

}  // namespace
}  // namespace hsapreempt::xq::test
