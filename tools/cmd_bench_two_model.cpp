// `hsapreempt bench two-model`: the users' scenario. A small model (replay of ResNet-18 batch 1)
// serves requests at a fixed Poisson rate in one process beside a large one (ResNet-50 at batch
// 8/256/1024) running flat out in another, on one simulated GPU + scheduler board per measurement.
// Baseline without scheduling (no HSA_TOOLS_LIB), then each level and policy with the small model
// at high priority. Reported: the small model's request latency (release -> device end of the
// pass's last kernel) P50/P95/P99/max against its standalone run, and the large model's
// iterations/s during the small model's run against its own standalone run.
//
// Kernel durations are the H200 traces (data/resnet_kernel_traces.json) times --scale (default
// 3.8: an MI300-class GPU ran ResNet-50 batch 1024 at ~1.97 it/s, /work/shared/traces/README.md).
//
// --json fields (also in docs/benchmarks.md):
//   bench "two-model"; ok (every measurement succeeded); quick; sim (simulated device's
//   description, "" on a real GPU); scale
//   host {period_ns, seconds, late_ns:{count,mean,p50,p90,p95,p99,max,min}, steal}  the host's
//           noise floor, measured before the runs: how late a thread sleeping period_ns woke,
//           and the hypervisor's steal share (tools/support/host_noise.h)
//   placement {device_cpus, workload_cpus, cp_spin, note}  --device-cpus
//           (tools/report/placement.h): the CPUs of the simulated CP threads and of everything
//           else, whether those poll without sleeping; null/null/false and the reason in note
//           when there is no placement
//   config {batches:[..], rates:[..], levels:[..], policies:[..], seconds, rounds, max_steal
//           (--max-steal as a share; null: off), small_model, large_model, small_priority,
//           large_priority, small_weight, large_weight}
//           rounds (--rounds N): every measurement below (standalone runs included) is N runs of
//           seconds / N, one per round, each round running all of them (in reverse order every
//           other round) with request seed = round; latencies are over all runs' requests,
//           throughputs over all runs' windows, steal the mean; errors and retried_after name
//           the round; each standalone_small[] and cells[] entry also has
//           rounds[]: per round, in order, {ok, requests, latency_p50_ns, latency_p99_ns,
//           host_steal} of the small model's run (one element without --rounds), and
//           set_aside_for_steal[]: runs measured again because the hypervisor stole more than
//           max_steal during them, counted in no figure: {round (1-based), ok, requests,
//           latency_p50_ns, latency_p99_ns, host_steal}
//   standalone_small[]  {rate, ok, error?, requests, latency_ns:{count,mean,p50,p90,p95,p99,max,min},
//                        latency_p99_ci_ns, release_delay_p99_ns, submit_to_end_p99_ns,
//                        host_steal}
//   standalone_large[]  {batch, ok, error?, iterations_per_s}
//   cells[]  per batch x rate x level (x policy for the tool levels):
//     batch, rate, level ("none"|"L1"|"L2"|"cumask"), policy ("-" for none), ok, error?
//     requests            small-model requests measured
//     latency_ns          summary of the small model's request latency
//     p99_vs_standalone   latency p99 / standalone p99 at this rate (null if standalone failed)
//     p99_vs_standalone_ci  [lo, hi]: >= 95% distribution-free interval of that ratio (two
//                         97.5% order-statistic intervals, tools/support/stats.h); a side the
//                         request counts cannot bound is null (hi needs >= 437 requests in
//                         both runs); [0, null] when standalone failed
//     latency_p99_ci_ns   [lo, hi]: 95% interval of the latency P99 (hi needs >= 368 requests)
//     submit_p99_vs_standalone  submit_to_end_p99_ns / the standalone run's: the same ratio
//                         without the small model's own host lateness (table `sub P99 x alone`;
//                         informative: the target is judged on p99_vs_standalone)
//     release_delay_p99_ns, submit_to_end_p99_ns   the small model's host lateness (release ->
//                         submission) and latency from submission (device + scheduling only)
//     host_steal          share of CPU time the hypervisor stole during the measurement (null:
//                         unknown; table column `steal`)
//     large_iterations_per_s  large model's throughput while the small one ran
//     large_kept          large_iterations_per_s / standalone (null if standalone failed)
//     window_s            length of the window the large throughput was measured over: from
//                         the small model's first request release to its last
//     late_requests       small requests that ended after the large model's last iteration
//                         (their tail ran on a quieter GPU; shown in the table's status)
//     fallback            "" or the tool's log line saying the large model's queue ran on
//                         Level-1 only (L2/cumask: the requested lever was not available)
//     retried_after       "" or the first attempt's error (a failed cell is measured once more
//                         on a fresh device; a second failure marks it failed)
//     preemptions         CWSR saves of the large model's queues in the device trace (0 when a
//                         level fell back to Level-1 or none)
//     target              "" or the target this row is judged against, with "met"/"missed":
//                         L2 at batch 1024: p99 <= 1.3x standalone and large_kept >= 0.85;
//                         L1: p99 <= 1.1x the no-tool p99 of the same batch and rate (10% noise);
//                         judged on the point estimates, with " (95% CI spans 1.3x)" (or 1.1x)
//                         added when the ratio's interval contains the threshold: at this
//                         many requests the verdict could go either way
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tools/command.h"
#include "tools/report/bench_args.h"
#include "tools/report/plot.h"
#include "tools/report/rounds.h"
#include "tools/report/table.h"
#include "tools/report/workload_child.h"
#include "tools/support/host_noise.h"
#include "tools/support/json.h"
#include "tools/support/stats.h"
#include "tools/workload/calibration.h"

namespace hsapreempt::tools {
namespace {

using report::Level;

constexpr const char* kUsage =
    "usage: hsapreempt bench two-model [options]\n"
    "A small model (resnet18 batch 1) at a fixed request rate beside a large one (resnet50) flat\n"
    "out, without scheduling and under each level: small-model latency vs standalone, large-model\n"
    "throughput vs standalone.\n"
    "  --batches LIST     large-model batches (default 8,256,1024; --quick 1024)\n"
    "  --rates LIST       small-model requests/s (default 10,20)\n"
    "  --levels LIST      of none,1,2,cumask (default all)\n"
    "  --policies LIST    of priority,weighted (default priority; weighted: small 9, large 1)\n"
    "  --seconds S        small-model run per measurement (default 20; --quick 3)\n"
    "  --rounds N         spread each measurement over N runs of S/N seconds (default 1),\n"
    "                     one per round; each round runs every measurement, in the reverse\n"
    "                     order of the round before, so a drift in the host's noise falls on\n"
    "                     every cell and its standalone reference alike\n"
    HSAPREEMPT_MAX_STEAL_USAGE
    "  --scale X          trace duration scale (default 3.8, MI300-class vs the H200 traces)\n"
    HSAPREEMPT_DEVICE_CPUS_USAGE
    "  --quick            short run for CI\n"
    "  --json             print JSON instead of the table\n"
    "  --csv FILE         also write the table as CSV\n"
    "  --plot-dir DIR     also write PNG plots (needs gnuplot)\n";

struct Options : report::CommonFlags {  // --quick, --json, --csv, --plot-dir
  std::vector<double> batches = {8, 256, 1024}, rates = {10, 20};
  std::vector<Level> levels = {Level::kNoTool, Level::kLevel1, Level::kLevel2, Level::kCuMask};
  std::vector<std::string> policies = {"priority"};
  double seconds = 20, scale = 3.8;
  int rounds = 1;  // --rounds: each measurement is `rounds` runs of seconds / rounds, interleaved
  // --max-steal, as a share: a run of the small model (alone or beside the large one) with more
  // hypervisor steal is measured again (report::RemeasureWhileStolen); >= 1: never.
  double max_steal = report::kDefaultMaxSteal;
  std::string device_cpus = "auto";  // --device-cpus (tools/report/placement.h)
  // Without --scale, the stored calibration of HSAPREEMPT_SIM_PRESET (tools/workload/calibration.h,
  // docs/calibration.md) gives each model its own scale; `calibration` names it ("" = none).
  bool scale_set = false;
  const workload::Calibration* cal = nullptr;
  std::string calibration;
};

constexpr int kSmallPriority = 90, kLargePriority = 10, kSmallWeight = 9, kLargeWeight = 1;
constexpr double kLargeLead = 2.0;  // the large model starts first, warms up, then the small one

struct Small {
  bool ok = false;
  std::string error;
  Distribution lat;  // request latency, release -> end (ns), with its intervals (stats.h)
  double release_delay_p99 = 0;  // ns: host lateness of the releases (a host effect, not ours)
  double submit_to_end_p99 = 0;  // ns: latency without that lateness
  double steal = NAN;            // hypervisor steal during the run (host_noise.h)
  // Per request, over the runs so far (one per round: AddSmall); FinishSmall summarises them.
  int runs = 0;
  std::vector<double> lat_ns, delay_ns, sub_ns;
  FiniteMean steals;
  std::vector<report::RoundFigures> per_round;  // the request latency of each round's run
  std::vector<report::RoundFigures> set_aside;  // runs measured again for steal (--max-steal)
};

struct Large {
  bool ok = false;
  std::string error;
  double ips = 0, window_s = 0;
  int runs = 0;  // runs added (AddLarge): ips is their iterations over their windows
  double iterations = 0;
};

struct Cell {
  double batch = 0, rate = 0;
  size_t batch_index = 0, rate_index = 0;  // in Options::batches / rates (and their standalones)
  Level level = Level::kNoTool;
  std::string policy = "-";
  Small small;
  Large large;
  bool ok = false;
  std::string error;
  double p99_ratio = NAN, kept = NAN;
  // submit_to_end_p99 / standalone's: the same ratio without the small model's own thread's
  // lateness (release -> submission), which the host decides (docs/level2_feasibility.md §6.1).
  double p99_sub_ratio = NAN;
  Interval ratio_ci;  // >= 95% interval of p99_ratio (two kCiSide intervals)
  std::string fallback;    // the tool's line saying the large model's queue ran on Level-1 only
  int late_requests = 0;      // small requests that ended after the large model's last iteration
  std::string retried_after;  // the first attempt's error when the cell was measured twice
  double preemptions = 0;  // CWSR saves of the large model's queues (device trace)
  std::string target;
  int runs = 0;  // runs added (AddCell)
};

std::string Num(double v) { return report::Format("%g", v); }

double ScaleFor(const Options& o, const char* model, double batch) {
  if (o.scale_set) return o.scale;
  return workload::CalibratedScaleFor(o.cal, model, static_cast<int>(batch), o.scale);
}

// `seed`: the request arrivals' (the workload's default is 1; round k uses k).
std::vector<std::string> SmallArgs(const Options& o, double rate, double seconds, int seed) {
  return {"replay", "--model", "resnet18", "--batch", "1", "--rate", Num(rate), "--arrival",
          "poisson", "--seconds", Num(seconds), "--scale", Num(ScaleFor(o, "resnet18", 1)),
          "--samples", "--wait", "sleep", "--priority", "high", "--warmup", "1", "--timeout-s",
          "60", "--seed", std::to_string(seed)};
}

std::vector<std::string> LargeArgs(const Options& o, double batch, double seconds) {
  std::vector<std::string> a = {"replay", "--model", "resnet50", "--batch", Num(batch), "--seconds", Num(seconds),
          "--scale", Num(ScaleFor(o, "resnet50", batch)), "--samples", "--wait", "sleep", "--priority", "low",
          "--warmup", "0", "--timeout-s", "60"};
  // A stored calibration also fixes the large model's dispatch granularity it was fitted with.
  if (o.cal != nullptr && !o.scale_set && o.cal->large_rounds > 1) {
    a.push_back("--fill-rounds");
    a.push_back(std::to_string(o.cal->large_rounds));
  }
  return a;
}

report::Stage MakeStage(const std::string& device, Level level, const std::string& policy,
                        int weight) {
  report::Stage s;
  s.device = device;
  s.level = level;
  s.policy = policy == "-" ? "priority" : policy;
  if (level != Level::kNoTool) s.extra_env.push_back("HSAPREEMPT_WEIGHT=" + std::to_string(weight));
  return s;
}

// One run of the small model, its requests' raw figures (summarised by FinishSmall).
Small SmallRun(const report::WorkloadRun& run) {
  Small s;
  s.ok = run.ok;
  s.error = run.error;
  s.steal = run.host_steal;
  if (!run.ok) return s;
  s.lat_ns = run.Latencies("end");
  s.delay_ns = run.Spans("release_ns", "submit_ns");
  s.sub_ns = run.Spans("submit_ns", "end_ns");
  if (s.lat_ns.empty()) {
    s.ok = false;
    s.error = "no requests measured";
  }
  return s;
}

// One run's figures for `rounds` / `set_aside_for_steal`: its requests' latency and steal.
report::RoundFigures SmallFigures(const Small& run, int round) {
  return report::FiguresOf(run.ok, run.lat_ns, run.steal, round);
}

// Folds one round's run into `total`; a failed run fails the whole, with its round named.
void AddSmall(const Small& run, int round, int rounds, Small* total) {
  total->steals.Add(run.steal);
  total->per_round.push_back(SmallFigures(run, round));
  if (!report::AddRoundOutcome(run.ok, run.error, round, rounds, total)) return;
  report::AppendSamples(run.lat_ns, &total->lat_ns);
  report::AppendSamples(run.delay_ns, &total->delay_ns);
  report::AppendSamples(run.sub_ns, &total->sub_ns);
}

void FinishSmall(Small* s) {
  s->steal = s->steals.value();
  if (!s->ok) return;
  s->lat = Describe(std::move(s->lat_ns));
  s->release_delay_p99 = Summarize(s->delay_ns).p99;
  s->submit_to_end_p99 = Summarize(s->sub_ns).p99;
  s->lat_ns.clear();
  s->delay_ns.clear();
  s->sub_ns.clear();
}

// The large model's iterations over one run's window, folded into `total` (iterations / seconds
// over all rounds).
void AddLarge(const Large& run, int round, int rounds, Large* total) {
  if (!report::AddRoundOutcome(run.ok, run.error, round, rounds, total)) return;
  total->iterations += run.ips * run.window_s;
  total->window_s += run.window_s;
  total->ips = total->window_s > 0 ? total->iterations / total->window_s : 0;
}

// One run of cell `c` (small model for `seconds`, arrivals from `seed`) on a fresh device.
void Measure(const Options& o, const std::string& device, double seconds, int seed, Cell* c,
             std::string* sim) {
  report::Stage small_stage = MakeStage(device, c->level, c->policy, kSmallWeight);
  report::Stage large_stage = MakeStage(device, c->level, c->policy, kLargeWeight);
  report::Launch large, small;
  // The large model outlasts the small one's releases by a margin for the small one's queue to
  // drain (without scheduling requests can queue behind the large kernels for seconds).
  large.args = LargeArgs(o, c->batch, kLargeLead + seconds + std::max(3.0, seconds / 2));
  large.args.push_back("--trace");  // device preemptions of its queues: did the level act?
  large.env = report::ChildEnv(large_stage, kLargePriority);
  large.timeout_s = kLargeLead + seconds + 120;
  small.args = SmallArgs(o, c->rate, seconds, seed);
  small.env = report::ChildEnv(small_stage, kSmallPriority);
  small.delay_s = kLargeLead;
  small.timeout_s = seconds + 120;
  std::vector<report::WorkloadRun> runs = report::RunAll({large, small});
  report::CleanupStage(small_stage);
  if (sim->empty() && runs[1].ok) *sim = runs[1].Get("device").Get("sim").AsString();
  c->small = SmallRun(runs[1]);
  c->large.ok = runs[0].ok;
  c->large.error = runs[0].error;
  if (!c->small.ok || !c->large.ok) {
    c->error = !c->small.ok ? "small model: " + c->small.error : "large model: " + c->large.error;
    return;
  }
  std::vector<double> rel = runs[1].SampleArray("release_ns"), end = runs[1].SampleArray("end_ns");
  const double t0 = *std::min_element(rel.begin(), rel.end());
  const double t1 = *std::max_element(rel.begin(), rel.end());
  // Every small request must be released while the large model runs, or it saw an idle GPU.
  // Requests that queue up behind the large model (no scheduling) can finish long after their
  // release: those ending after the large model stopped are counted and shown, not hidden.
  if (report::CoverageError(runs[0], t0, t1, "the large model", &c->error)) return;
  std::vector<double> lend = runs[0].SampleArray("end_ns");
  const double large_last = *std::max_element(lend.begin(), lend.end());
  for (double e : end) c->late_requests += e > large_last;
  c->preemptions = runs[0].Get("device_trace").Get("preemptions").AsNumber();
  if (c->level == Level::kLevel2 || c->level == Level::kCuMask) {
    c->fallback = report::LevelFallback(runs[0]);
  }
  report::WindowThroughput w = report::ThroughputInWindow(runs[0], t0, t1);
  c->large.ips = w.units_per_s;
  c->large.window_s = w.covered_s;
  c->ok = true;
}

// Folds one round's run of a cell into it: a failed run fails the cell (its round named).
void AddCell(const Cell& run, int round, int rounds, Cell* c) {
  AddSmall(run.small, round, rounds, &c->small);
  AddLarge(run.large, round, rounds, &c->large);
  if (!report::AddRoundOutcome(run.ok, run.error, round, rounds, c)) return;
  c->late_requests += run.late_requests;
  c->preemptions += run.preemptions;
  if (c->fallback.empty()) c->fallback = run.fallback;
}

bool ParseArgs(const std::vector<std::string>& args, Options* o, int* status) {
  report::FlagReader r("bench two-model", kUsage, args, status);
  bool batches_set = false, seconds_set = false, max_steal_set = false;
  while (r.NextOwn(o)) {
    if (r.Is("--batches")) {
      if (!r.TakeList(1, 1024, &o->batches, "traced: 8, 256, 1024")) return false;
      batches_set = true;
    } else if (r.Is("--rates")) {
      if (!r.TakeList(0.1, 1000, &o->rates, "0.1..1000 requests/s")) return false;
    } else if (r.Is("--levels")) {
      if (!r.TakeLevels(&o->levels)) return false;
    } else if (r.Is("--policies")) {
      std::string v;
      if (!r.TakeString(&v, "--policies needs a list")) return false;
      o->policies.clear();
      size_t start = 0;
      while (true) {
        size_t comma = v.find(',', start);
        std::string p = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (p != "priority" && p != "weighted") {
          return r.Fail("bad --policies element '" + p + "' (priority,weighted)");
        }
        if (std::find(o->policies.begin(), o->policies.end(), p) == o->policies.end()) {
          o->policies.push_back(p);
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (r.Is("--seconds")) {
      if (!r.TakeNumber(0.5, 3600, &o->seconds)) return false;
      seconds_set = true;
    } else if (r.Is("--rounds")) {
      double x = 0;
      if (!r.TakeNumber(1, 100, &x, /*integer=*/true)) return false;
      o->rounds = static_cast<int>(x);
    } else if (r.Is("--max-steal")) {
      if (!r.TakeMaxSteal(&o->max_steal)) return false;
      max_steal_set = true;
    } else if (r.Is("--device-cpus")) {
      if (!r.TakeDeviceCpus(&o->device_cpus)) return false;
    } else if (r.Is("--scale")) {
      if (!r.TakeNumber(0.01, 100, &o->scale)) return false;
      o->scale_set = true;
    } else {
      return r.Unknown();
    }
  }
  if (r.stopped()) return false;
  if (o->quick) {
    if (!batches_set) o->batches = {1024};
    if (!seconds_set) o->seconds = 3;
    if (!max_steal_set) o->max_steal = 1;  // a CI run checks the tool, not the targets
  }
  if (o->seconds / o->rounds < 1) {
    return r.Fail(report::Format("--rounds %d leaves %.2g s per run; needs >= 1 s (raise --seconds)",
                                 o->rounds, o->seconds / o->rounds));
  }
  return true;
}

}  // namespace

// Output (table, CSV, JSON, plots) is in cmd_bench_two_model_report.inc to keep files short.
#include "tools/cmd_bench_two_model_report.inc"

namespace {

int Run(const std::vector<std::string>& args) {
  Options o;
  int status = kExitOk;
  if (!ParseArgs(args, &o, &status)) return status;
  if (!o.scale_set) {
    const char* preset = std::getenv("HSAPREEMPT_SIM_PRESET");
    o.cal = workload::FindCalibration(preset != nullptr ? preset : "mi300x");
    if (o.cal != nullptr) o.calibration = o.cal->name;
  }
  if (UseSimulatedDevice() && SimLibDir().empty()) {
    std::fprintf(stderr, "hsapreempt bench two-model: simulated device not built (no "
                         "libhsakmt.so.1 next to the tools)\n");
    return kExitUnsupported;
  }
  const std::string prefix = "b2m-" + std::to_string(getpid()) + "-";
  int serial = 0;
  Results r;
  std::string placement_error;
  if (!report::ApplyPlacement(o.device_cpus, &r.placement, &placement_error)) {
    std::fprintf(stderr, "hsapreempt bench two-model: %s\n", placement_error.c_str());
    return kExitUsage;
  }
  r.host = report::CheckHostBeforeRuns(o.quick);
  r.small_alone.resize(o.rates.size());
  r.large_alone.resize(o.batches.size());
  // Every measurement of a round, in order: the small model alone per rate, the large one alone
  // per batch, then the cells (batch x rate x level x policy).
  enum class Kind { kSmallAlone, kLargeAlone, kCell };
  struct Step {
    Kind kind;
    size_t index;  // into rates, batches or cells
  };
  std::vector<Step> order;
  for (size_t ri = 0; ri < o.rates.size(); ++ri) order.push_back({Kind::kSmallAlone, ri});
  for (size_t bi = 0; bi < o.batches.size(); ++bi) order.push_back({Kind::kLargeAlone, bi});
  for (size_t bi = 0; bi < o.batches.size(); ++bi) {
    for (size_t ri = 0; ri < o.rates.size(); ++ri) {
      for (Level level : o.levels) {
        std::vector<std::string> policies = level == Level::kNoTool
                                                ? std::vector<std::string>{"-"} : o.policies;
        for (const std::string& policy : policies) {
          Cell c;
          c.batch = o.batches[bi];
          c.rate = o.rates[ri];
          c.batch_index = bi;
          c.rate_index = ri;
          c.level = level;
          c.policy = policy;
          order.push_back({Kind::kCell, r.cells.size()});
          r.cells.push_back(c);
        }
      }
    }
  }
  const double seconds = o.seconds / o.rounds;  // per run
  report::Progress progress(order.size() * static_cast<size_t>(o.rounds));
  for (int round = 0; round < o.rounds; ++round) {
    const int seed = round + 1;
    progress.SetRound(round, o.rounds);
    for (size_t i = 0; i < order.size(); ++i) {
      const Step& st = order[report::RoundStep(i, order.size(), round)];
      const std::string device = prefix + std::to_string(serial++);
      if (st.kind == Kind::kSmallAlone) {
        const double rate = o.rates[st.index];
        progress(report::Format("small model alone at %g req/s for %g s", rate, seconds));
        auto alone = [&](const std::string& on) {
          report::Stage stage = MakeStage(on, Level::kNoTool, "-", 1);
          report::Launch l;
          l.args = SmallArgs(o, rate, seconds, seed);
          l.env = report::ChildEnv(stage, kSmallPriority);
          l.timeout_s = seconds + 120;
          report::WorkloadRun run = report::RunAll({l})[0];
          report::CleanupStage(stage);
          if (r.sim.empty() && run.ok) r.sim = run.Get("device").Get("sim").AsString();
          return SmallRun(run);
        };
        Small& total = r.small_alone[st.index];
        Small run = report::TakeLeastStolen(
            alone(device), o.max_steal, round, &progress,
            [&] { return alone(prefix + std::to_string(serial++)); },
            [](const Small& x) { return x.steal; }, SmallFigures, &total.set_aside);
        AddSmall(run, round, o.rounds, &total);
        continue;
      }
      if (st.kind == Kind::kLargeAlone) {
        const double batch = o.batches[st.index];
        const double secs = std::max(seconds, 3.0);
        progress(report::Format("large model (batch %g) alone for %g s", batch, secs));
        report::Stage stage = MakeStage(device, Level::kNoTool, "-", 1);
        report::Launch l;
        l.args = LargeArgs(o, batch, secs);
        l.env = report::ChildEnv(stage, kLargePriority);
        l.timeout_s = secs + 120;
        report::WorkloadRun run = report::RunAll({l})[0];
        report::CleanupStage(stage);
        Large g;
        g.ok = run.ok;
        g.error = run.error;
        if (run.ok) {
          report::WindowThroughput w = report::ThroughputInWindow(run, 0, 1e30);
          g.ips = w.units_per_s;
          g.window_s = w.covered_s;
          if (g.ips <= 0) g.ok = false, g.error = "no iterations completed";
        }
        AddLarge(g, round, o.rounds, &r.large_alone[st.index]);
        continue;
      }
      Cell& c = r.cells[st.index];
      progress(report::Format("batch %g, %g req/s, %s%s%s", c.batch, c.rate,
                              report::LevelLabel(c.level), c.policy == "-" ? "" : " ",
                              c.policy == "-" ? "" : c.policy.c_str()));
      // A run starts from the cell's identity (batch, rate, level, policy) and nothing else.
      auto measure = [&](const std::string& on) {
        Cell run;
        run.batch = c.batch;
        run.rate = c.rate;
        run.level = c.level;
        run.policy = c.policy;
        Measure(o, on, seconds, seed, &run, &r.sim);
        return run;
      };
      Cell run = measure(device);
      if (!run.ok) {
        // One retry on a fresh device; the first error stays visible in retried_after.
        progress.AddStep();
        progress(report::Format("  failed (%s); retrying once", run.error.c_str()));
        const std::string first = report::RoundTag(round, o.rounds) + run.error;
        run = measure(prefix + std::to_string(serial++));
        c.retried_after += (c.retried_after.empty() ? "" : "; ") + first;
      }
      run = report::TakeLeastStolen(
          std::move(run), o.max_steal, round, &progress,
          [&] { return measure(prefix + std::to_string(serial++)); },
          [](const Cell& x) { return x.small.steal; },
          [](const Cell& x, int rd) { return SmallFigures(x.small, rd); }, &c.small.set_aside);
      AddCell(run, round, o.rounds, &c);
    }
  }
  for (Small& s : r.small_alone) FinishSmall(&s);
  for (Cell& c : r.cells) {
    FinishSmall(&c.small);
    const Small& sa = r.small_alone[c.rate_index];
    const Large& la = r.large_alone[c.batch_index];
    if (c.ok && sa.ok && sa.lat.s.p99 > 0) {
      c.p99_ratio = c.small.lat.s.p99 / sa.lat.s.p99;
      c.ratio_ci = RatioInterval(c.small.lat.p99_side, sa.lat.p99_side);
    }
    if (c.ok && sa.ok && sa.submit_to_end_p99 > 0) {
      c.p99_sub_ratio = c.small.submit_to_end_p99 / sa.submit_to_end_p99;
    }
    if (c.ok && la.ok) c.kept = c.large.ips / la.ips;
  }
  if (!UseSimulatedDevice()) r.sim = "";
  Judge(&r.cells);
  return Report(o, r);
}

}  // namespace

HSAPREEMPT_COMMAND("bench two-model",
                   "small model's latency beside a large one, per level (users' scenario)", Run);

}  // namespace hsapreempt::tools
