#include "tools/support/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace hsapreempt::tools {

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  if (p <= 0) return sorted.front();
  if (p >= 100) return sorted.back();
  // Rank = ceil(p/100 * n), 1-based. The small epsilon keeps e.g. 0.95*100 from rounding up to 96.
  double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()) - 1e-9);
  size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

namespace {

Summary SummarizeSorted(const std::vector<double>& sorted) {
  Summary s;
  if (sorted.empty()) return s;
  s.count = sorted.size();
  s.min = sorted.front();
  s.max = sorted.back();
  double sum = 0;
  for (double v : sorted) sum += v;
  s.mean = sum / static_cast<double>(sorted.size());
  s.p50 = Percentile(sorted, 50);
  s.p90 = Percentile(sorted, 90);
  s.p95 = Percentile(sorted, 95);
  s.p99 = Percentile(sorted, 99);
  return s;
}

}  // namespace

Summary Summarize(const std::vector<double>& samples) {
  std::vector<double> sorted(samples);
  std::sort(sorted.begin(), sorted.end());
  return SummarizeSorted(sorted);
}

namespace {

// P(B <= k) for k = 0..n, B ~ Binomial(n, q), summed in log space (n is up to ~1e5 here, so
// (1-q)^n underflows a direct product).
std::vector<double> BinomialCdf(size_t n, double q) {
  std::vector<double> cdf(n + 1);
  const double lq = std::log(q), l1q = std::log1p(-q), lgn = std::lgamma(n + 1.0);
  double sum = 0;
  for (size_t k = 0; k <= n; ++k) {
    const double kd = static_cast<double>(k), rest = static_cast<double>(n - k);
    sum += std::exp(lgn - std::lgamma(kd + 1) - std::lgamma(rest + 1) + kd * lq + rest * l1q);
    cdf[k] = std::min(sum, 1.0);
  }
  return cdf;
}

}  // namespace

Interval PercentileInterval(const std::vector<double>& sorted, double p, double confidence) {
  Interval r;
  const size_t n = sorted.size();
  const double q = p / 100.0, tail = (1 - confidence) / 2;
  if (n == 0 || !(q > 0 && q < 1) || !(tail > 0 && tail < 0.5)) return r;
  // X(l) <= true percentile <= X(u) unless B <= l-1 or B >= u (B = samples below it), so take
  // the largest l with P(B <= l-1) <= tail and the smallest u with P(B <= u-1) >= 1 - tail.
  const std::vector<double> cdf = BinomialCdf(n, q);
  for (size_t l = n; l >= 1; --l) {
    if (cdf[l - 1] <= tail) {
      r.lo = sorted[l - 1];
      break;
    }
  }
  for (size_t u = 1; u <= n; ++u) {
    if (cdf[u - 1] >= 1 - tail) {
      r.hi = sorted[u - 1];
      break;
    }
  }
  return r;
}

Distribution Describe(std::vector<double> samples) {
  Distribution d;
  d.samples = std::move(samples);
  std::vector<double> sorted(d.samples);
  std::sort(sorted.begin(), sorted.end());
  d.s = SummarizeSorted(sorted);
  d.p50_ci = PercentileInterval(sorted, 50, kCi);
  d.p99_ci = PercentileInterval(sorted, 99, kCi);
  d.p50_side = PercentileInterval(sorted, 50, kCiSide);
  d.p99_side = PercentileInterval(sorted, 99, kCiSide);
  return d;
}

size_t MinSamplesToBound(double p, double confidence) {
  // The upper side is bounded once P(B <= n-1) = 1 - q^n >= 1 - tail, i.e. q^n <= tail.
  const double q = p / 100.0, tail = (1 - confidence) / 2;
  if (!(q > 0 && q < 1) || !(tail > 0 && tail < 0.5)) return 0;
  size_t n = static_cast<size_t>(std::ceil(std::log(tail) / std::log(q)));
  while (std::pow(q, static_cast<double>(n)) > tail) ++n;  // against rounding either way
  while (n > 1 && std::pow(q, static_cast<double>(n - 1)) <= tail) --n;
  return n;
}

Interval RatioInterval(const Interval& a, const Interval& b) {
  Interval r;
  r.lo = std::isfinite(a.lo) && a.lo > 0 && std::isfinite(b.hi) && b.hi > 0 ? a.lo / b.hi : 0;
  if (std::isfinite(a.hi) && std::isfinite(b.lo) && b.lo > 0) r.hi = a.hi / b.lo;
  return r;
}

std::string FormatInterval(const Interval& i, double unit, int decimals) {
  char lo[32], hi[32] = "inf";
  std::snprintf(lo, sizeof(lo), "%.*f", decimals, std::max(0.0, i.lo / unit));
  if (std::isfinite(i.hi)) std::snprintf(hi, sizeof(hi), "%.*f", decimals, i.hi / unit);
  return std::string(lo) + "-" + hi;
}

std::string CiSpansNote(const Interval& ratio_ci, double threshold) {
  if (ratio_ci.lo > threshold || ratio_ci.hi <= threshold) return "";
  char text[64];
  std::snprintf(text, sizeof(text), " (95%% CI spans %gx)", threshold);
  return text;
}

std::string RatioVerdict(const std::string& what, double limit,
                         const std::vector<RatioEstimate>& ratios) {
  bool met = true;
  for (const RatioEstimate& r : ratios) met &= r.value <= limit;
  bool in_doubt = !met;
  std::string figures;
  for (const RatioEstimate& r : ratios) {
    char figure[96];
    std::snprintf(figure, sizeof(figure), "%s%s %.2fx", figures.empty() ? "" : ", ",
                  r.name.c_str(), r.value);
    figures += figure;
    const bool spans = !CiSpansNote(r.ci, limit).empty();
    if (met) {
      in_doubt |= spans;
    } else if (r.value > limit) {
      in_doubt &= spans;
    }
  }
  return what + ": " + (met ? "met" : "missed") + " (" + figures + ")" +
         (in_doubt ? CiSpansNote(Interval{}, limit) : "");
}

void WriteInterval(const Interval& i, const char* key, json::Writer* w) {
  w->Key(key).BeginArray().Number(i.lo).Number(i.hi).EndArray();
}

void WriteSummary(const Summary& s, const char* key, json::Writer* w) {
  w->Key(key).BeginObject().Field("count", static_cast<uint64_t>(s.count));
  w->Field("mean", s.mean).Field("p50", s.p50).Field("p90", s.p90).Field("p95", s.p95);
  w->Field("p99", s.p99).Field("max", s.max).Field("min", s.min).EndObject();
}

}  // namespace hsapreempt::tools
