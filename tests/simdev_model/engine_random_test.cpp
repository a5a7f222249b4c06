// Randomised operation sequences on the engine, checking its invariants after every step and that
// all work completes exactly once when every queue is finally allowed to run.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>

#include "simdev/model/engine.h"

namespace simdev {
namespace {

// Slots are conserved: each is either free or held by exactly one running/saving batch, and the
// counters agree with the tables.
void CheckInvariants(const DeviceState& s) {
  SlotSet held{};
  uint32_t held_count = 0;
  std::map<int, uint32_t> running, saved;
  for (uint32_t i = 0; i < s.active_count; ++i) {
    const BatchEntry& b = s.batches[s.active_batches[i]];
    ASSERT_TRUE(b.state == kBatchRunning || b.state == kBatchSaving);
    ASSERT_EQ(b.active_pos, i);
    uint32_t n = 0;
    for (uint32_t w = b.lo_word; w <= b.hi_word && b.lo_word <= b.hi_word; ++w) {
      ASSERT_EQ(held.w[w] & b.slots.w[w], 0u) << "slot held twice";
      ASSERT_EQ(s.free.w[w] & b.slots.w[w], 0u) << "held slot also free";
      held.w[w] |= b.slots.w[w];
      n += __builtin_popcountll(b.slots.w[w]);
    }
    ASSERT_EQ(n, b.wgs);
    held_count += n;
    (b.state == kBatchRunning ? running : saved)[b.queue] += b.wgs;
  }
  uint32_t free_bits = 0;
  for (uint32_t w = 0; w < kSlotWords; ++w) free_bits += __builtin_popcountll(s.free.w[w]);
  ASSERT_EQ(free_bits, s.free_count);
  ASSERT_EQ(s.free_count + held_count, s.total_slots);
  for (uint32_t q = 0; q < kMaxQueues; ++q) {
    const QueueEntry& e = s.queues[q];
    if (!e.in_use) continue;
    uint32_t sv = saved[static_cast<int>(q)];
    for (int b = e.saved_head; b >= 0; b = s.batches[b].next) {
      ASSERT_EQ(s.batches[b].state, static_cast<uint32_t>(kBatchSaved));
      sv += s.batches[b].wgs;
    }
    ASSERT_EQ(e.running_wgs, running[static_cast<int>(q)]);
    ASSERT_EQ(e.saved_wgs, sv);
  }
}

class EngineRandomTest : public ::testing::TestWithParam<int> {};

TEST_P(EngineRandomTest, InvariantsHoldAndAllWorkCompletes) {
  std::mt19937_64 rng(static_cast<uint64_t>(GetParam()));
  auto state = std::make_unique<DeviceState>();
  ModelConfig c{};
  c.cus = 1 + rng() % 70;  // crosses a 64-bit word boundary
  c.slots_per_cu = 1 + rng() % 2;
  c.engine_clock_mhz = 1000;
  c.runlist_update_ns = rng() % 200;
  c.cwsr_save_ns = rng() % 100;
  c.cwsr_restore_ns = rng() % 100;
  Engine::Init(state.get(), c);
  Engine e(state.get());
  std::vector<int> queues;
  struct Launched {
    uint64_t handle;
    int queue;
  };
  std::vector<Launched> live;
  uint64_t now = 0;
  int ended = 0, dropped = 0, launched = 0;
  for (int step = 0; step < 3000; ++step) {
    now += rng() % 300;
    int op = static_cast<int>(rng() % 100);
    if (queues.size() < 2 || (op < 5 && queues.size() < 8)) {
      int q = e.AddQueue(1, 0, static_cast<uint32_t>(step), 0, 4096, 0, now);
      ASSERT_GE(q, 0);
      queues.push_back(q);
    } else if (op < 50) {
      KernelWork w;
      w.workgroups = 1 + rng() % (3 * c.cus);
      w.workgroup_ns = rng() % 2000;
      int q = queues[rng() % queues.size()];
      uint64_t h = e.Launch(q, w, now);
      ASSERT_NE(h, 0u);
      live.push_back({h, q});
      ++launched;
    } else if (op < 65) {
      e.SetActive(queues[rng() % queues.size()], rng() % 2 == 0, now);
    } else if (op < 78) {
      int q = queues[rng() % queues.size()];
      e.SetSuspended(&q, 1, rng() % 2 == 0, rng() % 500, now);
    } else if (op < 86) {
      uint32_t mask[3] = {static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()),
                          static_cast<uint32_t>(rng())};
      e.SetCuMask(queues[rng() % queues.size()], mask, 96, now);
    } else if (op < 88 && queues.size() > 2) {
      size_t i = rng() % queues.size();
      int q = queues[i];
      e.RemoveQueue(q, now);
      queues.erase(queues.begin() + static_cast<long>(i));
      for (size_t k = 0; k < live.size();) {
        if (live[k].queue == q) {
          DispatchTimes t;
          ASSERT_TRUE(e.Poll(live[k].handle, now, &t));  // dropped
          live.erase(live.begin() + static_cast<long>(k));
          ++dropped;
        } else {
          ++k;
        }
      }
    } else {
      for (size_t k = 0; k < live.size();) {
        DispatchTimes t;
        if (e.Poll(live[k].handle, now, &t)) {
          ASSERT_LE(t.start_ns, t.end_ns);
          ASSERT_LE(t.end_ns, now);
          live.erase(live.begin() + static_cast<long>(k));
          ++ended;
        } else {
          ++k;
        }
      }
    }
    CheckInvariants(*state);
    if (HasFatalFailure()) return;
  }
  // Let everything run: all queues active, unsuspended, full masks.
  uint32_t full[3] = {~0u, ~0u, ~0u};
  for (int q : queues) {
    e.SetSuspended(&q, 1, false, 0, now);
    e.SetActive(q, true, now);
    e.SetCuMask(q, full, 96, now);
  }
  for (Launched& l : live) {
    DispatchTimes t;
    bool done = false;
    for (int i = 0; i < 1000000 && !done; ++i) {
      done = e.Poll(l.handle, now, &t);
      if (done) break;
      uint64_t next = e.NextEventTime(now);
      ASSERT_NE(next, UINT64_MAX) << "work left but no event pending";
      now = std::max(now, next);
    }
    ASSERT_TRUE(done);
    ASSERT_LE(t.start_ns, t.end_ns);
    ++ended;
  }
  CheckInvariants(*state);
  EXPECT_EQ(state->free_count, state->total_slots);
  EXPECT_EQ(state->active_count, 0u);
  EXPECT_EQ(ended + dropped, launched);
}

INSTANTIATE_TEST_SUITE_P(Seeds, EngineRandomTest, ::testing::Range(1, 21));

}  // namespace
}  // namespace simdev
