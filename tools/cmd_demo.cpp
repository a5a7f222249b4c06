// `hsapreempt demo`: runs real HSA work (hsapreempt-workload: two queues of 1 ms spin kernels,
// through the real ROCr) on the embedded default device — the simulated one when there is no
// /dev/kfd — and prints what the device did, from the simulated device's own event trace when it
// is available. Later this becomes the two-model scenario.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tools/command.h"
#include "tools/support/json.h"
#include "tools/support/subprocess.h"

namespace hsapreempt::tools {
namespace {

int Run(const std::vector<std::string>& args) {
  bool as_json = false;
  for (const auto& a : args) {
    if (a == "--json") {
      as_json = true;
    } else if (a == "--help" || a == "-h") {
      std::printf("usage: hsapreempt demo [--json]\n"
                  "Runs two queues of 1 ms kernels on the default device and shows what it did.\n");
      return kExitOk;
    } else {
      std::fprintf(stderr, "hsapreempt demo: unknown argument '%s'\n", a.c_str());
      return kExitUsage;
    }
  }
  const bool sim = UseSimulatedDevice();
  if (sim && SimLibDir().empty()) {
    std::fprintf(stderr, "hsapreempt demo: no /dev/kfd and the simulated device is not built\n");
    return kExitUnsupported;
  }
  RunOptions opts;
  opts.env = DeviceEnvironment();
  if (sim) opts.env.push_back("HSA_ENABLE_SDMA=0");
  opts.timeout_s = 120;
  const int kPerQueue = 50;
  RunResult r = RunProcess({BinDir() + "/hsapreempt-workload", "spin", "--queues", "2",
                            "--duration-us", "1000", "--count", std::to_string(kPerQueue),
                            "--inflight", "4", "--warmup", "0", "--trace"},
                           opts);
  json::Value v;
  std::string error;
  if (!json::Parse(r.out, &v, &error) || !v.Get("ok").AsBool()) {
    std::string why = v.Get("error").AsString();
    std::fprintf(stderr, "hsapreempt demo: workload failed (%s)%s%s\n", r.Describe().c_str(),
                 why.empty() ? "" : ": ", why.empty() ? r.err.c_str() : why.c_str());
    return kExitFailed;
  }
  if (as_json) {
    std::printf("%s\n", r.out.c_str());
    return kExitOk;
  }
  const json::Value& dev = v.Get("device");
  std::printf("hsapreempt demo: real HSA work through ROCr on %s\n",
              sim ? "the simulated device (no /dev/kfd here)" : "the real GPU");
  std::printf("device: %s, %.0f compute units\n", dev.Get("name").AsString().c_str(),
              dev.Get("compute_units").AsNumber());
  if (!dev.Get("sim").AsString().empty()) std::printf("%s\n", dev.Get("sim").AsString().c_str());
  const json::Value& k = v.Get("kernel_ns");
  std::printf("\nran %.0f kernels of 1 ms (%.0f workgroups each, one round) on 2 queues in %.1f ms\n",
              v.Get("units").AsNumber(), v.Get("config").Get("workgroups").AsNumber(),
              v.Get("elapsed_s").AsNumber() * 1e3);
  std::printf("kernel time on the device: p50 %.3f ms, max %.3f ms; completion seen by the host "
              "p50 %.3f ms after submission\n",
              k.Get("p50").AsNumber() / 1e6, k.Get("max").AsNumber() / 1e6,
              v.Get("host_ns").Get("p50").AsNumber() / 1e6);
  const json::Value& t = v.Get("device_trace");
  if (!t.Get("available").AsBool()) {
    std::printf("\n(the device trace is not available on this device)\n");
    return kExitOk;
  }
  std::printf("\ndevice trace (this process):\n");
  for (const auto& q : t.Get("queues").items()) {
    std::printf("  queue %3.0f: %5.0f dispatches, busy %8.2f ms\n", q.Get("queue").AsNumber(),
                q.Get("dispatches").AsNumber(), q.Get("busy_ns").AsNumber() / 1e6);
  }
  double span = t.Get("span_ns").AsNumber(), busy = t.Get("device_busy_ns").AsNumber();
  std::printf("  device busy %.2f ms of %.2f ms traced (%.0f%%); runlist updates %.0f, "
              "preemptions %.0f\n",
              busy / 1e6, span / 1e6, span > 0 ? 100 * busy / span : 0,
              t.Get("runlist_updates").AsNumber(), t.Get("preemptions").AsNumber());
  std::printf("  (each kernel fills every CU, so the two queues' kernels take turns; the\n"
              "   idle time is the host and the command processor picking up the next packet;\n"
              "   the queue with one dispatch is ROCr's utility queue loading the code object)\n");
  return kExitOk;
}

}  // namespace

HSAPREEMPT_COMMAND("demo", "run real HSA work on the default device and show what it did", Run);

}  // namespace hsapreempt::tools
