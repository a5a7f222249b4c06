// `hsapreempt probe`: what this machine supports and why. Never loads ROCr itself: everything that
// needs the runtime runs in hsapreempt-probe-helper (tools/probe/), a scratch child process that
// creates one queue and tries each lever for real. This command adds what needs no GPU (the
// rocprofiler-register situation, package versions, the configuration) and the lever that queues
// would get under the current configuration (levels::ChooseLever, the library's own rule).
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/config.h"
#include "common/thread_priority.h"
#include "kfd_ctl/device.h"
#include "levels/select.h"
#include "tools/command.h"
#include "tools/support/json.h"
#include "tools/support/subprocess.h"

namespace hsapreempt::tools {
namespace {

using json::Value;
using json::Writer;

const char kUsage[] =
    "usage: hsapreempt probe [--json] [--queue-packets N] [--repeat N] [--timeout SECONDS]\n"
    "Reports what this machine supports and why: device (real /dev/kfd or simulated), KFD ioctl\n"
    "version, HWS or MES, each hardware lever tried for real on a scratch queue (in a child\n"
    "process), the queue-id mapping, ROCr/ROCm versions, the rocprofiler-register situation, and\n"
    "the lever queues get under the current HSAPREEMPT_* configuration.\n"
    "  --json             one JSON document on stdout\n"
    "  --queue-packets N  size of the scratch queue (default 4096)\n"
    "  --repeat N         engage/release each lever N times and report ioctl mean/max (default 1)\n"
    "  --timeout S        give up on the helper after S seconds (default 60)\n";

std::string HelperPath() {
  for (const char* rel : {"/hsapreempt-probe-helper", "/probe/hsapreempt-probe-helper",
                          "/../libexec/hsapreempt/hsapreempt-probe-helper"}) {
    std::string p = BinDir() + rel;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// One line on the scheduler thread's priority: what HSAPREEMPT_SCHED_NICE (`asked`) gave `r`.
std::string SchedulerThreadNote(int asked, const common::NiceResult& r) {
  const std::string inherited = std::to_string(r.inherited);
  if (asked == 0) return "left alone (HSAPREEMPT_SCHED_NICE=0), nice " + inherited;
  if (!r.asked) return "nice " + inherited + " inherited, already at or above " + std::to_string(asked);
  if (r.error.empty()) return "nice " + std::to_string(r.now) + " (raised from " + inherited + ")";
  return "keeps nice " + inherited + ": raising it to " + std::to_string(asked) +
         " is not permitted (" + r.error + "); the Level-2 reaction may be slower on a busy host "
         "(grant CAP_SYS_NICE or raise RLIMIT_NICE, `ulimit -e`)";
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// librocprofiler-register.so* in the loader's usual places (LD_LIBRARY_PATH first).
std::string FindRocprofilerRegister() {
  std::vector<std::string> dirs;
  std::string ld = Env("LD_LIBRARY_PATH");
  size_t pos = 0;
  while (!ld.empty() && pos <= ld.size()) {
    size_t colon = ld.find(':', pos);
    std::string d = ld.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    if (!d.empty()) dirs.push_back(d);
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  for (const char* d : {"/opt/rocm/lib", "/opt/rocm/lib64", "/usr/lib/x86_64-linux-gnu",
                        "/usr/lib64", "/usr/lib", "/usr/local/lib"}) {
    dirs.push_back(d);
  }
  for (const std::string& d : dirs) {
    DIR* dir = opendir(d.c_str());
    if (dir == nullptr) continue;
    std::string found;
    while (dirent* e = readdir(dir)) {
      if (std::strncmp(e->d_name, "librocprofiler-register.so", 26) == 0) {
        found = d + "/" + e->d_name;
        break;
      }
    }
    closedir(dir);
    if (!found.empty()) return found;
  }
  return "";
}

std::string PackageVersion(const std::string& package) {
  RunOptions o;
  o.timeout_s = 5;
  RunResult r = RunProcess({"dpkg-query", "-W", "-f=${Version}", package}, o);
  return r.ok() ? r.out : "";
}

// What the helper's lever try says about the lever, for the selection rule.
kfd::Support SupportFrom(const Value& lever, std::string* why) {
  if (!lever.Get("tried").AsBool()) return kfd::Support::kUnknown;
  if (lever.Get("ok").AsBool()) return kfd::Support::kYes;
  const std::string code = lever.Get("code").AsString();
  *why = lever.Get("error").AsString();
  return (code == common::CodeName(common::Status::Code::kPermission) ||
          code == common::CodeName(common::Status::Code::kUnsupported))
             ? kfd::Support::kNo
             : kfd::Support::kUnknown;
}

levels::LeverChoice Choose(const Value& h, const common::Config& config) {
  levels::LeverEnvironment env;
  const Value& kfd = h.Get("kfd");
  env.caps.available = kfd.Get("available").AsBool();
  env.caps.why_unavailable = kfd.Get("why_unavailable").AsString();
  if (!h.Has("kfd")) env.caps.why_unavailable = "the probe helper did not report";
  if (env.caps.available && h.Get("hsa_init").AsString() != "ok") {
    env.caps.available = false;
    env.caps.why_unavailable = "hsa_init " + h.Get("hsa_init").AsString();
  }
  env.caps.version.major = static_cast<uint32_t>(kfd.Get("major").AsNumber());
  env.caps.version.minor = static_cast<uint32_t>(kfd.Get("minor").AsNumber());
  env.caps.dbg_trap_abi = kfd.Get("dbg_trap_abi").AsBool();
  const Value& levers = h.Get("levers");
  env.caps.update_queue = SupportFrom(levers.Get("update_queue"), &env.caps.update_queue_why);
  env.caps.cu_mask = SupportFrom(levers.Get("cu_mask"), &env.caps.cu_mask_why);
  env.caps.dbg_suspend = SupportFrom(levers.Get("dbg_suspend"), &env.caps.dbg_suspend_why);
  if (env.caps.dbg_trap_abi && !levers.Get("dbg_suspend").Get("tried").AsBool() &&
      h.Get("mapping").Get("snapshot").Get("method").AsString().find("debug-trap enable") !=
          std::string::npos) {
    env.caps.dbg_suspend = kfd::Support::kNo;
    env.caps.dbg_suspend_why = h.Get("mapping").Get("snapshot").Get("method").AsString();
  }
  env.cu_count = static_cast<uint32_t>(h.Get("gpu").Get("compute_units").AsNumber());
  // With HSAPREEMPT_L2_MODE=suspend the library maps by snapshot first (it enables the debug trap
  // before the first queue), else — and otherwise always — by the sysfs diff, as the helper's
  // first queue saw it.
  const Value& snap = h.Get("mapping").Get("snapshot");
  const Value& m = (config.l2_mode == common::L2Mode::kSuspend && env.caps.dbg_trap_abi &&
                    snap.Get("known").AsBool())
                       ? snap
                       : h.Get("mapping").Get("sysfs");
  std::string method = m.Get("method").AsString();
  if (method.empty()) method = "none: the probe helper did not report";
  return levels::ChooseLever(env, config, m.Get("known").AsBool(), method);
}

void Line(const char* key, const std::string& value) {
  std::printf("%-22s %s\n", key, value.c_str());
}

std::string LeverLine(const Value& l, const Value& effect) {
  if (!l.Get("tried").AsBool()) return "not tried: " + l.Get("error").AsString();
  if (l.Get("ok").AsBool()) {
    char buf[128];
    std::snprintf(buf, sizeof(buf), "works (%d engage/release, %d ioctls, mean %.1f us, max %.1f us)",
                  static_cast<int>(l.Get("cycles").AsNumber()),
                  static_cast<int>(l.Get("ioctls").AsNumber()), l.Get("ioctl_us_mean").AsNumber(),
                  l.Get("ioctl_us_max").AsNumber());
    std::string line = buf;
    if (effect.Get("checked").AsBool()) {
      line += effect.Get("seen").AsBool() ? "; effect seen in the device trace"
                                          : "; EFFECT NOT SEEN in the device trace";
    }
    return line;
  }
  return "FAILS: " + l.Get("error").AsString();
}

int Probe(const std::vector<std::string>& args) {
  bool as_json = false;
  std::string packets = "4096";
  std::string repeat = "1";
  double timeout_s = 60;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (a == "--json") {
      as_json = true;
    } else if (a == "--queue-packets" && i + 1 < args.size()) {
      packets = args[++i];
      if (packets.empty() || packets.find_first_not_of("0123456789") != std::string::npos) {
        std::fprintf(stderr, "hsapreempt probe: --queue-packets needs a number\n");
        return kExitUsage;
      }
    } else if (a == "--repeat" && i + 1 < args.size()) {
      repeat = args[++i];
      if (repeat.empty() || repeat.find_first_not_of("0123456789") != std::string::npos ||
          repeat.size() > 6 || std::atoi(repeat.c_str()) < 1) {
        std::fprintf(stderr, "hsapreempt probe: --repeat needs a number 1..100000\n");
        return kExitUsage;
      }
    } else if (a == "--timeout" && i + 1 < args.size()) {
      timeout_s = std::atof(args[++i].c_str());
      if (timeout_s <= 0) {
        std::fprintf(stderr, "hsapreempt probe: --timeout needs a positive number\n");
        return kExitUsage;
      }
    } else {
      std::fprintf(stderr, "hsapreempt probe: unknown argument '%s'\n%s", a.c_str(), kUsage);
      return kExitUsage;
    }
  }

  const common::Config config = common::Config::FromEnvironment();
  const bool simulated = UseSimulatedDevice();
  const std::string helper = HelperPath();
  RunResult run;
  Value h;
  std::string helper_problem;
  if (helper.empty()) {
    helper_problem = "hsapreempt-probe-helper not found next to " + BinDir();
  } else if (simulated && SimLibDir().empty()) {
    helper_problem = "no /dev/kfd and the simulated device is not built/installed";
  } else {
    RunOptions o;
    o.timeout_s = timeout_s;
    o.env = DeviceEnvironment();
    o.env.push_back("HSA_TOOLS_LIB=");  // the scratch child must not load any tool, ours included
    if (simulated) o.env.push_back("HSA_ENABLE_SDMA=0");
    run = RunProcess({helper, "--queue-packets", packets, "--repeat", repeat}, o);
    std::string err;
    size_t nl = run.out.find('\n');
    if (!run.started) {
      helper_problem = "could not start the helper: " + run.error;
    } else if (!json::Parse(run.out.substr(0, nl), &h, &err) || !h.is_object()) {
      helper_problem = "the helper gave no report (" + run.Describe() + ")";
      h = Value();
    }
  }
  const levels::LeverChoice choice = Choose(h, config);
  // What the scheduler thread will get (HSAPREEMPT_SCHED_NICE), tried on a scratch thread.
  common::NiceResult nice;
  std::thread([&] { nice = common::RaiseThisThreadPriority(config.sched_nice); }).join();
  const std::string nice_note = SchedulerThreadNote(config.sched_nice, nice);
  const std::string rpr = FindRocprofilerRegister();
  const std::string rpr_note =
      rpr.empty() ? "not present: ROCr loads HSA_TOOLS_LIB directly (ROCm 5.x behaviour)"
      : Env("HSA_TOOLS_DISABLE_REGISTER") == "1"
          ? "present, bypassed (HSA_TOOLS_DISABLE_REGISTER=1)"
      : Env("HSA_TOOLS_ROCPROFILER_V1_TOOLS") == "1"
          ? "present; HSA_TOOLS_ROCPROFILER_V1_TOOLS=1 keeps HSA_TOOLS_LIB tools loaded"
          : "present: if an SDK tool is registered, ROCr skips HSA_TOOLS_LIB; set "
            "HSA_TOOLS_ROCPROFILER_V1_TOOLS=1 (or HSA_TOOLS_DISABLE_REGISTER=1)";
  const std::string package = PackageVersion("libhsa-runtime64-1");
  const std::string gfx = h.Get("gpu").Get("name").AsString();
  const std::string scheduler = h.Get("gpu").Get("scheduler").AsString();
  std::string device_kind = simulated ? "simulated" : "real";
  if (!helper_problem.empty() && !h.is_object()) device_kind += " (not probed)";

  if (as_json) {
    Writer w;
    w.BeginObject();
    w.Key("device").BeginObject();
    w.Field("kind", simulated ? "simulated" : "real");
    w.Field("describe", h.Get("sim_describe").AsString());
    w.Field("kfd_available", h.Get("kfd").Get("available").AsBool());
    w.Field("why_unavailable", h.Get("kfd").Get("why_unavailable").AsString());
    w.EndObject();
    w.Field("kfd_version", h.Get("kfd").Get("version").AsString());
    w.Field("dbg_trap_abi", h.Get("kfd").Get("dbg_trap_abi").AsBool());
    w.Field("hsa_init", h.Get("hsa_init").AsString());
    w.Field("runtime_enable", h.Get("runtime_enable").AsString());
    w.Key("gpu").Raw(json::Serialize(h.Get("gpu")));
    w.Field("scheduler", scheduler.empty() ? "unknown" : scheduler);
    w.Key("runtime").BeginObject();
    w.Field("hsa_version", h.Get("hsa_version").AsString());
    w.Field("package", package);
    w.Key("rocprofiler_register").BeginObject();
    w.Field("library", rpr).Field("note", rpr_note);
    w.Field("HSA_TOOLS_ROCPROFILER_V1_TOOLS", Env("HSA_TOOLS_ROCPROFILER_V1_TOOLS"));
    w.Field("HSA_TOOLS_DISABLE_REGISTER", Env("HSA_TOOLS_DISABLE_REGISTER"));
    w.EndObject();
    w.EndObject();
    w.Field("queue_create", h.Get("queue_create").AsString());
    w.Key("mapping").Raw(json::Serialize(h.Get("mapping")));
    w.Key("levers").Raw(json::Serialize(h.Get("levers")));
    w.Key("effects").Raw(json::Serialize(h.Get("effects")));
    w.Key("scheduler_thread").BeginObject();
    w.Field("asked", config.sched_nice).Field("inherited", nice.inherited);
    w.Field("nice", nice.now).Field("raised", nice.asked && nice.error.empty());
    w.Field("error", nice.error).Field("note", nice_note).EndObject();
    w.Field("config", config.Describe());
    w.Key("config_problems").BeginArray();
    for (const std::string& p : config.problems) w.String(p);
    w.EndArray();
    w.Key("selection").BeginObject();
    w.Field("lever", levels::LeverName(choice.kind)).Field("why", choice.why);
    w.EndObject();
    w.Key("helper").BeginObject();
    w.Field("path", helper).Field("ok", helper_problem.empty());
    w.Field("problem", helper_problem);
    w.Field("result", run.started ? run.Describe() : std::string());
    w.Field("stderr", run.err.size() > 2000 ? run.err.substr(run.err.size() - 2000) : run.err);
    w.EndObject();
    w.EndObject();
    std::printf("%s\n", w.str().c_str());
  } else {
    Line("device", device_kind + (h.Get("sim_describe").AsString().empty()
                                      ? std::string()
                                      : "\n" + std::string(23, ' ') + h.Get("sim_describe").AsString()));
    if (!helper_problem.empty()) Line("probe helper", "FAILED: " + helper_problem);
    if (h.Has("hsa_init") && h.Get("hsa_init").AsString() != "ok") {
      Line("hsa_init", h.Get("hsa_init").AsString());
    }
    const Value& kfd = h.Get("kfd");
    Line("KFD", kfd.Get("available").AsBool()
                    ? "ioctl " + kfd.Get("version").AsString() + " via " + kfd.Get("backend").AsString() +
                          (kfd.Get("dbg_trap_abi").AsBool() ? " (debug trap: yes)"
                                                            : " (debug trap: no, needs 1.13 / Linux 6.5)")
                    : "unavailable: " + kfd.Get("why_unavailable").AsString());
    Line("GPU", gfx.empty() ? "none found"
                            : gfx + ", " + std::to_string(static_cast<int>(
                                               h.Get("gpu").Get("compute_units").AsNumber())) +
                                  " CUs, scheduler " + scheduler +
                                  (scheduler == "HWS" ? " (every runlist change remaps all queues)"
                                                      : ""));
    Line("ROCr", "HSA " + h.Get("hsa_version").AsString() +
                     (package.empty() ? "" : ", package libhsa-runtime64-1 " + package));
    Line("rocprofiler-register", rpr_note + (rpr.empty() ? "" : " [" + rpr + "]"));
    Line("runtime enable", h.Get("runtime_enable").AsString());
    Line("scratch queue", h.Get("queue_create").AsString());
    Line("queue id (sysfs)", h.Get("mapping").Get("sysfs").Get("method").AsString());
    Line("queue id (snapshot)", h.Get("mapping").Get("snapshot").Get("method").AsString());
    Line("UPDATE_QUEUE 0/100%", LeverLine(h.Get("levers").Get("update_queue"), h.Get("effects").Get("update_queue")));
    Line("SET_CU_MASK", LeverLine(h.Get("levers").Get("cu_mask"), h.Get("effects").Get("cu_mask")));
    Line("DBG_TRAP suspend", LeverLine(h.Get("levers").Get("dbg_suspend"), h.Get("effects").Get("dbg_suspend")));
    Line("scheduler thread", nice_note);
    Line("config", config.Describe());
    for (const std::string& p : config.problems) Line("config problem", p);
    Line("queues will get", std::string(levels::LeverName(choice.kind)) + ": " + choice.why);
  }
  return h.is_object() ? kExitOk : kExitFailed;
}

HSAPREEMPT_COMMAND("probe", "what this machine supports (device, KFD, levers tried for real) and why",
                   &Probe);

}  // namespace
}  // namespace hsapreempt::tools
