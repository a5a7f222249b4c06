#include "tools/support/stats.h"

#include <gtest/gtest.h>

namespace hsapreempt::tools {
namespace {

TEST(StatsTest, NearestRankPercentiles) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);  // 1..100, unsorted
  Summary s = Summarize(v);
  EXPECT_EQ(s.count, 100u);
  EXPECT_EQ(s.p50, 50);
  EXPECT_EQ(s.p90, 90);
  EXPECT_EQ(s.p95, 95);
  EXPECT_EQ(s.p99, 99);
  EXPECT_EQ(s.max, 100);
  EXPECT_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
}

TEST(StatsTest, SmallSamplesReportObservedValues) {
  Summary s = Summarize({10, 30, 20});
  EXPECT_EQ(s.p50, 20);  // rank ceil(1.5) = 2
  EXPECT_EQ(s.p99, 30);
  std::vector<double> one = {7};
  EXPECT_EQ(Percentile(one, 1), 7);
  EXPECT_EQ(Percentile(one, 100), 7);
  std::vector<double> sorted = {1, 2, 3, 4};
  EXPECT_EQ(Percentile(sorted, 0), 1);
  EXPECT_EQ(Percentile(sorted, 25), 1);
  EXPECT_EQ(Percentile(sorted, 26), 2);
  EXPECT_EQ(Percentile(sorted, 75), 3);
  EXPECT_EQ(Percentile(sorted, 150), 4);
}

TEST(StatsTest, EmptyIsAllZero) {
  Summary s = Summarize({});
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.p99, 0);
  EXPECT_EQ(Percentile({}, 50), 0);
}

}  // namespace
}  // namespace hsapreempt::tools
