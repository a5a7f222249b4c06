#include "tools/report/workload_child.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "sched/board.h"
#include "tools/command.h"
#include "tools/report/table.h"
#include "tools/support/sim_info.h"
#include "tools/support/subprocess.h"

namespace hsapreempt::tools::report {

const char* LevelLabel(Level level) {
  switch (level) {
    case Level::kNoTool: return "none";
    case Level::kLevel1: return "L1";
    case Level::kLevel2: return "L2";
    case Level::kCuMask: return "cumask";
  }
  return "?";
}

bool ParseLevelName(const std::string& text, Level* out) {
  if (text == "none") *out = Level::kNoTool;
  else if (text == "1" || text == "l1" || text == "L1") *out = Level::kLevel1;
  else if (text == "2" || text == "l2" || text == "L2") *out = Level::kLevel2;
  else if (text == "cumask") *out = Level::kCuMask;
  else return false;
  return true;
}

std::vector<std::string> ChildEnv(const Stage& stage, int priority) {
  std::vector<std::string> env = DeviceEnvironment();
  env.push_back("HSAPREEMPT_SIM_DEVICE=" + stage.device);
  env.push_back("HSA_ENABLE_SDMA=0");
  // The bench decides whether the tool is loaded: never inherit the caller's.
  if (stage.level == Level::kNoTool) {
    env.push_back("HSA_TOOLS_LIB=");
  } else {
    env.push_back("HSA_TOOLS_LIB=" + ToolLibPath());
    env.push_back(std::string("HSAPREEMPT_LEVEL=") +
                  (stage.level == Level::kLevel1 ? "1" : stage.level == Level::kLevel2 ? "2"
                                                                                       : "cumask"));
    env.push_back("HSAPREEMPT_BOARD=" + stage.device);
    env.push_back("HSAPREEMPT_PRIORITY=" + std::to_string(priority));
    env.push_back("HSAPREEMPT_POLICY=" + stage.policy);
    if (std::getenv("HSAPREEMPT_LOG_LEVEL") == nullptr) env.push_back("HSAPREEMPT_LOG_LEVEL=info");
    if (stage.threshold > 0) {
      env.push_back("HSAPREEMPT_THRESHOLD=" + std::to_string(stage.threshold));
      env.push_back("HSAPREEMPT_BATCH=" + std::to_string(std::max(1, stage.threshold / 2)));
    }
  }
  env.insert(env.end(), stage.extra_env.begin(), stage.extra_env.end());
  return env;
}

void CleanupStage(const Stage& stage) {
  RemoveSimDeviceFiles(stage.device);
  unlink(sched::Board::PathFor(stage.device).c_str());
}

std::vector<double> WorkloadRun::SampleArray(const std::string& key) const {
  std::vector<double> v;
  for (const json::Value& x : out.Get("samples").Get(key).items()) v.push_back(x.AsNumber());
  return v;
}

std::vector<double> WorkloadRun::Spans(const std::string& from_key,
                                       const std::string& to_key) const {
  std::vector<double> from = SampleArray(from_key);
  std::vector<double> to = SampleArray(to_key);
  std::vector<double> span;
  for (size_t i = 0; i < from.size() && i < to.size(); ++i) span.push_back(to[i] - from[i]);
  return span;
}

std::vector<double> WorkloadRun::Latencies(const std::string& which) const {
  return Spans("release_ns", which == "start" ? "start_ns" : "end_ns");
}

bool CoverageError(const WorkloadRun& background, double t0_ns, double t1_ns,
                   const std::string& who, std::string* error) {
  std::vector<double> rel = background.SampleArray("release_ns");
  std::vector<double> end = background.SampleArray("end_ns");
  if (rel.empty() || end.empty()) {
    *error = who + " completed no units";
    return true;
  }
  const double first = *std::min_element(rel.begin(), rel.end());
  const double last = *std::max_element(end.begin(), end.end());
  if (first <= t0_ns && last >= t1_ns) return false;
  *error = Format("%s did not run through the measured window (it ran %.3f..%.3f s, the window "
                  "is 0..%.3f s): start-up too slow on this machine?",
                  who.c_str(), (first - t0_ns) * 1e-9, (last - t0_ns) * 1e-9,
                  (t1_ns - t0_ns) * 1e-9);
  return true;
}

std::string LevelFallback(const WorkloadRun& run) {
  size_t pos = std::string::npos;
  for (const char* marker : {"Level-1 only", "falling back to Level-1"}) {
    pos = std::min(pos, run.err.find(marker));
  }
  if (pos == std::string::npos) return "";
  size_t begin = run.err.rfind('\n', pos);
  begin = begin == std::string::npos ? 0 : begin + 1;
  size_t end = run.err.find('\n', pos);
  return run.err.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

std::string WorkloadPath() { return BinDir() + "/hsapreempt-workload"; }

namespace {

WorkloadRun RunOne(const Launch& launch) {
  RunOptions opts;
  opts.env = launch.env;
  opts.timeout_s = launch.timeout_s;
  std::vector<std::string> argv = {WorkloadPath()};
  argv.insert(argv.end(), launch.args.begin(), launch.args.end());
  RunResult r = RunProcess(argv, opts);
  WorkloadRun run;
  run.wall_s = r.wall_s;
  run.err = r.err;
  std::string parse_error;
  const bool parsed = json::Parse(r.out, &run.out, &parse_error);
  std::string err = r.err;
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  if (size_t nl = err.rfind('\n'); nl != std::string::npos) err = err.substr(nl + 1);
  if (parsed && r.ok() && run.out.Get("ok").AsBool()) {
    run.ok = true;
    const json::Value& check = run.out.Get("clock_check");
    if (check.Get("violations").AsNumber() > 0) {
      run.ok = false;
      run.error = Format("clock check failed: %.0f of %.0f units had device time outside host "
                         "submit..done (max skew %.1f us)",
                         check.Get("violations").AsNumber(), check.Get("checked").AsNumber(),
                         check.Get("max_skew_ns").AsNumber() / 1000);
    }
    return run;
  }
  if (parsed && !run.out.Get("error").AsString().empty()) {
    run.error = run.out.Get("error").AsString() + " (" + r.Describe() + ")";
  } else {
    run.error = r.Describe() + (err.empty() ? "" : ": " + err);
  }
  return run;
}

}  // namespace

WakeupCheck CheckHostBeforeRuns(bool quick) {
  const double seconds = quick ? 1.0 : 2.0;
  std::fprintf(stderr, "host wake-up check (%g s)\n", seconds);
  return CheckWakeups(seconds);
}

std::string HostLine(const WakeupCheck& check) {
  return "host: " + DescribeWakeupCheck(check) +
         " (the host's own noise floor, inside every latency below)";
}

std::vector<WorkloadRun> RunAll(const std::vector<Launch>& launches) {
  std::vector<WorkloadRun> runs(launches.size());
  std::vector<std::thread> threads;
  const CpuTimes before = ReadCpuTimes();
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < launches.size(); ++i) {
    threads.emplace_back([&, i] {
      std::this_thread::sleep_until(
          t0 + std::chrono::microseconds(static_cast<int64_t>(launches[i].delay_s * 1e6)));
      runs[i] = RunOne(launches[i]);
    });
  }
  for (auto& t : threads) t.join();
  const double steal = StealFraction(before, ReadCpuTimes());
  for (auto& r : runs) r.host_steal = steal;
  return runs;
}

WindowThroughput ThroughputInWindow(const WorkloadRun& run, double t0_ns, double t1_ns) {
  // A closed loop's first unit starts at its release; a pipelined stream's first unit is
  // released when the stream starts, within a dispatch of its start.
  WindowThroughput w;
  std::vector<double> release = run.SampleArray("release_ns");
  std::vector<double> end = run.SampleArray("end_ns");
  if (end.empty() || release.size() != end.size()) return w;
  std::sort(end.begin(), end.end());
  const double first = *std::min_element(release.begin(), release.end());
  t0_ns = std::max(t0_ns, first);
  t1_ns = std::min(t1_ns, end.back());
  if (t1_ns <= t0_ns) return w;
  double units = 0;
  double prev = first;
  for (double e : end) {
    const double lo = std::max(prev, t0_ns), hi = std::min(e, t1_ns);
    if (hi > lo && e > prev) units += (hi - lo) / (e - prev);
    prev = e;
  }
  w.covered_s = (t1_ns - t0_ns) * 1e-9;
  w.units_per_s = units / w.covered_s;
  return w;
}

}  // namespace hsapreempt::tools::report
