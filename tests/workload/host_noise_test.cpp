#include "tools/support/host_noise.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>

#include <cmath>

namespace hsapreempt::tools {
namespace {

TEST(HostNoiseTest, ParsesTheCpuLineWithSteal) {
  // Two CPU lines after the aggregate one: only the aggregate counts.
  CpuTimes t = ParseCpuTimes(
      "cpu  100 20 30 400 5 0 6 40 7 0\ncpu0 50 10 15 200 2 0 3 20 0 0\nintr 1 2 3\n");
  ASSERT_TRUE(t.ok);
  EXPECT_EQ(t.total, 100u + 20 + 30 + 400 + 5 + 0 + 6 + 40);  // guest time is inside user
  EXPECT_EQ(t.steal, 40u);
}

TEST(HostNoiseTest, OldKernelsHaveNoStealAndGarbageIsRefused) {
  CpuTimes old = ParseCpuTimes("cpu  1 2 3 4\n");
  ASSERT_TRUE(old.ok);
  EXPECT_EQ(old.total, 10u);
  EXPECT_EQ(old.steal, 0u);
  EXPECT_FALSE(ParseCpuTimes("cpu  1 x\n").ok);
  EXPECT_FALSE(ParseCpuTimes("intr 1 2 3\n").ok);
  EXPECT_FALSE(ParseCpuTimes("").ok);
}

TEST(HostNoiseTest, StealFractionIsTheShareOfTicksBetweenReadings) {
  CpuTimes a = ParseCpuTimes("cpu  100 0 0 100 0 0 0 0\n");
  CpuTimes b = ParseCpuTimes("cpu  150 0 0 130 0 0 0 20\n");
  EXPECT_DOUBLE_EQ(StealFraction(a, b), 20.0 / 100.0);
  EXPECT_TRUE(std::isnan(StealFraction(a, a)));        // no tick passed
  EXPECT_TRUE(std::isnan(StealFraction(b, a)));        // readings swapped
  EXPECT_TRUE(std::isnan(StealFraction(CpuTimes{}, b)));  // a failed reading
  EXPECT_EQ(FormatSteal(0.0314), "3.1%");
  EXPECT_EQ(FormatSteal(NAN), "-");
}

TEST(HostNoiseTest, ReadsThisMachine) {
  CpuTimes t = ReadCpuTimes();
  ASSERT_TRUE(t.ok);  // Linux has /proc/stat
  EXPECT_GT(t.total, 0u);
  EXPECT_LE(t.steal, t.total);
}

TEST(HostNoiseTest, WakeupCheckMeasuresEverySleepAndRestoresTheTimerSlack) {
  prctl(PR_SET_TIMERSLACK, 12345, 0, 0, 0);
  WakeupCheck c = CheckWakeups(0.05, 1000000);
  EXPECT_EQ(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), 12345);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.period_ns, 1000000u);
  // 50 ms of 1 ms sleeps: at most 50 wake-ups (each sleep lasts at least its period), at least one.
  EXPECT_GE(c.late_ns.count, 1u);
  EXPECT_LE(c.late_ns.count, 50u);
  EXPECT_GE(c.seconds, 0.05);
  EXPECT_GE(c.late_ns.min, 0);
  EXPECT_LE(c.late_ns.p50, c.late_ns.p99);
  EXPECT_LE(c.late_ns.p99, c.late_ns.max);
  EXPECT_NE(DescribeWakeupCheck(c).find("timer wake-ups late by P50"), std::string::npos);

  json::Writer w;
  WriteWakeupCheck(c, &w);
  json::Value v;
  std::string error;
  ASSERT_TRUE(json::Parse(w.str(), &v, &error)) << error;
  EXPECT_EQ(v.Get("period_ns").AsNumber(), 1e6);
  EXPECT_EQ(v.Get("late_ns").Get("count").AsNumber(), static_cast<double>(c.late_ns.count));
  EXPECT_TRUE(v.Get("steal").is_number() || v.Get("steal").is_null());
}

TEST(HostNoiseTest, AnEmptyCheckSaysSo) {
  WakeupCheck c = CheckWakeups(0, 1000000);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(DescribeWakeupCheck(c), "timer wake-up check: not measured");
}

}  // namespace
}  // namespace hsapreempt::tools
