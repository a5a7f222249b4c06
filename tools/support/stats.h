// Summary statistics of latency samples, the same definition in every tool and benchmark.
//
// Percentile: nearest-rank on the sorted samples (the smallest sample such that at least p% of
// the samples are <= it; p in (0, 100]): P100 is the max, and with 100 samples P99 is the 99th
// smallest. No interpolation, so every reported figure is a latency that was actually observed.
#ifndef TOOLS_SUPPORT_STATS_H_
#define TOOLS_SUPPORT_STATS_H_

#include <cstddef>
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

}  // namespace hsapreempt::tools

#endif  // TOOLS_SUPPORT_STATS_H_
