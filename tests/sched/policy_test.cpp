// Policies as pure functions: decisions on hand-built snapshots, and shares over simulated time.
#include "sched/policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace hsapreempt::sched {
namespace {

using common::PolicyChoice;

QueueView Q(uint64_t id, int prio, bool work, uint32_t weight = 1, uint64_t deadline_us = 0,
            uint64_t busy_since = 0) {
  QueueView v;
  v.id = id;
  v.pid = 100 + static_cast<int>(id);
  v.priority = prio;
  v.has_work = work;
  v.weight = weight;
  v.deadline_us = deadline_us;
  v.busy_since_ns = busy_since;
  return v;
}

std::vector<bool> Decide(PolicyChoice c, const std::vector<QueueView>& qs, uint64_t now = 0) {
  Decision d;
  MakePolicy(c)->Decide(qs, now, &d);
  EXPECT_EQ(d.suspend.size(), qs.size());
  return d.suspend;
}

TEST(PriorityPolicyTest, HigherQueueWithWorkSuspendsAllLowerOnes) {
  auto s = Decide(PolicyChoice::kPriority,
                  {Q(1, 90, true), Q(2, 50, true), Q(3, 10, false), Q(4, 90, false)});
  EXPECT_EQ(s, (std::vector<bool>{false, true, true, false}));
}

TEST(PriorityPolicyTest, EqualPrioritiesAllRun) {
  auto s = Decide(PolicyChoice::kPriority, {Q(1, 60, true), Q(2, 60, true), Q(3, 60, false)});
  EXPECT_EQ(s, (std::vector<bool>{false, false, false}));
}

TEST(PriorityPolicyTest, IdleHighQueueHoldsNobody) {
  auto s = Decide(PolicyChoice::kPriority, {Q(1, 90, false), Q(2, 10, true)});
  EXPECT_EQ(s, (std::vector<bool>{false, false}));
  s = Decide(PolicyChoice::kPriority, {Q(1, 90, false), Q(2, 10, false)});
  EXPECT_EQ(s, (std::vector<bool>{false, false}));
}

TEST(PriorityPolicyTest, BusyMayPreemptOnlyWhenALowerQueueExists) {
  auto p = MakePolicy(PolicyChoice::kPriority);
  std::vector<QueueView> qs{Q(1, 90, false), Q(2, 10, false)};
  EXPECT_TRUE(p->BusyMayPreempt(qs, 1));
  EXPECT_FALSE(p->BusyMayPreempt(qs, 2));
}

std::vector<bool> Throttle(PolicyChoice c, const std::vector<QueueView>& qs) {
  Decision d;
  MakePolicy(c)->Decide(qs, 0, &d);
  EXPECT_EQ(d.throttle.size(), qs.size());
  return d.throttle;
}

TEST(PriorityPolicyTest, OnlyQueuesWithAHigherQueueOnTheBoardAreThrottled) {
  // Idle or busy, a higher queue may preempt: the lower ones keep Level-1's bound.
  EXPECT_EQ(Throttle(PolicyChoice::kPriority, {Q(1, 90, false), Q(2, 50, true), Q(3, 90, true)}),
            (std::vector<bool>{false, true, false}));
  EXPECT_EQ(Throttle(PolicyChoice::kPriority, {Q(1, 10, true)}), (std::vector<bool>{false}));
  EXPECT_EQ(Throttle(PolicyChoice::kPriority, {Q(1, 60, true), Q(2, 60, false)}),
            (std::vector<bool>{false, false}));
}

TEST(WeightedPolicyTest, EveryQueueIsThrottledOnlyWhenItHasCompany) {
  EXPECT_EQ(Throttle(PolicyChoice::kWeighted, {Q(1, 50, true)}), (std::vector<bool>{false}));
  EXPECT_EQ(Throttle(PolicyChoice::kWeighted, {Q(1, 50, true), Q(2, 50, false)}),
            (std::vector<bool>{true, true}));
}

TEST(EdfPolicyTest, ThrottledWhileAnotherQueueHasADeadline) {
  EXPECT_EQ(Throttle(PolicyChoice::kEdf, {Q(1, 50, true, 1, 1000), Q(2, 50, true)}),
            (std::vector<bool>{false, true}));
  EXPECT_EQ(Throttle(PolicyChoice::kEdf, {Q(1, 50, true, 1, 1000), Q(2, 50, true, 1, 500)}),
            (std::vector<bool>{true, true}));
  EXPECT_EQ(Throttle(PolicyChoice::kEdf, {Q(1, 50, true), Q(2, 50, true)}),
            (std::vector<bool>{false, false}));
}

TEST(EdfPolicyTest, EarliestAbsoluteDeadlineRunsOthersSuspended) {
  // q1: busy since 0 with 10 ms -> deadline 10 ms; q2: busy since 2 ms with 5 ms -> 7 ms.
  auto s = Decide(PolicyChoice::kEdf, {Q(1, 50, true, 1, 10000, 0),
                                       Q(2, 50, true, 1, 5000, 2000000), Q(3, 99, true),
                                       Q(4, 50, false, 1, 1000, 0)});
  EXPECT_EQ(s, (std::vector<bool>{true, false, true, true}));
}

TEST(EdfPolicyTest, NoDeadlineWorkHoldsNobody) {
  auto s = Decide(PolicyChoice::kEdf, {Q(1, 50, true), Q(2, 50, false, 1, 1000), Q(3, 10, true)});
  EXPECT_EQ(s, (std::vector<bool>{false, false, false}));
}

TEST(EdfPolicyTest, EqualDeadlinesBothRun) {
  auto s = Decide(PolicyChoice::kEdf, {Q(1, 50, true, 1, 1000, 5), Q(2, 50, true, 1, 1000, 5)});
  EXPECT_EQ(s, (std::vector<bool>{false, false}));
}

TEST(WeightedPolicyTest, AQueueAloneRunsFreelyAndIdleQueuesAreNotHeld) {
  auto s = Decide(PolicyChoice::kWeighted, {Q(1, 50, true, 1), Q(2, 50, false, 5)});
  EXPECT_EQ(s, (std::vector<bool>{false, false}));
}

TEST(WeightedPolicyTest, OneQueueRunsAtATimeWhenContended) {
  auto s = Decide(PolicyChoice::kWeighted, {Q(1, 50, true, 1), Q(2, 50, true, 1)});
  EXPECT_EQ(std::count(s.begin(), s.end(), true), 1);
}

// Simulates the scheduler: each step of `dt`, the queues not suspended and with work receive
// service; the policy decides again whenever its re-evaluation time has come.
std::vector<double> SimulateShares(std::vector<QueueView> qs, uint64_t duration_ns,
                                   uint64_t dt_ns) {
  auto p = MakePolicy(PolicyChoice::kWeighted);
  Decision d;
  uint64_t next = 0;
  for (uint64_t now = 0; now < duration_ns; now += dt_ns) {
    if (now >= next) {
      p->Decide(qs, now, &d);
      for (size_t i = 0; i < qs.size(); ++i) qs[i].suspended = d.suspend[i];
      next = d.reevaluate_at_ns ? d.reevaluate_at_ns : now + 1000000;
    }
    for (QueueView& q : qs) {
      if (q.has_work && !q.suspended) q.service_ns += dt_ns;
    }
  }
  double total = 0;
  for (const QueueView& q : qs) total += static_cast<double>(q.service_ns);
  std::vector<double> shares;
  for (const QueueView& q : qs) shares.push_back(static_cast<double>(q.service_ns) / total);
  return shares;
}

TEST(WeightedPolicyTest, ContendedQueuesGetTheirWeightsShare) {
  auto shares = SimulateShares({Q(1, 50, true, 3), Q(2, 50, true, 1)}, 2'000'000'000, 10'000);
  EXPECT_NEAR(shares[0], 0.75, 0.02);
  EXPECT_NEAR(shares[1], 0.25, 0.02);
  shares = SimulateShares({Q(1, 50, true, 1), Q(2, 50, true, 2), Q(3, 50, true, 5)},
                          2'000'000'000, 10'000);
  EXPECT_NEAR(shares[0], 1.0 / 8, 0.02);
  EXPECT_NEAR(shares[1], 2.0 / 8, 0.02);
  EXPECT_NEAR(shares[2], 5.0 / 8, 0.02);
}

TEST(WeightedPolicyTest, SwitchesAtMostOncePerQuantum) {
  std::vector<QueueView> qs{Q(1, 50, true, 1), Q(2, 50, true, 1)};
  auto p = MakePolicy(PolicyChoice::kWeighted);
  Decision d;
  int switches = 0;
  int running = -1;
  uint64_t next = 0;
  for (uint64_t now = 0; now < 1'000'000'000; now += 10'000) {
    if (now >= next) {
      p->Decide(qs, now, &d);
      for (size_t i = 0; i < qs.size(); ++i) qs[i].suspended = d.suspend[i];
      int r = d.suspend[0] ? 1 : 0;
      if (running >= 0 && r != running) ++switches;
      running = r;
      next = d.reevaluate_at_ns;
    }
    qs[running].service_ns += 10'000;
  }
  EXPECT_GT(switches, 10);
  EXPECT_LE(switches, 1'000'000'000 / static_cast<int>(kWeightedQuantumNs) + 1);
}

TEST(WeightedPolicyTest, CatchUpDeniesCreditForIdleTimeBeyondOneQuantum) {
  constexpr uint64_t kMs = 1'000'000;
  std::vector<QueueView> qs{Q(1, 50, true, 1), Q(2, 50, true, 2), Q(3, 50, true, 4)};
  qs[0].service_ns = 100 * kMs;
  qs[1].service_ns = 500 * kMs;  // virtual time 250 ms
  qs[2].service_ns = 0;          // just became busy after a long idle period
  // Min other virtual time (100 ms) * weight 4, less one quantum of credit.
  EXPECT_EQ(CatchUpService(qs, 2), 400 * kMs - kWeightedQuantumNs);
  EXPECT_EQ(CatchUpService(qs, 1), 500 * kMs);  // already ahead: unchanged
  qs[2].service_ns = 400 * kMs - kWeightedQuantumNs / 2;  // a brief gap: keeps its credit
  EXPECT_EQ(CatchUpService(qs, 2), 400 * kMs - kWeightedQuantumNs / 2);
  qs[0].has_work = qs[1].has_work = false;
  qs[2].service_ns = 0;
  EXPECT_EQ(CatchUpService(qs, 2), 0u);  // alone: unchanged
}

}  // namespace
}  // namespace hsapreempt::sched
