// Flag parsing shared by the evaluation benchmarks: comma-separated number lists and level lists,
// strict (a bad element rejects the whole flag, with the element named), and FlagReader, the
// argument loop with the flags every benchmark has (--help, --quick, --json, --csv, --plot-dir).
#ifndef TOOLS_REPORT_BENCH_ARGS_H_
#define TOOLS_REPORT_BENCH_ARGS_H_

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tools/command.h"

#include "tools/report/placement.h"
#include "tools/report/rounds.h"
#include "tools/report/workload_child.h"
#include "tools/support/host_noise.h"

namespace hsapreempt::tools::report {

// "a,b,c" with each element a finite number in [lo, hi]. False (and *bad = the element) otherwise.
inline bool ParseNumberList(const std::string& text, double lo, double hi, std::vector<double>* out,
                            std::string* bad) {
  std::vector<double> values;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                     : comma - start);
    errno = 0;
    char* end = nullptr;
    double v = std::strtod(item.c_str(), &end);
    if (item.empty() || errno != 0 || *end != '\0' || !std::isfinite(v) || v < lo || v > hi) {
      *bad = item;
      return false;
    }
    values.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  *out = values;
  return true;
}

// "none,1,2,cumask" (any subset, any order; duplicates kept once).
inline bool ParseLevelList(const std::string& text, std::vector<Level>* out, std::string* bad) {
  std::vector<Level> levels;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                     : comma - start);
    Level level;
    if (!ParseLevelName(item, &level)) {
      *bad = item;
      return false;
    }
    bool dup = false;
    for (Level l : levels) dup |= (l == level);
    if (!dup) levels.push_back(level);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  *out = levels;
  return true;
}

// The flags every benchmark takes; FlagReader::TakeCommon fills them.
struct CommonFlags {
  bool files = true;  // --csv and --plot-dir are accepted (set false where there is no table)
  bool quick = false, json = false;
  std::string csv, plot_dir;
};

// Progress on stderr, one line a step: "[k/n] round r/R, <what>" (the round only with several;
// tools/report/rounds.h).
class Progress {
 public:
  explicit Progress(size_t steps) : steps_(steps) {}
  void SetRound(int round, int rounds) {
    tag_ = rounds > 1 ? "round " + std::to_string(round + 1) + "/" + std::to_string(rounds) + ", "
                      : std::string();
  }
  void AddStep() { ++steps_; }  // a step that was not planned (a retry)
  void operator()(const std::string& what) {
    std::fprintf(stderr, "[%zu/%zu] %s%s\n", ++step_, steps_, tag_.c_str(), what.c_str());
  }

 private:
  size_t steps_;
  size_t step_ = 0;
  std::string tag_;
};

// --max-steal at a benchmark's measurement: RemeasureWhileStolen (tools/report/rounds.h) with
// kStealAttempts, a progress line for every run taken again, and the runs set aside kept as
// their figures, `figures_of(run, round)`, in *set_aside.
template <typename Run, typename MeasureFn, typename StealFn, typename FiguresFn>
Run TakeLeastStolen(Run first, double max_steal, int round, Progress* progress, MeasureFn measure,
                    StealFn steal_of, FiguresFn figures_of, std::vector<RoundFigures>* set_aside) {
  double last = steal_of(first);
  std::vector<Run> aside;
  Run kept = RemeasureWhileStolen(
      std::move(first), max_steal, kStealAttempts,
      [&] {
        progress->AddStep();
        (*progress)("  hypervisor steal " + FormatSteal(last) + " > " + FormatSteal(max_steal) +
                    "; measuring the run again");
        Run again = measure();
        last = steal_of(again);
        return again;
      },
      steal_of, &aside);
  for (const Run& a : aside) set_aside->push_back(figures_of(a, round));
  return kept;
}

// Walks a command's arguments. Every Take* consumes the current flag's value; on a missing or bad
// one it prints "hsapreempt <command>: <why> (see --help)", sets the exit status to kExitUsage and
// returns false, so a parser is `if (!r.Take...(...)) return false;` per flag.
class FlagReader {
 public:
  FlagReader(const char* command, const char* usage, const std::vector<std::string>& args,
             int* status)
      : command_(command), usage_(usage), args_(args), status_(status) {}

  // Advances to the next argument; false at the end.
  bool Next() { return ++i_ < args_.size(); }
  const std::string& flag() const { return args_[i_]; }
  bool Is(const char* name) const { return args_[i_] == name; }

  // Advances to the next argument that is not a common flag, taking those on the way (TakeCommon).
  // False at the end of the arguments, or when one of them ends the parse (--help, a bad value):
  // then stopped() is true and the status is set.
  bool NextOwn(CommonFlags* f) {
    while (Next()) {
      switch (TakeCommon(f)) {
        case Common::kNo: return true;
        case Common::kTaken: continue;
        case Common::kStop: stopped_ = true; return false;
      }
    }
    return false;
  }
  bool stopped() const { return stopped_; }

  enum class Common { kNo, kTaken, kStop };
  // --help/-h (prints the usage; kStop with status ok), --quick, --json, --csv FILE,
  // --plot-dir DIR (kTaken, or kStop with a usage error); kNo for any other flag.
  Common TakeCommon(CommonFlags* f) {
    const std::string& a = flag();
    if (a == "--help" || a == "-h") {
      std::fputs(usage_, stdout);
      *status_ = kExitOk;
      return Common::kStop;
    }
    if (a == "--quick") return f->quick = true, Common::kTaken;
    if (a == "--json") return f->json = true, Common::kTaken;
    if (!f->files) return Common::kNo;
    if (a == "--csv") return TakeString(&f->csv, "--csv needs a file") ? Common::kTaken : Common::kStop;
    if (a == "--plot-dir") {
      return TakeString(&f->plot_dir, "--plot-dir needs a directory") ? Common::kTaken
                                                                      : Common::kStop;
    }
    return Common::kNo;
  }

  // The next argument as it is; `missing` is the message when there is none.
  bool TakeString(std::string* out, const std::string& missing) {
    if (i_ + 1 >= args_.size()) return Fail(missing);
    *out = args_[++i_];
    return true;
  }
  // A list of numbers in [lo, hi]; `hint` (e.g. "ms, 0.001..10000") ends the message.
  bool TakeList(double lo, double hi, std::vector<double>* out, const std::string& hint,
                bool integers = false) {
    std::string v, bad;
    const std::string a = flag();
    if (!TakeString(&v, a + " needs a list")) return false;
    std::vector<double> nums;
    if (!ParseNumberList(v, lo, hi, &nums, &bad)) {
      return Fail("bad " + a + " element '" + bad + "' (" + hint + ")");
    }
    for (double x : nums) {
      if (integers && x != std::floor(x)) {
        char text[64];
        std::snprintf(text, sizeof(text), "%g", x);
        return Fail("bad " + a + " element '" + text + "' (integers)");
      }
    }
    *out = nums;
    return true;
  }
  // One number in [lo, hi] (an integer if asked).
  bool TakeNumber(double lo, double hi, double* out, bool integer = false) {
    std::string v, bad;
    const std::string a = flag();
    if (!TakeString(&v, a + " needs a value")) return false;
    std::vector<double> nums;
    if (!ParseNumberList(v, lo, hi, &nums, &bad) || nums.size() != 1 ||
        (integer && nums[0] != std::floor(nums[0]))) {
      char range[96];
      std::snprintf(range, sizeof(range), "%g..%g%s", lo, hi, integer ? ", an integer" : "");
      return Fail("bad " + a + " '" + v + "' (" + range + ")");
    }
    *out = nums[0];
    return true;
  }
  bool TakeLevels(std::vector<Level>* out) {
    std::string v, bad;
    if (!TakeString(&v, "--levels needs a list")) return false;
    if (!ParseLevelList(v, out, &bad)) return Fail("bad --levels element '" + bad + "' (none,1,2,cumask)");
    return true;
  }

  // --max-steal PCT, stored as a share (tools/report/rounds.h).
  bool TakeMaxSteal(double* share) {
    double pct = 0;
    if (!TakeNumber(0, 100, &pct)) return false;
    *share = pct / 100;
    return true;
  }

  // --device-cpus: auto, none or a CPU list (tools/report/placement.h).
  bool TakeDeviceCpus(std::string* out) {
    std::string why;
    if (!TakeString(out, "--device-cpus needs auto, none or a CPU list")) return false;
    if (!ValidDeviceCpusSpec(*out, &why)) return Fail("bad --device-cpus: " + why);
    return true;
  }

  // Prints the usage error; always false.
  bool Fail(const std::string& why) {
    std::fprintf(stderr, "hsapreempt %s: %s (see --help)\n", command_, why.c_str());
    *status_ = kExitUsage;
    return false;
  }
  bool Unknown() { return Fail("unknown argument '" + flag() + "'"); }

 private:
  const char* command_;
  const char* usage_;
  const std::vector<std::string>& args_;
  int* status_;
  size_t i_ = static_cast<size_t>(-1);
  bool stopped_ = false;
};

}  // namespace hsapreempt::tools::report

#endif  // TOOLS_REPORT_BENCH_ARGS_H_
