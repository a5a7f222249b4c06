#include "tools/support/stats.h"

#include <algorithm>
#include <cmath>

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

Summary Summarize(const std::vector<double>& samples) {
  Summary s;
  if (samples.empty()) return s;
  std::vector<double> sorted(samples);
  std::sort(sorted.begin(), sorted.end());
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

void WriteSummary(const Summary& s, const char* key, json::Writer* w) {
  w->Key(key).BeginObject().Field("count", static_cast<uint64_t>(s.count));
  w->Field("mean", s.mean).Field("p50", s.p50).Field("p90", s.p90).Field("p95", s.p95);
  w->Field("p99", s.p99).Field("max", s.max).Field("min", s.min).EndObject();
}

}  // namespace hsapreempt::tools
