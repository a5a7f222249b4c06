// Running hsapreempt-workload children for the benchmarks: the environment of each preemption
// level, concurrent launches with start delays, every run under a timeout (a benchmark never
// hangs: a child that overruns is killed and its cell reported as failed), and throughput over a
// time window from per-unit device timestamps.
#ifndef TOOLS_REPORT_WORKLOAD_CHILD_H_
#define TOOLS_REPORT_WORKLOAD_CHILD_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/support/host_noise.h"
#include "tools/support/json.h"

namespace hsapreempt::tools::report {

// What the benchmarks compare. kNoTool runs without HSA_TOOLS_LIB (the unscheduled baseline);
// the others load libhsapreempt.so with HSAPREEMPT_LEVEL=1|2|cumask.
enum class Level { kNoTool, kLevel1, kLevel2, kCuMask };

const char* LevelLabel(Level level);  // "none", "L1", "L2", "cumask"
// Parses "none|1|2|cumask" (also "l1", "l2"). False on anything else.
bool ParseLevelName(const std::string& text, Level* out);

// One simulated GPU + one scheduler board shared by the processes of one measurement.
struct Stage {
  std::string device;  // HSAPREEMPT_SIM_DEVICE and HSAPREEMPT_BOARD (unique per measurement)
  Level level = Level::kNoTool;
  std::string policy = "priority";
  int threshold = 0;   // HSAPREEMPT_THRESHOLD (0: library default)
  std::vector<std::string> extra_env;  // "NAME=value" added to every child (e.g. HSAPREEMPT_SIM_*)
};

// The environment of one child on `stage` at scheduler priority `priority` (0..99). With the tool,
// HSAPREEMPT_LOG_LEVEL=info (unless the caller set a level), so LevelFallback() can tell which
// level really acted: info logs once per queue, never per packet.
std::vector<std::string> ChildEnv(const Stage& stage, int priority);

// Removes the stage's simulated device segment, sysfs tree and board (best effort).
void CleanupStage(const Stage& stage);

struct Launch {
  std::vector<std::string> args;  // hsapreempt-workload arguments (mode first)
  std::vector<std::string> env;
  double delay_s = 0;             // start this long after the first launch
  double timeout_s = 120;
};

struct WorkloadRun {
  bool ok = false;
  std::string error;   // one line when !ok
  json::Value out;     // the workload's JSON (may be partial/null when !ok)
  std::string err;     // the child's stderr (the tool logs at info level: see ChildEnv)
  double wall_s = 0;
  // Share of the machine's CPU time the hypervisor stole while RunAll ran (the same for every
  // run of one call; NaN when /proc/stat has no steal figure). tools/support/host_noise.h.
  double host_steal = NAN;

  const json::Value& Get(const std::string& key) const { return out.Get(key); }
  // "samples" arrays as numbers (empty when absent).
  std::vector<double> SampleArray(const std::string& key) const;
  // Per unit, samples[to_key] - samples[from_key] (ns), e.g. "submit_ns" -> "start_ns".
  std::vector<double> Spans(const std::string& from_key, const std::string& to_key) const;
  // The per-unit derived latencies (end/start - release) from the samples.
  std::vector<double> Latencies(const std::string& which) const;  // "start" or "end"
};

// "" when the tool used the requested level; otherwise the tool's first log line saying a queue
// runs on Level-1 only or fell back to Level-1 (e.g. the KFD queue id was unknown).
std::string LevelFallback(const WorkloadRun& run);

// Path of hsapreempt-workload next to the running tool.
std::string WorkloadPath();

// The host's noise floor before a benchmark's runs (tools/support/host_noise.h): says so on
// stderr (progress) and runs the wake-up check, 2 s (1 s with --quick).
WakeupCheck CheckHostBeforeRuns(bool quick);
// The benchmark's `host:` line for that check (no newline).
std::string HostLine(const WakeupCheck& check);

// Runs the launches concurrently (one thread each), each after its delay. Blocks until all end.
// Each run's host_steal is the steal over the whole call.
std::vector<WorkloadRun> RunAll(const std::vector<Launch>& launches);

struct WindowThroughput {
  double units_per_s = 0;
  double covered_s = 0;  // part of the window the job's samples covered
};

// True (with a one-line *error naming `who` and the times) when `background` (run with
// --samples) did not run from before t0 until after t1: the foreground then measured a partly
// idle GPU, and the cell must be reported as failed rather than flattering.
bool CoverageError(const WorkloadRun& background, double t0_ns, double t1_ns,
                   const std::string& who, std::string* error);

// Throughput of a job (run with --samples) over [t0_ns, t1_ns]: unit i occupies
// (end[i-1], end[i]] (the first unit from its release), and each unit counts by the fraction of
// that interval inside the window. Exact for closed loops and for a pipelined stream that keeps
// the device busy; the window is cut to the span the samples cover.
WindowThroughput ThroughputInWindow(const WorkloadRun& run, double t0_ns, double t1_ns);

}  // namespace hsapreempt::tools::report

#endif  // TOOLS_REPORT_WORKLOAD_CHILD_H_
