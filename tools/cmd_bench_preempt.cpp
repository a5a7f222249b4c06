// `hsapreempt bench preempt`: preemption latency per level, the XSched paper's method.
//
// For each kernel duration D and level, on one fresh simulated GPU + scheduler board shared by two
// hsapreempt-workload processes: a low-priority process keeps the GPU busy with spin kernels of D
// (every kernel fills every CU once, 64 in flight), and a high-priority process releases small
// probe kernels (1 workgroup, --probe-us) at Poisson-random times. Preemption latency = probe
// submission -> probe kernel start, as the XSched paper and issue #6 define it (submission: the
// probe thread's clock read as it writes the packet, in the device's timestamp domain; start: the
// kernel's profiling start). Also reported: the latency from the probe's scheduled release, which
// adds the probe thread's own lateness (host scheduling, not preemption). Levels: none (no
// HSA_TOOLS_LIB), L1 (HSAPREEMPT_LEVEL=1), L2 (=2), cumask. Also measured: the low job's
// throughput during the probes vs the low job alone without the tool ("kept"), and the low job
// alone with the tool vs without ("overhead", no probes).
//
// --json fields (also in docs/benchmarks.md):
//   bench            "preempt"
//   ok               every measurement succeeded
//   quick            --quick was given
//   sim              the simulated device's description (hsapreempt_sim_describe), "" on a real GPU
//   host             the host's noise floor, measured before the runs (tools/support/host_noise.h):
//                    {period_ns, seconds, late_ns:{count,mean,p50,p90,p95,p99,max,min}, steal}:
//                    how late a thread sleeping period_ns woke, and the hypervisor's steal share
//   placement        {device_cpus, workload_cpus, cp_spin, note} (--device-cpus;
//                    tools/report/placement.h): the CPUs of the simulated CP threads and of
//                    everything else, whether those poll without sleeping, null/null/false with
//                    the reason in note when there is no placement
//   config           {durations_ms:[..], levels:[..], probes, probe_us, probe_rate (--probe-rate, null:
//                     250/D per s within 10..100), thresholds:[..] (Level-1's,
//                     one L1 cell each; without --threshold the one the children inherit:
//                     HSAPREEMPT_THRESHOLD or the library default 16), seed, rounds, max_steal
//                     (--max-steal as a share; null: off), low_alone_s}
//                    rounds (--rounds N): every run below is N runs, one per round, each round
//                    running every cell in turn (in reverse order every other round) with its
//                    share of the probes and seed + round - 1; a cell's figures are over all its
//                    probes, its throughputs and steal means over its rounds, and an error or
//                    retried_after names the round
//   baseline[]       per duration, the low job alone without the tool (the mean over rounds):
//                    {duration_ms, ok, error?, low_units_per_s, host_steal}
//   cells[]          per duration x level:
//     duration_ms, level ("none"|"L1"|"L2"|"cumask"), ok, error? (one line, when !ok)
//     threshold      L1: the Level-1 threshold the cell ran with (table: "L1 t=16"); null for the
//                    other levels (they run with the library's)
//     probes         probe kernels measured (after one warm-up)
//     probe_rate     probes released per second (Poisson)
//     preemption_ns  {count,mean,p50,p90,p95,p99,max,min} of submission -> probe kernel start:
//                    the preemption latency (table `P50 (us)`, `P99 (us)`, `max (us)`)
//     preemption_p50_ci_ns, preemption_p99_ci_ns  [lo, hi]: 95% distribution-free intervals of
//                    its P50 and P99 (tools/support/stats.h; table `P50 CI`, `P99 CI`); a side the
//                    probe count cannot bound is null (a P99's upper side needs >= 368 probes)
//     latency_ns     the same summary of release -> probe kernel start (table `rel P50`,
//                    `rel P99`): what the application saw, the probe thread's lateness included
//     latency_p50_ci_ns, latency_p99_ci_ns  its 95% intervals
//     release_delay_ns   {p50,p99}: the probe thread's own lateness, release -> submission (host
//                    scheduling; table column `host late P50`)
//     submit_to_start_ns {p50,p99}: preemption_ns's P50 and P99 again (older scripts read them)
//     target         the verdict against issue #6's target for this cell, "" where none applies
//                    (Judge(): L1 cells against none, L2 cells against L2 at the shortest D)
//     preemption_path  null, or (L2, CU mask on the simulated device, from the low job's device
//                    trace) {probes, reaction_ns:{p50,p99}, save_to_start_ns:{p50,p99}}: probes
//                    whose start followed a CWSR save of the low queue after their submission
//                    (table `via save`, as a share), submission -> save (`react P50/P99`: board,
//                    scheduler wake-up, ioctl) and save -> probe start (the modelled queue update,
//                    the probe's dispatch; table `s2s P99`), and after_fetch_ns: null, or
//                    {probes,p50,p99} of start - max(save, fetch) over those probes: save -> start
//                    without the simulated CP's late fetch (the bracket in `s2s P99`)
//     fetch_ns       null, or (simulated device, from the probe's device trace) {probes,p50,p99}
//                    of the probe's submission -> the simulated CP first saw it (table `fetch
//                    P50/P99`): the packet write, the tool's forwarding and the CP thread's poll,
//                    where a hardware CP sees a doorbell within microseconds
//     low_units_per_s  the low job's kernels/s while the probes ran
//     throughput_kept  low_units_per_s / baseline low_units_per_s (null if the baseline failed)
//     host_steal     share of CPU time the hypervisor stole during the contention run (null:
//                    unknown; table column `steal`)
//     window_s       length of the probe window the throughput was measured over
//     preemptions, runlist_updates  the low job's CWSR saves and the device's runlist updates in
//                    the device trace (the ring holds the last 65536 events, so with short
//                    kernels these undercount); 0 preemptions = the level never preempted
//     retried_after  "" or the error of a first attempt (a failed cell is measured once more on
//                    a fresh device; a second failure marks it failed)
//     rounds[]       per round, in order (one with --rounds 1): {ok, probes, preemption_p50_ns,
//                    preemption_p99_ns, host_steal} of that round's run, to see how far the
//                    rounds were apart (the cell's own figures are over all of them)
//     set_aside_for_steal[]  contention runs measured again because the hypervisor stole more
//                    than max_steal during them, counted in no figure above: {round (1-based),
//                    ok, probes, preemption_p50_ns, preemption_p99_ns, host_steal}
//     fallback       "" or the tool's log line saying the low job's queue ran on Level-1 only
//                    (L2/cumask cells: the requested lever was not available)
//     overhead       {ok, error?, low_units_per_s, host_steal, overhead}: the low job alone with
//                    this level's tool; overhead = 1 - tool/baseline (null for level none); read
//                    it against both runs' host_steal (the table shows the pair as `steal o/b`)
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "common/config.h"
#include "tools/command.h"
#include "tools/report/bench_args.h"
#include "tools/report/plot.h"
#include "tools/report/rounds.h"
#include "tools/report/table.h"
#include "tools/report/workload_child.h"
#include "tools/support/host_noise.h"
#include "tools/support/json.h"
#include "tools/support/stats.h"

namespace hsapreempt::tools {
namespace {

using report::Level;

constexpr const char* kUsage =
    "usage: hsapreempt bench preempt [options]\n"
    "Preemption latency (probe submission -> probe kernel start) of a high-priority process\n"
    "beside a low-priority process that keeps the GPU busy with kernels of each duration, per\n"
    "level.\n"
    "  --durations LIST   kernel durations in ms (default 0.1,1,5,20; --quick 1,5)\n"
    "  --levels LIST      of none,1,2,cumask (default all)\n"
    "  --probes N         probes per cell (default 200; --quick 40)\n"
    "  --probe-us US      probe kernel duration (default 10)\n"
    "  --probe-rate R     probes per second at every D (default 250/D per s within 10..100:\n"
    "                     one probe per four low kernels)\n"
    "  --threshold LIST   Level-1 thresholds, one L1 cell each (HSAPREEMPT_THRESHOLD;\n"
    "                     default: the library's, 16); the other levels run with the library's\n"
    "  --seed N           probe arrival seed (default 1; round k uses seed + k - 1)\n"
    "  --rounds N         spread each cell over N rounds of probes/N probes (default 1); each\n"
    "                     round runs every cell, in the reverse order of the round before, so a\n"
    "                     drift in the host's noise falls on every cell alike\n"
    HSAPREEMPT_MAX_STEAL_USAGE
    HSAPREEMPT_DEVICE_CPUS_USAGE
    "  --quick            short run for CI (< 1 minute)\n"
    "  --json             print JSON instead of the table\n"
    "  --csv FILE         also write the table as CSV\n"
    "  --plot-dir DIR     also write PNG plots (needs gnuplot)\n";

struct Options : report::CommonFlags {  // --quick, --json, --csv, --plot-dir
  std::vector<double> durations_ms = {0.1, 1, 5, 20};
  std::vector<Level> levels = {Level::kNoTool, Level::kLevel1, Level::kLevel2, Level::kCuMask};
  int probes = 200;
  double probe_us = 10;
  double probe_rate = 0;  // --probe-rate: probes/s at every D; 0: ProbeRate(D)
  std::vector<double> thresholds;  // Level-1's (--threshold); empty: the library's default
  long long seed = 1;
  int rounds = 1;  // --rounds: every cell's runs, interleaved with the other cells' (Run())
  // --max-steal, as a share: a contention run with more hypervisor steal is measured again
  // (report::RemeasureWhileStolen); >= 1: never.
  double max_steal = report::kDefaultMaxSteal;
  std::string device_cpus = "auto";  // --device-cpus (tools/report/placement.h)
  double low_alone_s = 3;
};

struct Measure {
  bool ok = false;
  std::string error;
  double units_per_s = 0;
  double steal = NAN;  // hypervisor steal during the run: an overhead is read against it
  // Over rounds (AddRun): every run lasts the same, so the plain means.
  int runs = 0;
  FiniteMean units, steals;
};

// Folds one round's run of the low job alone into `total`: a failure in any round fails the whole
// (the first failed round's error is kept); throughput and steal are averaged over the rounds.
void AddRun(const Measure& run, int round, int rounds, Measure* total) {
  if (report::AddRoundOutcome(run.ok, run.error, round, rounds, total)) {
    total->units.Add(run.units_per_s);
  }
  total->steals.Add(run.steal);
  total->units_per_s = total->units.n > 0 ? total->units.value() : 0;
  total->steal = total->steals.value();
}

// What one contention run of a cell measured (Contention()). A cell adds up its runs, one per
// round (AddPart), and is summarised when all are in (Finish).
struct Part {
  bool ok = false;
  std::string error;
  std::string fallback;  // the tool's line saying the low queue runs on Level-1 only, if any
  std::vector<double> pre, rel, delay;  // per probe (ns): submission, release -> start; lateness
  bool path_known = false;              // the low job's device trace was available
  std::vector<double> reaction, save_to_start;  // per probe that waited for a save (ns)
  // Where the probe's device trace has its launch (simulated device): per probe, submission -> the
  // CP's fetch; per probe that waited for a save, start - max(save, fetch).
  std::vector<double> fetch, after_fetch;
  double low_units = 0, window_s = 0;  // the low job's kernels over the probe window, its length
  double preemptions = 0, runlist_updates = 0;  // the low job's, from the device trace
  double steal = NAN;                           // hypervisor steal during the run
};

struct Cell {
  double d_ms = 0;
  size_t d_index = 0;  // of d_ms in Options::durations_ms (and of its baseline)
  Level level = Level::kNoTool;
  int threshold = 0;  // L1: the Level-1 threshold of this cell (0 for the other levels)
  bool threshold_set = false;  // passed as HSAPREEMPT_THRESHOLD (--threshold); else inherited
  // Stage::threshold for this cell's runs: 0 leaves the children their inherited setting.
  int stage_threshold() const { return threshold_set ? threshold : 0; }
  bool ok = false;
  std::string error;
  int probes = 0;
  double probe_rate = 0;
  Distribution pre;  // submission -> probe kernel start (ns): the preemption latency
  Distribution rel;  // release -> probe kernel start (ns): pre plus the probe thread's lateness
  double release_delay_p50 = 0, release_delay_p99 = 0;  // release -> submission (ns)
  std::string target;  // Judge()'s verdict, "" where no target applies
  // The preemption path, split per probe by the low job's device trace (simulated device; L2 and
  // CU mask): probes whose start followed a CWSR save of the low queue after their submission,
  // submission -> that save (the host's reaction: board, scheduler wake-up, ioctl) and save ->
  // start (the modelled queue update and the probe's own dispatch).
  bool path_known = false;
  int path_probes = 0;
  Summary reaction, save_to_start;
  // The simulated CP's part (its fetches from the probe's device trace; none on a real GPU): the
  // probe's submission -> the CP thread first saw it (packet write, the tool's forwarding, the
  // CP's poll), over the probes; and save -> start without a fetch that came after the save,
  // start - max(save, fetch), over the probes via a save. A hardware CP sees a doorbell within
  // microseconds, so where save -> start exceeds the latter the rest was the host thread
  // simulating the CP being late. Their `count`s are the probes they are over.
  Summary fetch, after_fetch;
  double low_units_per_s = 0, kept = NAN, window_s = 0;
  double preemptions = 0, runlist_updates = 0;  // the low job's, from the device trace
  std::string retried_after;  // first attempts' errors of runs that were measured twice
  std::string fallback;  // the tool's line saying the low queue runs on Level-1 only, if any
  Measure overhead;  // low alone with the tool (not for none)
  double steal = NAN;  // hypervisor steal during the contention runs (mean over rounds)
  // The rounds' runs so far (AddPart), summarised by Finish.
  int runs = 0;
  Part all;
  FiniteMean steals;
  std::vector<report::RoundFigures> per_round;  // the preemption latency of each round's run
  std::vector<report::RoundFigures> set_aside;  // runs measured again for steal (--max-steal)
};

std::string Num(double v) { return report::Format("%g", v); }

// `key`: {probes, p50, p99} of a split, or null where no probe had it.
void WriteCounted(const char* key, const Summary& s, json::Writer* w) {
  w->Key(key);
  if (s.count == 0) {
    w->Null();
    return;
  }
  w->BeginObject().Field("probes", static_cast<uint64_t>(s.count)).Field("p50", s.p50);
  w->Field("p99", s.p99).EndObject();
}

// The Level-1 thresholds to sweep: --threshold's, or else the one the children will use: the
// caller's HSAPREEMPT_THRESHOLD (they inherit it) or the library's default, as the library
// reads it.
std::vector<int> L1Thresholds(const Options& o) {
  std::vector<int> t;
  for (double x : o.thresholds) {
    const int v = static_cast<int>(x);
    if (std::find(t.begin(), t.end(), v) == t.end()) t.push_back(v);
  }
  if (t.empty()) t.push_back(static_cast<int>(common::Config::FromEnvironment().threshold));
  return t;
}

// "L1 t=16" for Level-1 (its threshold decides its latency), the level's label otherwise.
std::string CellLabel(const Cell& c) {
  if (c.level != Level::kLevel1) return report::LevelLabel(c.level);
  return report::Format("L1 t=%d", c.threshold);
}

// Probes at random times, sparse enough that most see the low job's steady state rather than the
// previous probe's effect: on average one probe per four low kernels (rate = 250 / D_ms per
// second), kept within [10, 100] per second so a cell takes seconds, not minutes. So the rate
// falls with D from 1 ms on (100/s at 1 ms, 12.5/s at 20 ms), and with it how busy the host is
// between probes; --probe-rate fixes it at every D to tell the two apart.
double ProbeRate(double d_ms) { return std::min(100.0, std::max(10.0, 250.0 / d_ms)); }

std::vector<std::string> LowArgs(double d_ms, double seconds) {
  return {"spin", "--duration-us", Num(d_ms * 1000), "--seconds", Num(seconds), "--wait", "sleep",
          "--priority", "low", "--samples", "--warmup", "0", "--timeout-s", "30"};
}

Measure LowAlone(const Options& o, double d_ms, Level level, int threshold,
                 const std::string& device) {
  report::Stage stage;
  stage.device = device;
  stage.level = level;
  stage.threshold = threshold;
  report::Launch low;
  low.args = LowArgs(d_ms, o.low_alone_s);
  low.env = report::ChildEnv(stage, 10);
  low.timeout_s = o.low_alone_s + 60;
  report::WorkloadRun run = report::RunAll({low})[0];
  report::CleanupStage(stage);
  Measure m;
  m.ok = run.ok;
  m.error = run.error;
  m.steal = run.host_steal;
  if (run.ok) {
    m.units_per_s = report::ThroughputInWindow(run, 0, 1e30).units_per_s;
    if (m.units_per_s <= 0) {
      m.ok = false;
      m.error = "no kernels completed";
    }
  }
  return m;
}

// Per probe, how long after its submission the simulated CP first saw it (the probe's device
// trace; launch_ns 0 where unknown). From the submission, not the doorbell: the probe's thread
// reads the clock after ringing, and on a busy host that read can come later than the CP's
// sighting (measured: up to 70 us at P50 beside a Level-2 low job).
void SplitFetch(const report::WorkloadRun& probe, Part* part) {
  const std::vector<double> submit = probe.SampleArray("submit_ns");
  const std::vector<double> launch = probe.SampleArray("launch_ns");
  for (size_t i = 0; i < submit.size() && i < launch.size(); ++i) {
    if (launch[i] > 0) part->fetch.push_back(launch[i] - submit[i]);
  }
}

// Per probe, the low job's first CWSR save at or after the probe's submission and not after its
// start: the probe waited for the preemption. Needs the device trace (the simulated device).
void SplitPath(const report::WorkloadRun& low, const report::WorkloadRun& probe, Part* part) {
  if (!low.Get("device_trace").Get("available").AsBool()) return;
  std::vector<double> saves = low.SampleArray("preempt_ns");
  std::sort(saves.begin(), saves.end());
  const std::vector<double> submit = probe.SampleArray("submit_ns");
  const std::vector<double> start = probe.SampleArray("start_ns");
  const std::vector<double> launch = probe.SampleArray("launch_ns");
  for (size_t i = 0; i < submit.size() && i < start.size(); ++i) {
    auto it = std::lower_bound(saves.begin(), saves.end(), submit[i]);
    if (it == saves.end() || *it > start[i]) continue;
    part->reaction.push_back(*it - submit[i]);
    part->save_to_start.push_back(start[i] - *it);
    if (i < launch.size() && launch[i] > 0) {
      part->after_fetch.push_back(start[i] - std::max(*it, launch[i]));
    }
  }
  part->path_known = true;
}

// One run of `cell` with `probes` probes: the low job and the probe process on a fresh device.
Part Contention(const Options& o, const std::string& device, const Cell& cell, int probes,
                long long seed, std::string* sim) {
  Part part;
  report::Stage stage;
  stage.device = device;
  stage.level = cell.level;
  stage.threshold = cell.stage_threshold();
  const double probe_s = (probes + 1) / cell.probe_rate;
  // The probe process starts once the low one is running; the low one outlasts it by a margin
  // (process start-up on a busy 2-core machine is a few hundred ms).
  const double start_delay_s = 1.0;
  report::Launch low, probe;
  low.args = LowArgs(cell.d_ms, start_delay_s + probe_s + 3.0);
  low.args.push_back("--trace");  // device preemptions of its queue: did the level act?
  low.env = report::ChildEnv(stage, 10);
  low.timeout_s = start_delay_s + probe_s + 90;
  probe.args = {"probe", "--duration-us", Num(o.probe_us), "--count", std::to_string(probes + 1),
                "--warmup", "1", "--rate", Num(cell.probe_rate), "--arrival", "poisson",
                "--seed", std::to_string(seed), "--priority", "high", "--samples",
                "--wait", "sleep", "--timeout-s", "30",
                "--trace"};  // when the CP fetched each probe (every level alike)
  probe.env = report::ChildEnv(stage, 90);
  probe.delay_s = start_delay_s;
  probe.timeout_s = probe_s + 90;
  std::vector<report::WorkloadRun> runs = report::RunAll({low, probe});
  report::CleanupStage(stage);
  const report::WorkloadRun& lr = runs[0];
  const report::WorkloadRun& pr = runs[1];
  part.steal = lr.host_steal;
  if (sim->empty() && pr.ok) *sim = pr.Get("device").Get("sim").AsString();
  if (!lr.ok || !pr.ok) {
    part.error = !pr.ok ? "probe process: " + pr.error : "low process: " + lr.error;
    return part;
  }
  std::vector<double> rel = pr.SampleArray("release_ns"), end = pr.SampleArray("end_ns");
  if (rel.empty() || end.empty()) {
    part.error = "the probe process measured no probes";
    return part;
  }
  const double t0 = *std::min_element(rel.begin(), rel.end());
  const double t1 = *std::max_element(end.begin(), end.end());
  // Probes outside the low job's run would measure an idle GPU: refuse the run rather than
  // report a flattering figure.
  if (report::CoverageError(lr, t0, t1, "the low-priority job", &part.error)) return part;
  part.pre = pr.Spans("submit_ns", "start_ns");
  part.rel = pr.Latencies("start");
  part.delay = pr.Spans("release_ns", "submit_ns");
  SplitFetch(pr, &part);
  if (cell.level == Level::kLevel2 || cell.level == Level::kCuMask) {
    part.fallback = report::LevelFallback(lr);
    SplitPath(lr, pr, &part);
  }
  const json::Value& trace = lr.Get("device_trace");
  part.preemptions = trace.Get("preemptions").AsNumber();
  part.runlist_updates = trace.Get("runlist_updates").AsNumber();
  report::WindowThroughput w = report::ThroughputInWindow(lr, t0, t1);
  part.low_units = w.units_per_s * w.covered_s;
  part.window_s = w.covered_s;
  part.ok = true;
  return part;
}

// One run's figures for `rounds` / `set_aside_for_steal`: its preemption latency and steal.
report::RoundFigures PartFigures(const Part& part, int round) {
  return report::FiguresOf(part.ok, part.pre, part.steal, round);
}

// Folds one round's run into its cell; a failed run fails the cell (the first failure's error is
// kept, tagged with its round).
void AddPart(Part part, int round, int rounds, Cell* c) {
  c->steals.Add(part.steal);
  c->per_round.push_back(PartFigures(part, round));
  if (!report::AddRoundOutcome(part.ok, part.error, round, rounds, c)) return;
  Part& a = c->all;
  report::AppendSamples(part.pre, &a.pre);
  report::AppendSamples(part.rel, &a.rel);
  report::AppendSamples(part.delay, &a.delay);
  report::AppendSamples(part.reaction, &a.reaction);
  report::AppendSamples(part.save_to_start, &a.save_to_start);
  report::AppendSamples(part.fetch, &a.fetch);
  report::AppendSamples(part.after_fetch, &a.after_fetch);
  a.path_known = (c->runs == 1 || a.path_known) && part.path_known;
  if (a.fallback.empty()) a.fallback = part.fallback;
  a.low_units += part.low_units;
  a.window_s += part.window_s;
  a.preemptions += part.preemptions;
  a.runlist_updates += part.runlist_updates;
}

// The cell's figures over all its runs.
void Finish(Cell* c) {
  c->steal = c->steals.value();
  if (!c->ok) return;
  Part& a = c->all;
  c->pre = Describe(std::move(a.pre));
  c->rel = Describe(std::move(a.rel));
  c->probes = static_cast<int>(c->pre.samples.size());
  const Summary delay = Summarize(a.delay);
  c->release_delay_p50 = delay.p50;
  c->release_delay_p99 = delay.p99;
  c->path_known = a.path_known;
  c->path_probes = static_cast<int>(a.reaction.size());
  c->reaction = Summarize(a.reaction);
  c->save_to_start = Summarize(a.save_to_start);
  c->fetch = Summarize(a.fetch);
  c->after_fetch = Summarize(a.after_fetch);
  c->fallback = a.fallback;
  c->preemptions = a.preemptions;
  c->runlist_updates = a.runlist_updates;
  c->window_s = a.window_s;
  c->low_units_per_s = a.window_s > 0 ? a.low_units / a.window_s : 0;
  a = Part();  // the samples now live in pre/rel; free the rest
}

bool ParseArgs(const std::vector<std::string>& args, Options* o, int* status) {
  report::FlagReader r("bench preempt", kUsage, args, status);
  bool durations_set = false, probes_set = false, max_steal_set = false;
  while (r.NextOwn(o)) {
    double x = 0;
    if (r.Is("--durations")) {
      if (!r.TakeList(0.001, 10000, &o->durations_ms, "ms, 0.001..10000")) return false;
      durations_set = true;
    } else if (r.Is("--levels")) {
      if (!r.TakeLevels(&o->levels)) return false;
    } else if (r.Is("--probes")) {
      if (!r.TakeNumber(1, 100000, &x, /*integer=*/true)) return false;
      o->probes = static_cast<int>(x);
      probes_set = true;
    } else if (r.Is("--probe-rate")) {
      if (!r.TakeNumber(1, 1000, &o->probe_rate)) return false;
    } else if (r.Is("--probe-us")) {
      if (!r.TakeNumber(1, 100000, &o->probe_us)) return false;
    } else if (r.Is("--threshold")) {
      if (!r.TakeList(1, 4096, &o->thresholds, "packets, 1..4096", /*integers=*/true)) return false;
    } else if (r.Is("--seed")) {
      if (!r.TakeNumber(1, 1e15, &x, /*integer=*/true)) return false;
      o->seed = static_cast<long long>(x);
    } else if (r.Is("--rounds")) {
      if (!r.TakeNumber(1, 100, &x, /*integer=*/true)) return false;
      o->rounds = static_cast<int>(x);
    } else if (r.Is("--max-steal")) {
      if (!r.TakeMaxSteal(&o->max_steal)) return false;
      max_steal_set = true;
    } else if (r.Is("--device-cpus")) {
      if (!r.TakeDeviceCpus(&o->device_cpus)) return false;
    } else {
      return r.Unknown();
    }
  }
  if (r.stopped()) return false;
  if (o->quick) {
    if (!durations_set) o->durations_ms = {1, 5};
    if (!probes_set) o->probes = 40;
    if (!max_steal_set) o->max_steal = 1;  // a CI run checks the tool, not the targets
    o->low_alone_s = 1;
  }
  if (o->rounds > o->probes) {
    return r.Fail(report::Format("--rounds %d needs at least as many probes (--probes %d)",
                                 o->rounds, o->probes));
  }
  return true;
}

void WritePlots(const Options& o, const std::vector<Cell>& cells, const std::string& sim) {
  std::string error;
  if (!report::GnuplotAvailable()) {
    std::fprintf(stderr, "hsapreempt bench preempt: gnuplot not found; no plots written "
                         "(use --csv for the data)\n");
    return;
  }
  if (!report::MakeDirs(o.plot_dir, &error)) {
    std::fprintf(stderr, "hsapreempt bench preempt: %s\n", error.c_str());
    return;
  }
  std::vector<report::PlotSpec> specs;
  for (double d : o.durations_ms) {
    report::PlotSpec cdf;
    cdf.name = "preempt_cdf_" + report::Format("%gms", d);
    cdf.title = report::Format("Preemption latency CDF, low-priority kernels of %g ms", d);
    cdf.subtitle = sim;
    cdf.xlabel = "probe submission -> probe kernel start (us)";
    cdf.ylabel = "fraction of probes";
    cdf.logx = true;
    cdf.points = false;
    for (const Cell& c : cells) {
      if (c.d_ms != d || !c.ok) continue;
      std::vector<double> us;
      for (double ns : c.pre.samples) us.push_back(ns / 1000);
      cdf.series.push_back(report::CdfSeries(CellLabel(c), us));
    }
    specs.push_back(cdf);
  }
  for (const char* which : {"p50", "p99"}) {
    report::PlotSpec line;
    line.name = std::string("preempt_") + which + "_vs_duration";
    line.title = std::string("Preemption latency ") + which +
                 " (submission -> start) against low-priority kernel length";
    line.subtitle = sim;
    line.xlabel = "low-priority kernel duration (ms)";
    line.ylabel = std::string(which) + " latency (us)";
    line.logx = line.logy = true;
    std::vector<std::string> labels;  // one series per level (per threshold for Level-1)
    for (const Cell& c : cells) {
      if (std::find(labels.begin(), labels.end(), CellLabel(c)) == labels.end()) {
        labels.push_back(CellLabel(c));
      }
    }
    for (const std::string& label : labels) {
      report::Series s;
      s.title = label;
      for (const Cell& c : cells) {
        if (CellLabel(c) != label || !c.ok) continue;
        s.x.push_back(c.d_ms);
        s.y.push_back((which[1] == '5' ? c.pre.s.p50 : c.pre.s.p99) / 1000);
      }
      line.series.push_back(s);
    }
    specs.push_back(line);
  }
  for (const auto& spec : specs) {
    if (!report::DrawPlot(spec, o.plot_dir, &error)) {
      std::fprintf(stderr, "hsapreempt bench preempt: plot %s: %s\n", spec.name.c_str(),
                   error.c_str());
    } else if (!o.json) {
      std::printf("plot: %s/%s.png\n", o.plot_dir.c_str(), spec.name.c_str());
    }
  }
}

// Issue #6's targets, judged on the preemption latency (submission -> start) the way bench
// two-model judges its own: a point estimate against a threshold, plus " (95% CI spans Tx)" when
// the ratio's interval contains T (the host's noise could have decided the verdict). Targets to
// report against, not to tune for:
// - Level-1 no worse than no scheduling: P50 and P99 within 1.1x of the none cell of the same D
//   (10% for noise, as in two-model).
// - Level-2's P99 independent of D: at every D within 2x of Level-2's P99 at the shortest D
//   measured. Waiting for the kernel in flight grows with D by orders of magnitude (none: ~100x
//   from 0.1 to 20 ms); 2x leaves room for the host's noise, which moves a P99 by that much
//   between runs on a 2-core VM (docs/level2_feasibility.md §6).
constexpr double kL1Tolerance = 1.1, kL2Tolerance = 2.0;

void Judge(std::vector<Cell>* cells) {
  double shortest = INFINITY;
  for (const Cell& c : *cells) {
    if (c.ok && c.level == Level::kLevel2) shortest = std::min(shortest, c.d_ms);
  }
  auto ratio = [](const char* name, double a, double b, const Interval& ia, const Interval& ib) {
    return RatioEstimate{name, b > 0 ? a / b : INFINITY, RatioInterval(ia, ib)};
  };
  for (Cell& c : *cells) {
    if (!c.ok || (c.level == Level::kLevel2 && c.d_ms == shortest)) continue;
    for (const Cell& ref : *cells) {
      if (!ref.ok) continue;
      if (c.level == Level::kLevel1 && ref.level == Level::kNoTool && ref.d_ms == c.d_ms) {
        c.target = RatioVerdict(
            report::Format("<=%gx none", kL1Tolerance), kL1Tolerance,
            {ratio("P50", c.pre.s.p50, ref.pre.s.p50, c.pre.p50_side, ref.pre.p50_side),
             ratio("P99", c.pre.s.p99, ref.pre.s.p99, c.pre.p99_side, ref.pre.p99_side)});
        break;
      }
      if (c.level == Level::kLevel2 && ref.level == Level::kLevel2 && ref.d_ms == shortest) {
        c.target = RatioVerdict(
            report::Format("P99 <=%gx D=%g", kL2Tolerance, shortest), kL2Tolerance,
            {ratio("P99", c.pre.s.p99, ref.pre.s.p99, c.pre.p99_side, ref.pre.p99_side)});
        break;
      }
    }
  }
}

int Run(const std::vector<std::string>& args) {
  Options o;
  int status = kExitOk;
  if (!ParseArgs(args, &o, &status)) return status;
  if (UseSimulatedDevice() && SimLibDir().empty()) {
    std::fprintf(stderr, "hsapreempt bench preempt: simulated device not built (no "
                         "libhsakmt.so.1 next to the tools)\n");
    return kExitUnsupported;
  }
  report::Placement placement;
  std::string placement_error;
  if (!report::ApplyPlacement(o.device_cpus, &placement, &placement_error)) {
    std::fprintf(stderr, "hsapreempt bench preempt: %s\n", placement_error.c_str());
    return kExitUsage;
  }
  const WakeupCheck host = report::CheckHostBeforeRuns(o.quick);
  const std::string prefix = "bpre-" + std::to_string(getpid()) + "-";
  int serial = 0;
  const std::vector<int> l1_thresholds = L1Thresholds(o);
  // Cells per duration: one per level, one per threshold for Level-1.
  std::vector<std::pair<Level, int>> variants;
  for (Level level : o.levels) {
    if (level != Level::kLevel1) {
      variants.emplace_back(level, 0);
      continue;
    }
    for (int t : l1_thresholds) variants.emplace_back(level, t);
  }
  // Every run of a round, in order: per duration the low job alone, then per variant the low job
  // alone with the tool (not for none) and the contention run.
  enum class Kind { kBaseline, kOverhead, kContention };
  struct Step {
    Kind kind;
    size_t d;     // index into durations_ms / baselines
    size_t cell;  // index into cells (overhead, contention)
  };
  std::vector<Measure> baselines(o.durations_ms.size());
  std::vector<Cell> cells;
  std::vector<Step> order;
  for (size_t di = 0; di < o.durations_ms.size(); ++di) {
    order.push_back({Kind::kBaseline, di, 0});
    for (const auto& [level, threshold] : variants) {
      Cell c;
      c.d_ms = o.durations_ms[di];
      c.d_index = di;
      c.level = level;
      c.threshold = threshold;
      c.threshold_set = level == Level::kLevel1 && !o.thresholds.empty();
      c.probe_rate = o.probe_rate > 0 ? o.probe_rate : ProbeRate(c.d_ms);
      if (level != Level::kNoTool) order.push_back({Kind::kOverhead, di, cells.size()});
      order.push_back({Kind::kContention, di, cells.size()});
      cells.push_back(c);
    }
  }
  report::Progress progress(order.size() * static_cast<size_t>(o.rounds));
  std::string sim;
  for (int round = 0; round < o.rounds; ++round) {
    // This round's share of the probes (the first probes % rounds rounds take one more), on its
    // own arrival seed.
    const int probes = o.probes / o.rounds + (round < o.probes % o.rounds ? 1 : 0);
    const long long seed = o.seed + round;
    progress.SetRound(round, o.rounds);
    for (size_t i = 0; i < order.size(); ++i) {
      // Every other round backwards: a steady drift of the host's noise lands on every cell alike.
      const Step& st = order[report::RoundStep(i, order.size(), round)];
      const double d = o.durations_ms[st.d];
      const std::string device = prefix + std::to_string(serial++);
      if (st.kind == Kind::kBaseline) {
        progress(report::Format("D=%g ms: low job alone, no tool", d));
        AddRun(LowAlone(o, d, Level::kNoTool, 0, device), round, o.rounds, &baselines[st.d]);
        continue;
      }
      Cell& c = cells[st.cell];
      if (st.kind == Kind::kOverhead) {
        progress(report::Format("D=%g ms %s: low job alone with the tool", d,
                                CellLabel(c).c_str()));
        AddRun(LowAlone(o, d, c.level, c.stage_threshold(), device), round, o.rounds, &c.overhead);
        continue;
      }
      progress(report::Format("D=%g ms %s: %d probes at %.0f/s", d, CellLabel(c).c_str(), probes,
                              c.probe_rate));
      Part part = Contention(o, device, c, probes, seed, &sim);
      if (!part.ok) {
        // One retry on a fresh device: a transient failure (a starved start-up, an intermittent
        // clock-check violation) stays visible in retried_after instead of failing the sweep.
        progress.AddStep();
        progress(report::Format("  failed (%s); retrying once", part.error.c_str()));
        const std::string first = report::RoundTag(round, o.rounds) + part.error;
        part = Contention(o, prefix + std::to_string(serial++), c, probes, seed, &sim);
        c.retried_after += (c.retried_after.empty() ? "" : "; ") + first;
      }
      part = report::TakeLeastStolen(
          std::move(part), o.max_steal, round, &progress,
          [&] { return Contention(o, prefix + std::to_string(serial++), c, probes, seed, &sim); },
          [](const Part& p) { return p.steal; },
          PartFigures, &c.set_aside);
      AddPart(std::move(part), round, o.rounds, &c);
    }
  }
  for (Cell& c : cells) {
    Finish(&c);
    const Measure& base = baselines[c.d_index];
    if (c.ok && base.ok) c.kept = c.low_units_per_s / base.units_per_s;
  }
  if (!UseSimulatedDevice()) sim = "";
  bool all_ok = true;
  for (const auto& b : baselines) all_ok &= b.ok;
  for (const auto& c : cells) all_ok &= c.ok && (c.level == Level::kNoTool || c.overhead.ok);

  Judge(&cells);
  report::Table table({"D (ms)", "level", "probes", "P50 (us)", "P50 CI", "P99 (us)", "P99 CI",
                       "max (us)", "rel P50", "rel P99", "host late P50", "steal", "low kept",
                       "overhead", "steal o/b", "preempts", "via save", "react P50/P99",
                       "s2s P99", "fetch P50/P99", "target", "status"});
  for (const Cell& c : cells) {
    const Measure& base = baselines[c.d_index];
    std::string overhead = "-";
    if (c.level != Level::kNoTool) {
      overhead =
          c.overhead.ok && base.ok
              ? report::Format("%+.1f%%", 100 * (1 - c.overhead.units_per_s / base.units_per_s))
              : "failed";
    }
    std::string status_text = c.ok ? (c.fallback.empty() ? "ok" : "ok; fell back to Level-1")
                                   : "FAILED: " + c.error;
    if (c.ok && !c.retried_after.empty()) status_text += " (2nd attempt)";
    if (c.ok) status_text += report::SetAsideNote(c.set_aside.size());
    if (c.ok && c.level != Level::kNoTool && !c.overhead.ok) {
      status_text = "FAILED (overhead run): " + c.overhead.error;
    }
    table.AddRow({Num(c.d_ms), CellLabel(c), c.ok ? std::to_string(c.probes) : "-",
                  c.ok ? report::Format("%.1f", c.pre.s.p50 / 1000) : "-",
                  c.ok ? FormatInterval(c.pre.p50_ci, 1000, 0) : "-",
                  c.ok ? report::Format("%.1f", c.pre.s.p99 / 1000) : "-",
                  c.ok ? FormatInterval(c.pre.p99_ci, 1000, 0) : "-",
                  c.ok ? report::Format("%.1f", c.pre.s.max / 1000) : "-",
                  c.ok ? report::Format("%.1f", c.rel.s.p50 / 1000) : "-",
                  c.ok ? report::Format("%.1f", c.rel.s.p99 / 1000) : "-",
                  c.ok ? report::Format("%.1f", c.release_delay_p50 / 1000) : "-",
                  FormatSteal(c.steal),
                  c.ok && std::isfinite(c.kept) ? report::Format("%.1f%%", 100 * c.kept) : "-",
                  overhead,
                  c.level == Level::kNoTool
                      ? std::string("-")
                      : FormatSteal(c.overhead.steal) + "/" + FormatSteal(base.steal),
                  c.ok ? report::Format("%.0f", c.preemptions) : "-",
                  c.path_known ? report::Format("%.0f%%", 100.0 * c.path_probes /
                                                              std::max(1, c.probes))
                               : "-",
                  c.path_known && c.path_probes > 0
                      ? report::Format("%.0f/%.0f", c.reaction.p50 / 1000, c.reaction.p99 / 1000)
                      : "-",
                  c.path_known && c.path_probes > 0
                      ? report::Format("%.0f", c.save_to_start.p99 / 1000) +
                            (c.after_fetch.count > 0
                                 ? report::Format(" (%.0f)", c.after_fetch.p99 / 1000)
                                 : "")
                      : "-",
                  c.ok && c.fetch.count > 0
                      ? report::Format("%.0f/%.0f", c.fetch.p50 / 1000, c.fetch.p99 / 1000)
                      : "-",
                  c.target.empty() ? "-" : c.target, status_text});
  }
  if (!o.csv.empty()) {
    std::string error;
    if (!report::WriteTextFile(o.csv, table.Csv(), &error)) {
      std::fprintf(stderr, "hsapreempt bench preempt: %s\n", error.c_str());
      all_ok = false;
    }
  }
  if (!o.plot_dir.empty()) WritePlots(o, cells, sim);

  if (o.json) {
    json::Writer w;
    w.BeginObject().Field("bench", "preempt").Field("ok", all_ok).Field("quick", o.quick);
    w.Field("sim", sim);
    w.Key("host");
    WriteWakeupCheck(host, &w);
    w.Key("placement");
    report::WritePlacement(placement, &w);
    w.Key("config").BeginObject().Key("durations_ms").BeginArray();
    for (double d : o.durations_ms) w.Number(d);
    w.EndArray().Key("levels").BeginArray();
    for (Level l : o.levels) w.String(report::LevelLabel(l));
    w.EndArray().Field("probes", o.probes).Field("probe_us", o.probe_us);
    w.Key("probe_rate");
    if (o.probe_rate > 0) w.Number(o.probe_rate); else w.Null();
    w.Key("thresholds").BeginArray();
    for (int t : l1_thresholds) w.Int(t);
    w.EndArray().Field("seed", static_cast<int64_t>(o.seed)).Field("rounds", o.rounds);
    report::WriteMaxSteal(o.max_steal, &w);
    w.Field("low_alone_s", o.low_alone_s).EndObject();
    w.Key("baseline").BeginArray();
    for (size_t i = 0; i < baselines.size(); ++i) {
      w.BeginObject().Field("duration_ms", o.durations_ms[i]).Field("ok", baselines[i].ok);
      if (!baselines[i].ok) w.Field("error", baselines[i].error);
      w.Field("low_units_per_s", baselines[i].units_per_s);
      w.Field("host_steal", baselines[i].steal).EndObject();
    }
    w.EndArray().Key("cells").BeginArray();
    for (const Cell& c : cells) {
      w.BeginObject().Field("duration_ms", c.d_ms).Field("level", report::LevelLabel(c.level));
      w.Key("threshold");
      if (c.level == Level::kLevel1) w.Int(c.threshold); else w.Null();
      w.Field("ok", c.ok);
      if (!c.ok) w.Field("error", c.error);
      w.Field("probes", c.probes).Field("probe_rate", c.probe_rate);
      WriteSummary(c.pre.s, "preemption_ns", &w);
      WriteInterval(c.pre.p50_ci, "preemption_p50_ci_ns", &w);
      WriteInterval(c.pre.p99_ci, "preemption_p99_ci_ns", &w);
      WriteSummary(c.rel.s, "latency_ns", &w);
      WriteInterval(c.rel.p50_ci, "latency_p50_ci_ns", &w);
      WriteInterval(c.rel.p99_ci, "latency_p99_ci_ns", &w);
      w.Key("release_delay_ns").BeginObject().Field("p50", c.release_delay_p50);
      w.Field("p99", c.release_delay_p99).EndObject();
      w.Key("submit_to_start_ns").BeginObject().Field("p50", c.pre.s.p50);
      w.Field("p99", c.pre.s.p99).EndObject();
      w.Field("target", c.target);
      w.Key("preemption_path");
      if (!c.path_known) {
        w.Null();
      } else {
        w.BeginObject().Field("probes", c.path_probes);
        w.Key("reaction_ns").BeginObject().Field("p50", c.reaction.p50);
        w.Field("p99", c.reaction.p99).EndObject();
        w.Key("save_to_start_ns").BeginObject().Field("p50", c.save_to_start.p50);
        w.Field("p99", c.save_to_start.p99).EndObject();
        WriteCounted("after_fetch_ns", c.after_fetch, &w);
        w.EndObject();
      }
      WriteCounted("fetch_ns", c.fetch, &w);
      w.Field("low_units_per_s", c.low_units_per_s);
      w.Field("host_steal", c.steal).Field("throughput_kept", c.kept);  // NaN is written as null
      w.Field("window_s", c.window_s).Field("preemptions", c.preemptions);
      w.Field("runlist_updates", c.runlist_updates).Field("fallback", c.fallback);
      w.Field("retried_after", c.retried_after);
      report::WriteRounds(c.per_round, "probes", "preemption_p50_ns", "preemption_p99_ns", &w);
      report::WriteRounds(c.set_aside, "probes", "preemption_p50_ns", "preemption_p99_ns", &w,
                          "set_aside_for_steal", /*with_round=*/true);
      w.Key("overhead");
      if (c.level == Level::kNoTool) {
        w.Null();
      } else {
        const Measure& base = baselines[c.d_index];
        w.BeginObject().Field("ok", c.overhead.ok);
        if (!c.overhead.ok) w.Field("error", c.overhead.error);
        w.Field("low_units_per_s", c.overhead.units_per_s).Field("host_steal", c.overhead.steal);
        w.Key("overhead");
        if (c.overhead.ok && base.ok) w.Number(1 - c.overhead.units_per_s / base.units_per_s);
        else w.Null();
        w.EndObject();
      }
      w.EndObject();
    }
    w.EndArray().EndObject();
    std::printf("%s\n", w.str().c_str());
    return all_ok ? kExitOk : kExitFailed;
  }

  std::printf("%s\n", sim.empty() ? "device: real GPU" : sim.c_str());
  std::printf("%s\n", report::HostLine(host).c_str());
  std::printf("%s\n", report::PlacementLine(placement).c_str());
  for (const Cell& c : cells) {
    if (!c.fallback.empty()) {
      std::printf("note: D=%g ms %s: %s\n", c.d_ms, CellLabel(c).c_str(), c.fallback.c_str());
    }
  }
  if (o.rounds > 1) {
    std::printf("rounds: %d, interleaved (each round ran every cell with its share of the %d "
                "probes, in reverse order every other round); figures over all rounds, kept and "
                "steal their means\n", o.rounds, o.probes);
  }
  const std::string steal_line = report::MaxStealLine(o.max_steal, "a probe run");
  if (!steal_line.empty()) std::printf("%s\n", steal_line.c_str());
  std::printf("preemption latency (P50, P99, max) = probe submission -> probe kernel start "
              "(device clock); rel = from the probe's scheduled release instead, i.e. plus host "
              "late, the probe thread's own lateness (release -> submission); %sprobe kernels of "
              "%g us; low kept = low job's kernels/s during the probes vs alone without the tool; "
              "via save = probes that started after a CWSR save of the low queue following their "
              "submission (simulated device's trace; L2, CU mask), react = submission -> that save "
              "(us), s2s P99 = that save -> probe start (us; in brackets start - max(save, fetch), "
              "the model's part once the CP has the probe); fetch = probe submission -> the "
              "simulated CP first saw it (us); "
              "overhead = low job alone, tool vs no tool; steal = hypervisor's share of the CPU "
              "time during the cell (steal o/b: the overhead run's / the baseline's); CI = 95%% "
              "distribution-free interval of the percentile, inf where the probes cannot bound it "
              "(a P99 needs >= %zu); target = Level-1's P50 and P99 within %gx of none at the same "
              "D, Level-2's P99 within %gx of its P99 at the shortest D (a ratio's interval needs "
              ">= %zu probes per cell)\n",
              o.quick ? "quick run, " : "", o.probe_us, MinSamplesToBound(99, kCi), kL1Tolerance,
              kL2Tolerance, MinSamplesToBound(99, kCiSide));
  for (size_t i = 0; i < baselines.size(); ++i) {
    std::printf("baseline D=%g ms: %s\n", o.durations_ms[i],
                baselines[i].ok ? report::Format("%.1f kernels/s", baselines[i].units_per_s).c_str()
                                : ("FAILED: " + baselines[i].error).c_str());
  }
  table.Print(stdout);
  return all_ok ? kExitOk : kExitFailed;
}

}  // namespace

HSAPREEMPT_COMMAND("bench preempt", "preemption latency per level (probe beside a busy GPU)", Run);

}  // namespace hsapreempt::tools
