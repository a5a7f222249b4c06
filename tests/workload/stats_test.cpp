#include "tools/support/stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

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

std::vector<double> OneTo(size_t n) {
  std::vector<double> v;
  for (size_t i = 1; i <= n; ++i) v.push_back(static_cast<double>(i));
  return v;
}

TEST(StatsTest, MedianIntervalMatchesTheBinomialTable) {
  // n = 100, median, 95%: the textbook ranks are 40 and 61 (P(B <= 39) = 0.018,
  // P(B <= 60) = 0.982 for B ~ Binomial(100, 0.5)).
  Interval i = PercentileInterval(OneTo(100), 50, 0.95);
  EXPECT_EQ(i.lo, 40);
  EXPECT_EQ(i.hi, 61);
  // Narrower with more samples, wider with more confidence.
  Interval big = PercentileInterval(OneTo(10000), 50, 0.95);
  EXPECT_GT(big.lo, 4800);
  EXPECT_LT(big.hi, 5200);
  Interval sure = PercentileInterval(OneTo(100), 50, 0.999);
  EXPECT_LT(sure.lo, i.lo);
  EXPECT_GT(sure.hi, i.hi);
}

TEST(StatsTest, P99UpperSideNeedsEnoughSamples) {
  const size_t need = MinSamplesToBound(99, 0.95);
  EXPECT_EQ(need, 368u);  // 0.99^368 = 0.0248 <= 0.025 < 0.99^367
  Interval short_run = PercentileInterval(OneTo(need - 1), 99, 0.95);
  EXPECT_TRUE(std::isinf(short_run.hi));
  EXPECT_TRUE(std::isfinite(short_run.lo));
  EXPECT_LT(short_run.lo, Percentile(OneTo(need - 1), 99));
  Interval enough = PercentileInterval(OneTo(need), 99, 0.95);
  EXPECT_EQ(enough.hi, static_cast<double>(need));  // the max, and only just
  Interval many = PercentileInterval(OneTo(100000), 99, 0.95);
  EXPECT_GT(many.lo, 98800);
  EXPECT_LT(many.hi, 99200);
  EXPECT_EQ(MinSamplesToBound(99, 0.975), 437u);  // the ratio's two 97.5% sides
}

TEST(StatsTest, IntervalCoversTheTruePercentileAsOftenAsItSays) {
  // 2000 draws of 400 exponential samples: the true P99 is ln(100).
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> exp1(1.0);
  const double truth = std::log(100.0);
  int covered = 0, draws = 2000;
  for (int d = 0; d < draws; ++d) {
    std::vector<double> v(400);
    for (double& x : v) x = exp1(rng);
    std::sort(v.begin(), v.end());
    Interval i = PercentileInterval(v, 99, 0.95);
    covered += i.lo <= truth && truth <= i.hi;
  }
  EXPECT_GE(covered, 0.94 * draws);  // >= 95% by construction; 1900 +- 20 by chance
}

TEST(StatsTest, BadArgumentsGiveAnUnboundedInterval) {
  for (Interval i : {PercentileInterval({}, 50, 0.95), PercentileInterval(OneTo(10), 0, 0.95),
                     PercentileInterval(OneTo(10), 100, 0.95),
                     PercentileInterval(OneTo(10), 50, 1.0)}) {
    EXPECT_TRUE(std::isinf(i.lo) && i.lo < 0);
    EXPECT_TRUE(std::isinf(i.hi) && i.hi > 0);
  }
  EXPECT_EQ(MinSamplesToBound(100, 0.95), 0u);
}

TEST(StatsTest, RatioInterval) {
  Interval a{2, 6}, b{1, 4};
  Interval r = RatioInterval(a, b);
  EXPECT_DOUBLE_EQ(r.lo, 0.5);
  EXPECT_DOUBLE_EQ(r.hi, 6);
  Interval open_b{1, std::numeric_limits<double>::infinity()};
  r = RatioInterval(a, open_b);
  EXPECT_EQ(r.lo, 0);
  EXPECT_DOUBLE_EQ(r.hi, 6);
  r = RatioInterval(Interval{2, std::numeric_limits<double>::infinity()}, b);
  EXPECT_DOUBLE_EQ(r.lo, 0.5);
  EXPECT_TRUE(std::isinf(r.hi));
  r = RatioInterval(a, Interval{0, 4});
  EXPECT_TRUE(std::isinf(r.hi));
}

TEST(StatsTest, CiSpansNoteOnlyWhenTheIntervalContainsTheThreshold) {
  EXPECT_EQ(CiSpansNote(Interval{0.9, 1.4}, 1.3), " (95% CI spans 1.3x)");
  EXPECT_EQ(CiSpansNote(Interval{1.31, 2}, 1.3), "");
  EXPECT_EQ(CiSpansNote(Interval{0.5, 1.3}, 1.3), "");  // hi == threshold: within it
  EXPECT_EQ(CiSpansNote(Interval{}, 1.1), " (95% CI spans 1.1x)");
}

TEST(StatsTest, RatioVerdictJudgesEstimatesAndSaysWhenNoiseCouldFlipIt) {
  const double inf = std::numeric_limits<double>::infinity();
  // Met, every interval within the limit.
  EXPECT_EQ(RatioVerdict("<=1.1x none", 1.1,
                         {{"P50", 1.02, {0.95, 1.08}}, {"P99", 0.9, {0.5, 1.1}}}),
            "<=1.1x none: met (P50 1.02x, P99 0.90x)");
  // Met on the estimates, but one interval reaches above the limit.
  EXPECT_EQ(RatioVerdict("<=1.1x none", 1.1,
                         {{"P50", 1.02, {0.95, 1.08}}, {"P99", 0.9, {0.4, 2}}}),
            "<=1.1x none: met (P50 1.02x, P99 0.90x) (95% CI spans 1.1x)");
  // Missed, and the miss is beyond the noise (P50's interval is all above the limit).
  EXPECT_EQ(RatioVerdict("<=1.1x none", 1.1,
                         {{"P50", 1.36, {1.25, 1.46}}, {"P99", 1.5, {0.3, inf}}}),
            "<=1.1x none: missed (P50 1.36x, P99 1.50x)");
  // Missed, but every failing estimate's interval reaches down to the limit.
  EXPECT_EQ(RatioVerdict("P99 <=2x D=0.1", 2, {{"P99", 3.02, {1.16, 4.94}}}),
            "P99 <=2x D=0.1: missed (P99 3.02x) (95% CI spans 2x)");
  // A passing estimate with a wide interval does not put a miss in doubt.
  EXPECT_EQ(RatioVerdict("x", 1.1, {{"P50", 1.3, {1.2, 1.4}}, {"P99", 1.0, {0, inf}}}),
            "x: missed (P50 1.30x, P99 1.00x)");
}

// Steal averaged over a benchmark's rounds: a run on a host without a steal figure (NaN) must not
// turn the mean unknown, nor count as zero.
TEST(StatsTest, FiniteMeanLeavesUnknownValuesOut) {
  FiniteMean m;
  EXPECT_TRUE(std::isnan(m.value()));
  m.Add(std::numeric_limits<double>::quiet_NaN());
  EXPECT_TRUE(std::isnan(m.value()));
  m.Add(0.1);
  m.Add(std::numeric_limits<double>::infinity());
  m.Add(0.3);
  EXPECT_EQ(m.n, 2);
  EXPECT_DOUBLE_EQ(m.value(), 0.2);
}

TEST(StatsTest, FormatIntervalScalesAndNamesUnboundedSides) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(FormatInterval(Interval{124400, 138600}, 1000, 0), "124-139");
  EXPECT_EQ(FormatInterval(Interval{0.444, inf}, 1, 2), "0.44-inf");
  EXPECT_EQ(FormatInterval(Interval{-inf, 2.5e6}, 1e6, 2), "0.00-2.50");
}

TEST(StatsTest, IntervalJsonWritesUnboundedAsNull) {
  json::Writer w;
  w.BeginObject();
  WriteInterval(Interval{1.5, std::numeric_limits<double>::infinity()}, "ci", &w);
  w.EndObject();
  EXPECT_EQ(w.str(), "{\"ci\":[1.5,null]}");
}

}  // namespace
}  // namespace hsapreempt::tools
