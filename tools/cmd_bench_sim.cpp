// `hsapreempt bench sim`: how faithful and how fast the simulated device is, measured through the
// real ROCr with hsapreempt-workload children on a private simulated device:
//   1. dispatch throughput of empty kernels on one queue (packets/s; target >= 200,000/s),
//   2. modelled vs observed duration of 100 us, 1 ms and 20 ms kernels (device profiling
//      end - start, and host wall time submit -> completion seen; target within 5%).
// Every figure is printed with the simulated device's description.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/command.h"
#include "tools/support/json.h"
#include "tools/support/sim_info.h"
#include "tools/support/subprocess.h"

namespace hsapreempt::tools {
namespace {

struct Child {
  bool ok = false;
  double cpu_s = 0;  // user + system CPU of the whole child process
  std::string error;
  json::Value out;
};

Child RunWorkload(const std::vector<std::string>& args, const std::string& device) {
  RunOptions opts;
  opts.env = DeviceEnvironment();
  opts.env.push_back("HSAPREEMPT_SIM_DEVICE=" + device);
  opts.env.push_back("HSA_ENABLE_SDMA=0");
  opts.timeout_s = 300;
  std::vector<std::string> argv = {BinDir() + "/hsapreempt-workload"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = RunProcess(argv, opts);
  Child c;
  c.cpu_s = r.cpu_s;
  std::string error;
  if (!json::Parse(r.out, &c.out, &error)) {
    c.error = "hsapreempt-workload: " + r.Describe() + (r.err.empty() ? "" : ": " + r.err);
    while (!c.error.empty() && c.error.back() == '\n') c.error.pop_back();
    return c;
  }
  c.ok = r.ok() && c.out.Get("ok").AsBool();
  if (!c.ok) c.error = c.out.Get("error").AsString().empty() ? r.Describe() : c.out.Get("error").AsString();
  return c;
}

struct ThroughputRow {
  std::string name;
  bool barrier;
  int kernels_per_signal;
  Child child;
  Child base;                 // same, ~1000 packets: subtracts start-up from the CPU cost
  double cpu_us_per_packet = 0;  // marginal CPU of the whole process (CP thread + host thread)
};

struct DurationRow {
  double target_us;
  Child child;        // host waits with hsa_signal_wait (as HIP does)
  Child yield_child;  // host polls with sched_yield: separates host wake-up from the device
  double device_err = 0, host_err = 0, yield_host_err = 0;  // relative error of p50
};

int Run(const std::vector<std::string>& args) {
  bool as_json = false, quick = false;
  for (const auto& a : args) {
    if (a == "--json") as_json = true;
    else if (a == "--quick") quick = true;
    else if (a == "--help" || a == "-h") {
      std::printf("usage: hsapreempt bench sim [--quick] [--json]\n"
                  "Dispatch throughput and duration accuracy of the simulated device.\n");
      return kExitOk;
    } else {
      std::fprintf(stderr, "hsapreempt bench sim: unknown argument '%s'\n", a.c_str());
      return kExitUsage;
    }
  }
  if (!UseSimulatedDevice()) {
    std::fprintf(stderr, "hsapreempt bench sim: a real /dev/kfd is present; this benchmark "
                         "measures the simulated device (set HSAPREEMPT_DEVICE=sim to force)\n");
    return kExitUnsupported;
  }
  if (SimLibDir().empty()) {
    std::fprintf(stderr, "hsapreempt bench sim: simulated device not built (no libhsakmt.so.1 "
                         "next to the tools)\n");
    return kExitUnsupported;
  }
  const std::string device = "bench-sim-" + std::to_string(getpid());

  // Throughput is measured flat out with the host polling politely (--wait yield) so that on a
  // small machine the host thread does not take the simulated CP's core. The marginal CPU cost per
  // packet (difference between a long and a short run) does not depend on machine load: if it is
  // above 5 us, 200,000 packets/s is out of reach for one CP thread on any machine.
  std::vector<ThroughputRow> tput = {
      {"empty kernels, signal each, barrier bit", true, 1, {}, {}},
      {"empty kernels, signal each, no barrier bit", false, 1, {}, {}},
      {"empty kernels, signal every 64, barrier bit", true, 64, {}, {}}};
  const long packets = quick ? 20000 : 200000;
  for (auto& row : tput) {
    auto args_for = [&](long n) {
      std::vector<std::string> a = {"spin", "--workgroup-ns", "0", "--workgroups", "1",
                                    "--kernels-per-unit", std::to_string(row.kernels_per_signal),
                                    "--count", std::to_string(n / row.kernels_per_signal),
                                    "--inflight", std::to_string(1024 / row.kernels_per_signal),
                                    "--wait", "yield", "--warmup", "0"};
      if (!row.barrier) a.push_back("--no-barrier");
      return a;
    };
    row.base = RunWorkload(args_for(1024), device);
    row.child = RunWorkload(args_for(packets), device);
    if (row.child.ok && row.base.ok) {
      double dp = row.child.out.Get("packets").AsNumber() - row.base.out.Get("packets").AsNumber();
      if (dp > 0) row.cpu_us_per_packet = (row.child.cpu_s - row.base.cpu_s) / dp * 1e6;
    }
  }
  std::vector<DurationRow> durations = {{100, {}, {}}, {1000, {}, {}}, {20000, {}, {}}};
  for (auto& row : durations) {
    int n = row.target_us >= 20000 ? (quick ? 5 : 25) : (quick ? 20 : 200);
    char us[32];
    std::snprintf(us, sizeof(us), "%g", row.target_us);
    std::vector<std::string> a = {"spin", "--duration-us", us, "--count", std::to_string(n + 1),
                                  "--inflight", "1", "--warmup", "1"};
    row.child = RunWorkload(a, device);
    a.insert(a.end(), {"--wait", "yield"});
    row.yield_child = RunWorkload(a, device);
    const double target_ns = row.target_us * 1000;
    if (row.child.ok) {
      row.device_err = (row.child.out.Get("kernel_ns").Get("p50").AsNumber() - target_ns) / target_ns;
      row.host_err = (row.child.out.Get("host_ns").Get("p50").AsNumber() - target_ns) / target_ns;
    }
    if (row.yield_child.ok) {
      row.yield_host_err =
          (row.yield_child.out.Get("host_ns").Get("p50").AsNumber() - target_ns) / target_ns;
    }
  }
  RemoveSimDeviceFiles(device);

  std::string sim;
  for (const auto& r : tput) {
    if (r.child.ok && sim.empty()) sim = r.child.out.Get("device").Get("sim").AsString();
  }
  if (sim.empty()) sim = "(the simulated thunk did not report hsapreempt_sim_describe)";
  bool all_ok = true;
  for (const auto& r : tput) all_ok &= r.child.ok;
  for (const auto& r : durations) all_ok &= r.child.ok;

  if (as_json) {
    json::Writer w;
    w.BeginObject().Field("bench", "sim").Field("quick", quick).Field("sim", sim);
    w.Key("throughput").BeginArray();
    for (const auto& r : tput) {
      w.BeginObject().Field("case", r.name).Field("ok", r.child.ok);
      if (r.child.ok) {
        w.Field("packets", r.child.out.Get("packets").AsNumber());
        w.Field("packets_per_s", r.child.out.Get("packets_per_s").AsNumber());
        w.Field("cpu_us_per_packet", r.cpu_us_per_packet);
        w.Field("kernels_per_signal", r.kernels_per_signal).Field("barrier", r.barrier);
      } else {
        w.Field("error", r.child.error);
      }
      w.Field("target_packets_per_s", 200000.0).EndObject();
    }
    w.EndArray();
    w.Key("duration").BeginArray();
    for (const auto& r : durations) {
      w.BeginObject().Field("target_us", r.target_us).Field("ok", r.child.ok);
      if (r.child.ok) {
        w.Field("kernels", r.child.out.Get("units").AsNumber());
        w.Field("device_p50_ns", r.child.out.Get("kernel_ns").Get("p50").AsNumber());
        w.Field("device_max_ns", r.child.out.Get("kernel_ns").Get("max").AsNumber());
        w.Field("host_p50_ns", r.child.out.Get("host_ns").Get("p50").AsNumber());
        w.Field("device_error", r.device_err).Field("host_error", r.host_err);
        if (r.yield_child.ok) {
          w.Field("host_yield_p50_ns", r.yield_child.out.Get("host_ns").Get("p50").AsNumber());
          w.Field("host_yield_error", r.yield_host_err);
          w.Field("start_latency_p50_ns",
                  r.yield_child.out.Get("start_latency_ns").Get("p50").AsNumber());
        }
        w.Field("within_5pct", std::fabs(r.device_err) <= 0.05 && std::fabs(r.host_err) <= 0.05);
      } else {
        w.Field("error", r.child.error);
      }
      w.EndObject();
    }
    w.EndArray().EndObject();
    std::printf("%s\n", w.str().c_str());
    return all_ok ? kExitOk : kExitFailed;
  }

  std::printf("%s\n\n", sim.c_str());
  std::printf("dispatch throughput, one queue (target >= 200000 packets/s):\n");
  for (const auto& r : tput) {
    if (r.child.ok) {
      double pps = r.child.out.Get("packets_per_s").AsNumber();
      std::printf("  %-44s %9.0f packets/s  %6.1f us CPU/packet  (%.0f packets)  %s\n",
                  r.name.c_str(), pps, r.cpu_us_per_packet, r.child.out.Get("packets").AsNumber(),
                  pps >= 200000 ? "ok" : "BELOW TARGET");
    } else {
      std::printf("  %-44s failed: %s\n", r.name.c_str(), r.child.error.c_str());
    }
  }
  std::printf("\nkernel duration, modelled vs observed (p50, target within 5%%):\n");
  std::printf("  %10s %8s %12s %9s %12s %9s %12s %9s\n", "modelled", "kernels", "device",
              "error", "host(hsa)", "error", "host(yield)", "error");
  for (const auto& r : durations) {
    if (!r.child.ok) {
      std::printf("  %8.0fus failed: %s\n", r.target_us, r.child.error.c_str());
      continue;
    }
    bool within = std::fabs(r.device_err) <= 0.05 && std::fabs(r.host_err) <= 0.05;
    std::printf("  %8.0fus %8.0f %10.1fus %+8.2f%% %10.1fus %+8.2f%% %10.1fus %+8.2f%%  %s\n",
                r.target_us, r.child.out.Get("units").AsNumber(),
                r.child.out.Get("kernel_ns").Get("p50").AsNumber() / 1000, r.device_err * 100,
                r.child.out.Get("host_ns").Get("p50").AsNumber() / 1000, r.host_err * 100,
                r.yield_child.ok ? r.yield_child.out.Get("host_ns").Get("p50").AsNumber() / 1000 : 0,
                r.yield_host_err * 100, within ? "ok" : "OUTSIDE 5%");
  }
  std::printf("\n(CPU/packet: marginal CPU time of the whole process per packet, CP + host threads;\n"
              " host = wall time submit -> completion seen by the host, which includes CP pickup\n"
              " and host wake-up; hsa = hsa_signal_wait as HIP waits, yield = polling + sched_yield;\n"
              " 'ok' needs device and host(hsa) within 5%%)\n");
  return all_ok ? kExitOk : kExitFailed;
}

}  // namespace

HSAPREEMPT_COMMAND("bench sim", "throughput and duration accuracy of the simulated device", Run);

}  // namespace hsapreempt::tools
