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

#include "tools/report/table.h"
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
  int round = 0;  // 0-based; written (1-based) only for runs set aside (WriteRounds)
  bool ok = false;
  size_t count = 0;
  double p50 = 0, p99 = 0, steal = NAN;
};

inline RoundFigures FiguresOf(bool ok, const std::vector<double>& samples, double steal,
                              int round = 0) {
  RoundFigures f;
  f.round = round;
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

// --max-steal (bench preempt, bench two-model): a run during which the hypervisor stole more than
// `max_steal` (a share, e.g. 0.10) of the machine's CPU time is measured again. Steal is a host
// disturbance the tool can neither cause nor fix, and on a 2-core VM one stolen run of four decides
// a cell's P99 (measured: rounds of 13-17% steal had P99s 5-29x their cell's quiet rounds,
// docs/level2_feasibility.md §6.6). `first` is the run already taken; `measure()` takes another on
// a fresh device. Up to `attempts` runs in all; the run kept is the first within the limit, else
// the least stolen of the ones that succeeded (a failed run is never preferred to a stolen one).
// Every other run goes to `set_aside`, so the output can show what was not counted. Run has `ok`;
// `steal_of(run)` is its steal share (NaN: unknown, e.g. bare metal: never measured again), so
// max_steal >= 1 never remeasures.
template <typename Run, typename MeasureFn, typename StealFn>
Run RemeasureWhileStolen(Run first, double max_steal, int attempts, MeasureFn measure,
                         StealFn steal_of, std::vector<Run>* set_aside) {
  auto stolen = [&](const Run& r) {
    return r.ok && std::isfinite(steal_of(r)) && steal_of(r) > max_steal;
  };
  Run kept = std::move(first);
  for (int taken = 1; taken < attempts && stolen(kept); ++taken) {
    Run next = measure();
    // A NaN steal counts as within the limit.
    if (next.ok && !(steal_of(next) >= steal_of(kept))) std::swap(kept, next);
    set_aside->push_back(std::move(next));
  }
  return kept;
}

// The benches' limit: runs of a measurement in all, the first included. Three bound the cost to
// a cell's triple; on this VM a stolen stretch lasted one run in every case seen.
constexpr int kStealAttempts = 3;
constexpr double kDefaultMaxSteal = 0.10;

#define HSAPREEMPT_MAX_STEAL_USAGE                                                            \
  "  --max-steal PCT    measure a run again (on a fresh device, up to 3 runs in all) when the\n" \
  "                     hypervisor stole more than PCT% of the CPU during it; the runs set\n"   \
  "                     aside are listed (default 10; --quick 100: never)\n"

// The line above a table saying which runs were measured again ("" when --max-steal is off).
inline std::string MaxStealLine(double max_steal, const char* what) {
  if (max_steal >= 1) return "";
  return Format("max steal: %.1f%%; %s with more hypervisor steal was measured again on a fresh "
                "device (up to %d runs; the least stolen kept; the others are in the JSON's "
                "set_aside_for_steal)",
                100 * max_steal, what, kStealAttempts);
}

// config's `max_steal`: the share, or null when --max-steal is off.
inline void WriteMaxSteal(double max_steal, json::Writer* w) {
  w->Key("max_steal");
  if (max_steal < 1) w->Number(max_steal); else w->Null();
}

// " (N runs set aside for steal)" for a status column, "" for none.
inline std::string SetAsideNote(size_t n) {
  if (n == 0) return "";
  return " (" + std::to_string(n) + (n == 1 ? " run" : " runs") + " set aside for steal)";
}

// Writes `key` (default "rounds"): [{ok, <count_key>, <p50_key>, <p99_key>, host_steal}, ...],
// each with its 1-based `round` first when `with_round` (runs set aside: their rounds recur).
inline void WriteRounds(const std::vector<RoundFigures>& rounds, const char* count_key,
                        const char* p50_key, const char* p99_key, json::Writer* w,
                        const char* key = "rounds", bool with_round = false) {
  w->Key(key).BeginArray();
  for (const RoundFigures& f : rounds) {
    w->BeginObject();
    if (with_round) w->Field("round", f.round + 1);
    w->Field("ok", f.ok).Field(count_key, static_cast<uint64_t>(f.count));
    w->Field(p50_key, f.p50).Field(p99_key, f.p99);
    w->Field("host_steal", f.steal).EndObject();
  }
  w->EndArray();
}

}  // namespace hsapreempt::tools::report

#endif  // TOOLS_REPORT_ROUNDS_H_
