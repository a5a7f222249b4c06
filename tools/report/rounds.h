// --rounds N (bench preempt, bench two-model): every measurement of a sweep is taken as N runs,
// one per round, and each round runs the whole sweep, every other round backwards, so a drift of
// the host's noise over minutes falls on every cell alike (the targets judge cells against each
// other). A measurement adds up its rounds' runs (each bench's Add* functions, built on
// AddRoundOutcome) and is summarised once all are in; RoundFigures keeps each run's own figures
// for the JSON, to show how far apart the rounds were.
#ifndef TOOLS_REPORT_ROUNDS_H_
#define TOOLS_REPORT_ROUNDS_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/support/json.h"
#include "tools/support/stats.h"

namespace hsapreempt::tools::report {

// The step to run i-th of n in `round` (0-based): every other round backwards.
inline size_t RoundStep(size_t i, size_t n, int round) { return round % 2 == 0 ? i : n - 1 - i; }

// "round k: " to put before a run's error when there are several rounds; "" otherwise.
inline std::string RoundTag(int round, int rounds) {
  return rounds > 1 ? "round " + std::to_string(round + 1) + ": " : std::string();
}

// Folds one run's outcome into `total` (members `int runs`, `bool ok`, `std::string error`):
// every run must succeed, and the first failure's error is kept, tagged with its round. Returns
// run_ok: whether the run's figures are to be added.
template <typename Total>
bool AddRoundOutcome(bool run_ok, const std::string& run_error, int round, int rounds,
                     Total* total) {
  if (total->runs++ == 0) total->ok = true;
  if (!run_ok && total->ok) {
    total->ok = false;
    total->error = RoundTag(round, rounds) + run_error;
  }
  return run_ok;
}

inline void AppendSamples(const std::vector<double>& from, std::vector<double>* to) {
  to->insert(to->end(), from.begin(), from.end());
}

// One run's own figures: its sample count, P50 and P99 (zero when it failed) and steal.
struct RoundFigures {
  bool ok = false;
  size_t count = 0;
  double p50 = 0, p99 = 0, steal = NAN;
};

inline RoundFigures FiguresOf(bool ok, const std::vector<double>& samples, double steal) {
  RoundFigures f;
  f.ok = ok;
  f.steal = steal;
  if (ok) {
    const Summary s = Summarize(samples);
    f.count = s.count;
    f.p50 = s.p50;
    f.p99 = s.p99;
  }
  return f;
}

// Writes `rounds`: [{ok, <count_key>, <p50_key>, <p99_key>, host_steal}, ...].
inline void WriteRounds(const std::vector<RoundFigures>& rounds, const char* count_key,
                        const char* p50_key, const char* p99_key, json::Writer* w) {
  w->Key("rounds").BeginArray();
  for (const RoundFigures& f : rounds) {
    w->BeginObject().Field("ok", f.ok).Field(count_key, static_cast<uint64_t>(f.count));
    w->Field(p50_key, f.p50).Field(p99_key, f.p99);
    w->Field("host_steal", f.steal).EndObject();
  }
  w->EndArray();
}

}  // namespace hsapreempt::tools::report

#endif  // TOOLS_REPORT_ROUNDS_H_
