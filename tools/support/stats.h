// Summary statistics of latency samples, the same definition in every tool and benchmark.
//
// Percentile: nearest-rank on the sorted samples (the smallest sample such that at least p% of
// the samples are <= it; p in (0, 100]): P100 is the max, and with 100 samples P99 is the 99th
// smallest. No interpolation, so every reported figure is a latency that was actually observed.
#ifndef TOOLS_SUPPORT_STATS_H_
#define TOOLS_SUPPORT_STATS_H_

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "tools/support/json.h"

namespace hsapreempt::tools {

struct Summary {
  size_t count = 0;
  double min = 0, max = 0, mean = 0;
  double p50 = 0, p90 = 0, p95 = 0, p99 = 0;
};

// Nearest-rank percentile of `sorted` (ascending). 0 for an empty vector; p is clamped to [0,100]
// (p <= 0 gives the min).
double Percentile(const std::vector<double>& sorted, double p);

// Sorts a copy of `samples` and summarises it (all zeros when empty).
Summary Summarize(const std::vector<double>& samples);

// Writes `key`: {count, mean, p50, p90, p95, p99, max, min}.
void WriteSummary(const Summary& s, const char* key, json::Writer* w);

// The mean of the finite values added; NaN (unknown, e.g. a host without a steal figure) stays
// out, and the mean of none is NaN.
struct FiniteMean {
  double sum = 0;
  int n = 0;
  void Add(double v) {
    if (std::isfinite(v)) sum += v, ++n;
  }
  double value() const { return n > 0 ? sum / n : std::numeric_limits<double>::quiet_NaN(); }
};

// A confidence interval; a side the samples cannot bound is -inf / +inf (JSON: null).
struct Interval {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
};

// Distribution-free confidence interval of the p-th percentile of the distribution `sorted`
// (ascending) was drawn from: order statistics [X(l), X(u)], with the ranks l < u taken from
// Binomial(n, p/100), the count of samples below the true percentile, so that each tail holds at
// most (1 - confidence) / 2. Nothing is assumed about the distribution, which for latencies on a
// noisy host has no useful shape. A side n samples cannot bound stays infinite: the upper side of
// a P99 at 95% needs >= 367 samples (MinSamplesToBound).
Interval PercentileInterval(const std::vector<double>& sorted, double p, double confidence);

// Confidence of the benchmarks' percentile intervals; a ratio's interval combines two kCiSide ones
// (RatioInterval, Bonferroni), so it holds with >= kCi too.
constexpr double kCi = 0.95, kCiSide = 0.975;

// A latency distribution as the benchmarks judge it: the samples (in their order), their summary,
// the kCi intervals of the P50 and P99, and the kCiSide ones a ratio's interval is made of.
struct Distribution {
  std::vector<double> samples;
  Summary s;
  Interval p50_ci, p99_ci;
  Interval p50_side, p99_side;
};

// Sorts one copy of `samples` for the summary and all four intervals.
Distribution Describe(std::vector<double> samples);

// The fewest samples for which PercentileInterval(.., p, confidence) has a finite upper side.
size_t MinSamplesToBound(double p, double confidence);

// Interval of a / b for positive a and b from intervals of each: [a.lo / b.hi, a.hi / b.lo].
// It holds with probability >= 1 - (1 - ca) - (1 - cb) (Bonferroni: two 97.5% intervals give
// >= 95%). An unbounded or non-positive side gives 0 / +inf.
Interval RatioInterval(const Interval& a, const Interval& b);

// " (95% CI spans Tx)" when `ratio_ci` contains the threshold T (so the host's noise could have
// decided a verdict taken on the point estimate against T), else "".
std::string CiSpansNote(const Interval& ratio_ci, double threshold);

// A ratio of two measurements (e.g. a P99 over a reference P99) and its interval (RatioInterval).
struct RatioEstimate {
  std::string name;  // "P99"
  double value = 0;
  Interval ci;
};

// "<what>: met (P50 1.02x, P99 0.97x)" or "...: missed (...)": met iff every estimate is <= limit,
// judged on the point estimates; " (95% CI spans <limit>x)" is appended when the noise could have
// flipped the verdict: met, and some interval reaches above the limit; or missed, and every
// estimate above the limit has an interval reaching down to it.
std::string RatioVerdict(const std::string& what, double limit,
                         const std::vector<RatioEstimate>& ratios);

// "lo-hi" of a non-negative quantity in units of `unit` (e.g. 1000 for ns -> us) with `decimals`
// digits: an unbounded lower side prints as 0, an unbounded upper side as "inf".
std::string FormatInterval(const Interval& i, double unit, int decimals);

// Writes `key`: [lo, hi] (an unbounded side as null).
void WriteInterval(const Interval& i, const char* key, json::Writer* w);

}  // namespace hsapreempt::tools

#endif  // TOOLS_SUPPORT_STATS_H_
