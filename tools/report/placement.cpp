#include "tools/report/placement.h"

#include <cstdlib>

#include "common/cpu_list.h"
#include "tools/command.h"

namespace hsapreempt::tools::report {
namespace {

constexpr const char* kCpVariable = "HSAPREEMPT_SIM_CP_CPUS";
constexpr const char* kSpinVariable = "HSAPREEMPT_SIM_CP_SPIN";

// a \ b.
cpu_set_t Minus(const cpu_set_t& a, const cpu_set_t& b) {
  cpu_set_t out;
  CPU_ZERO(&out);
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &a) && !CPU_ISSET(c, &b)) CPU_SET(c, &out);
  }
  return out;
}

// The last `n` CPUs of `set`.
cpu_set_t LastCpus(const cpu_set_t& set, int n) {
  cpu_set_t out;
  CPU_ZERO(&out);
  for (int c = CPU_SETSIZE - 1; c >= 0 && n > 0; --c) {
    if (CPU_ISSET(c, &set)) {
      CPU_SET(c, &out);
      --n;
    }
  }
  return out;
}

}  // namespace

bool ValidDeviceCpusSpec(const std::string& spec, std::string* error) {
  if (spec == "auto" || spec == "none") return true;
  cpu_set_t set;
  return common::ParseCpuList(spec, &set, error);
}

bool PlanPlacement(const std::string& spec, const cpu_set_t& usable, bool simulated,
                   const std::string& env_cpus, const std::string& env_spin, Placement* out,
                   std::string* error) {
  *out = Placement();
  if (spec == "none") {
    out->note = "--device-cpus none";
    return true;
  }
  if (!simulated) {
    out->note = "real GPU: its CP is hardware";
    if (spec != "auto") out->note += "; --device-cpus " + spec + " ignored";
    return true;
  }
  cpu_set_t device;
  std::string list = spec;
  const char* what = "--device-cpus";
  if (spec == "auto" && !env_cpus.empty()) {
    list = env_cpus;
    what = kCpVariable;
  }
  if (list == "auto") {
    const int n = CPU_COUNT(&usable);
    if (n < 2) {
      out->note = "one usable CPU";
      return true;
    }
    device = LastCpus(usable, n >= 4 ? 2 : 1);
  } else {
    std::string why;
    if (!common::ParseCpuList(list, &device, &why)) {
      *error = std::string(what) + ": " + why;
      return false;
    }
    const cpu_set_t outside = Minus(device, usable);
    if (CPU_COUNT(&outside) > 0) {
      *error = std::string(what) + " " + list + ": CPU " + common::FormatCpuList(outside) +
               " is not usable here (usable: " + common::FormatCpuList(usable) + ")";
      return false;
    }
  }
  const cpu_set_t rest = Minus(usable, device);
  if (CPU_COUNT(&rest) == 0) {
    *error = std::string(what) + " " + list + " leaves no CPU for the workloads (usable: " +
             common::FormatCpuList(usable) + ")";
    return false;
  }
  out->active = true;
  out->cp_spin = env_spin != "0";
  out->device = common::FormatCpuList(device);
  out->workloads = common::FormatCpuList(rest);
  out->workload_set = rest;
  return true;
}

bool ApplyPlacement(const std::string& spec, Placement* out, std::string* error) {
  cpu_set_t usable;
  if (sched_getaffinity(0, sizeof(usable), &usable) != 0) {
    *error = "cannot read this process's CPUs (sched_getaffinity)";
    return false;
  }
  const char* env = std::getenv(kCpVariable);
  const char* spin = std::getenv(kSpinVariable);
  if (!PlanPlacement(spec, usable, UseSimulatedDevice(), env != nullptr ? env : "",
                     spin != nullptr ? spin : "", out, error)) {
    return false;
  }
  if (!out->active) {
    unsetenv(kCpVariable);
    unsetenv(kSpinVariable);  // spinning without a CPU of its own, it would take the workloads'
    return true;
  }
  if (sched_setaffinity(0, sizeof(out->workload_set), &out->workload_set) != 0) {
    *error = "cannot move to CPUs " + out->workloads + " (sched_setaffinity)";
    return false;
  }
  setenv(kCpVariable, out->device.c_str(), 1);
  setenv(kSpinVariable, out->cp_spin ? "1" : "0", 1);
  return true;
}

std::string PlacementLine(const Placement& p) {
  if (!p.active) return "placement: none (" + p.note + ")";
  return "placement: simulated CP threads on CPU " + p.device +
         (p.cp_spin ? ", polling without sleeping" : ", sleeping between polls") +
         ", workloads, tool and bench on CPU " + p.workloads +
         " (a real CP takes no host CPU; --device-cpus none to share)";
}

void WritePlacement(const Placement& p, json::Writer* w) {
  w->BeginObject().Key("device_cpus");
  if (p.active) w->String(p.device); else w->Null();
  w->Key("workload_cpus");
  if (p.active) w->String(p.workloads); else w->Null();
  w->Field("cp_spin", p.cp_spin).Field("note", p.note).EndObject();
}

}  // namespace hsapreempt::tools::report
