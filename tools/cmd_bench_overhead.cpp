// `hsapreempt bench overhead`: what libhsapreempt.so costs a program that it does not need to
// preempt. Runs the same submission stream with and without the tool, interleaved (A B A B ...) so
// a noisy machine hurts both sides alike, and reports medians over the repetitions:
//   1. added host time per packet on the submission path (hsapreempt-submit-probe: reserve, write,
//      publish, ring the doorbell; target < 1 us added),
//   2. throughput of a stream of 10 us kernels on one queue (hsapreempt-workload spin; target
//      >= 95% of the run without the tool),
//   3. Level-1's effect on one queue's throughput for thresholds 1..64 (HSAPREEMPT_LEVEL=1 with
//      HSAPREEMPT_THROTTLE=always: by default a queue alone on the board is never throttled, since
//      nothing could preempt it, so the bound would not show).
// Every figure is printed with the simulated device's description.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "sched/board.h"
#include "tools/command.h"
#include "tools/support/json.h"
#include "tools/support/sim_info.h"
#include "tools/support/subprocess.h"

namespace hsapreempt::tools {
namespace {

struct Child {
  bool ok = false;
  std::string error;
  json::Value out;
};

struct Env {
  std::string device, board;
};

Child RunChild(const std::string& program, const std::vector<std::string>& args, const Env& env,
               bool with_tool, const std::vector<std::string>& tool_env) {
  RunOptions opts;
  opts.env = DeviceEnvironment();
  opts.env.push_back("HSAPREEMPT_SIM_DEVICE=" + env.device);
  opts.env.push_back("HSAPREEMPT_BOARD=" + env.board);
  opts.env.push_back("HSA_ENABLE_SDMA=0");
  // Without the tool the variable must be unset, not inherited from the caller.
  opts.env.push_back(with_tool ? "HSA_TOOLS_LIB=" + ToolLibPath() : "HSA_TOOLS_LIB=");
  if (with_tool) opts.env.insert(opts.env.end(), tool_env.begin(), tool_env.end());
  opts.timeout_s = 300;
  std::vector<std::string> argv = {BinDir() + "/" + program};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = RunProcess(argv, opts);
  Child c;
  std::string error;
  size_t brace = r.out.find('{');
  if (brace == std::string::npos || !json::Parse(r.out.substr(brace), &c.out, &error)) {
    c.error = program + ": " + r.Describe() + (r.err.empty() ? "" : ": " + r.err);
    while (!c.error.empty() && c.error.back() == '\n') c.error.pop_back();
    return c;
  }
  c.ok = r.ok() && c.out.Get("ok").AsBool();
  if (!c.ok) c.error = c.out.Get("error").AsString().empty() ? r.Describe() : c.out.Get("error").AsString();
  return c;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// One measured quantity over repetitions, with and without the tool.
struct Pair {
  std::vector<double> without, with;
  std::string error;
  double base() const { return Median(without); }
  double tool() const { return Median(with); }
};

struct Options {
  bool json = false;
  int reps = 3;
  std::string kernels_per_run = "4000";
  std::string probe_packets = "20000";
};

int Run(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") {
      o.json = true;
    } else if (a == "--quick") {
      o.reps = 1;
      o.kernels_per_run = "1000";
      o.probe_packets = "5000";
    } else if (a == "--reps" && i + 1 < args.size()) {
      o.reps = std::atoi(args[++i].c_str());
      if (o.reps < 1 || o.reps > 50) {
        std::fprintf(stderr, "hsapreempt bench overhead: --reps must be 1..50\n");
        return kExitUsage;
      }
    } else if (a == "--help" || a == "-h") {
      std::printf("usage: hsapreempt bench overhead [--quick] [--reps N] [--json]\n"
                  "Added submission time per packet, 10 us kernel throughput with vs without the\n"
                  "tool, and Level-1 throughput for thresholds 1..64 (one queue, no contention).\n");
      return kExitOk;
    } else {
      std::fprintf(stderr, "hsapreempt bench overhead: unknown argument '%s'\n", a.c_str());
      return kExitUsage;
    }
  }
  if (!UseSimulatedDevice()) {
    std::fprintf(stderr, "hsapreempt bench overhead: note: running on the real device\n");
  } else if (SimLibDir().empty()) {
    std::fprintf(stderr, "hsapreempt bench overhead: simulated device not built\n");
    return kExitUnsupported;
  }
  Env env{"bench-overhead-" + std::to_string(getpid()), "bench-overhead-" + std::to_string(getpid())};
  std::string sim;
  auto note_sim = [&](const Child& c) {
    if (sim.empty() && c.ok) sim = c.out.Get("device").Get("sim").AsString();
  };

  // 1. Submission cost.
  Pair submit_mean, submit_p50;
  for (int rep = 0; rep < o.reps; ++rep) {
    for (bool tool : {false, true}) {
      Child c = RunChild("hsapreempt-submit-probe", {"--packets", o.probe_packets}, env, tool, {});
      if (!c.ok) {
        submit_mean.error = c.error;
        continue;
      }
      (tool ? submit_mean.with : submit_mean.without)
          .push_back(c.out.Get("submit_ns").Get("trim99_mean").AsNumber());
      (tool ? submit_p50.with : submit_p50.without)
          .push_back(c.out.Get("submit_ns").Get("p50").AsNumber());
    }
  }

  // 2. 10 us kernels, one queue, flat out.
  const std::vector<std::string> stream = {"spin", "--duration-us", "10", "--count",
                                           o.kernels_per_run, "--inflight", "64", "--wait",
                                           "yield", "--warmup", "10"};
  Pair tput;
  for (int rep = 0; rep < o.reps; ++rep) {
    for (bool tool : {false, true}) {
      Child c = RunChild("hsapreempt-workload", stream, env, tool, {});
      note_sim(c);
      if (!c.ok) {
        tput.error = c.error;
        continue;
      }
      (tool ? tput.with : tput.without).push_back(c.out.Get("units_per_s").AsNumber());
    }
  }

  // 3. Level-1 thresholds (batch = half the threshold), same stream.
  const std::vector<int> thresholds = {1, 2, 4, 8, 16, 32, 64};
  std::vector<std::vector<double>> level1(thresholds.size());
  std::string level1_error;
  for (int rep = 0; rep < o.reps; ++rep) {
    for (size_t k = 0; k < thresholds.size(); ++k) {
      const int t = thresholds[k];
      Child c = RunChild("hsapreempt-workload", stream, env, true,
                         {"HSAPREEMPT_LEVEL=1", "HSAPREEMPT_THROTTLE=always",
                          "HSAPREEMPT_THRESHOLD=" + std::to_string(t),
                          "HSAPREEMPT_BATCH=" + std::to_string(std::max(1, t / 2))});
      if (!c.ok) {
        level1_error = c.error;
        continue;
      }
      level1[k].push_back(c.out.Get("units_per_s").AsNumber());
    }
  }
  RemoveSimDeviceFiles(env.device);
  unlink(sched::Board::PathFor(env.board).c_str());
  if (sim.empty()) sim = "(device description unavailable)";

  const double added_ns = submit_mean.tool() - submit_mean.base();
  const double ratio = tput.base() > 0 ? tput.tool() / tput.base() : 0;
  const bool ok = submit_mean.error.empty() && tput.error.empty() && level1_error.empty();

  if (o.json) {
    json::Writer w;
    w.BeginObject().Field("bench", "overhead").Field("reps", static_cast<double>(o.reps));
    w.Field("sim", sim).Field("ok", ok);
    w.Key("submit").BeginObject();
    w.Field("without_ns", submit_mean.base()).Field("with_ns", submit_mean.tool());
    w.Field("added_ns", added_ns).Field("p50_without_ns", submit_p50.base());
    w.Field("p50_with_ns", submit_p50.tool()).Field("target_added_ns", 1000.0);
    w.Field("meets_target", added_ns < 1000);
    if (!submit_mean.error.empty()) w.Field("error", submit_mean.error);
    w.EndObject();
    w.Key("throughput_10us").BeginObject();
    w.Field("without_per_s", tput.base()).Field("with_per_s", tput.tool());
    w.Field("ratio", ratio).Field("target_ratio", 0.95).Field("meets_target", ratio >= 0.95);
    if (!tput.error.empty()) w.Field("error", tput.error);
    w.EndObject();
    w.Field("level1_throttle", "always");
    w.Key("level1").BeginArray();
    for (size_t k = 0; k < thresholds.size(); ++k) {
      const double v = Median(level1[k]);
      w.BeginObject().Field("threshold", static_cast<double>(thresholds[k]));
      w.Field("per_s", v).Field("ratio_to_without_tool", tput.base() > 0 ? v / tput.base() : 0);
      w.EndObject();
    }
    w.EndArray();
    if (!level1_error.empty()) w.Field("level1_error", level1_error);
    w.EndObject();
    std::printf("%s\n", w.str().c_str());
    return ok ? kExitOk : kExitFailed;
  }

  std::printf("device: %s\n", sim.c_str());
  std::printf("medians of %d interleaved run(s) each\n\n", o.reps);
  std::printf("submission path (host ns per packet: reserve, write, publish, doorbell; mean of "
              "fastest 99%%)\n");
  if (!submit_mean.error.empty()) std::printf("  failed: %s\n", submit_mean.error.c_str());
  std::printf("  %-28s %10.1f ns   (p50 %.0f ns)\n", "without tool", submit_mean.base(),
              submit_p50.base());
  std::printf("  %-28s %10.1f ns   (p50 %.0f ns)\n", "with tool", submit_mean.tool(),
              submit_p50.tool());
  std::printf("  %-28s %10.1f ns   target < 1000 ns: %s\n\n", "added", added_ns,
              added_ns < 1000 ? "ok" : "MISSED");
  std::printf("throughput, one queue, 10 us kernels, 64 in flight (kernels/s)\n");
  if (!tput.error.empty()) std::printf("  failed: %s\n", tput.error.c_str());
  std::printf("  %-28s %10.0f\n", "without tool", tput.base());
  std::printf("  %-28s %10.0f   %.1f%% of without; target >= 95%%: %s\n", "with tool (defaults)*",
              tput.tool(), ratio * 100, ratio >= 0.95 ? "ok" : "MISSED");
  std::printf("  * a queue nothing on the board can preempt runs without the Level-1 bound\n\n");
  std::printf("Level-1 bound forced on (HSAPREEMPT_LEVEL=1 HSAPREEMPT_THROTTLE=always, batch = "
              "threshold/2), same stream\n");
  std::printf("  %9s %12s %10s\n", "threshold", "kernels/s", "vs none");
  for (size_t k = 0; k < thresholds.size(); ++k) {
    const double v = Median(level1[k]);
    std::printf("  %9d %12.0f %9.1f%%\n", thresholds[k], v,
                tput.base() > 0 ? 100 * v / tput.base() : 0);
  }
  if (!level1_error.empty()) std::printf("  failed: %s\n", level1_error.c_str());
  return ok ? kExitOk : kExitFailed;
}

}  // namespace

HSAPREEMPT_COMMAND("bench overhead",
                   "submission cost and throughput with vs without libhsapreempt.so", Run);

}  // namespace hsapreempt::tools
