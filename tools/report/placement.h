// Where the benchmarks' processes run on the simulated device (--device-cpus).
//
// A real CP is hardware; the simulated device's CP is one host thread per process, and on a small
// host it loses the CPU to the application's and the tool's threads exactly when a doorbell must be
// seen, which charges host contention to the device (measured: docs/simdev.md, "The CP thread's
// CPU"). So on the simulated device the benchmarks give the CP threads CPUs of their own
// (HSAPREEMPT_SIM_CP_CPUS in the children) and run everything else — the workloads, the tool's
// threads in them, the bench itself — on the rest. There the CP threads poll without sleeping
// (HSAPREEMPT_SIM_CP_SPIN=1), as a hardware CP does: a CPU of their own costs nobody, and a
// sleeping CP sees a doorbell only as late as the host wakes it (docs/simdev.md). A caller's
// HSAPREEMPT_SIM_CP_SPIN=0 keeps them sleeping (to compare).
//
//   auto  (default) simulated device with 2 or more usable CPUs: the last usable CPU for the device
//         (the last two from 4 CPUs on: one per workload process), the rest for the others; a
//         HSAPREEMPT_SIM_CP_CPUS already in the environment is taken as the device's list instead.
//         One CPU, or a real GPU: no placement.
//   none  no placement: every thread may run on every usable CPU (the behaviour before 2026-11-22).
//   LIST  the device's CPUs (kernel notation, e.g. 1 or 2-3), usable and leaving at least one.
// On a real GPU the CP is hardware: there is no placement, and the output's placement line says a
// LIST was ignored (the same command lines run on both).
#ifndef TOOLS_REPORT_PLACEMENT_H_
#define TOOLS_REPORT_PLACEMENT_H_

#include <sched.h>

#include <string>

#include "tools/support/json.h"

// The usage lines of --device-cpus, a string literal to splice into each benchmark's --help.
#define HSAPREEMPT_DEVICE_CPUS_USAGE                                                          \
  "  --device-cpus X    simulated device: CPUs of its own for the CP threads, which a real\n" \
  "                     GPU runs in hardware (auto: the last CPU, the last two from 4 CPUs\n" \
  "                     on; none: shared with everything; or a list, e.g. 1 or 2-3)\n"

namespace hsapreempt::tools::report {

struct Placement {
  bool active = false;     // the device has CPUs of its own
  std::string device;      // the device's CPUs (kernel notation), "" when !active
  std::string workloads;   // everyone else's, "" when !active
  cpu_set_t workload_set{};  // the same as a set (ApplyPlacement moves there)
  bool cp_spin = false;    // the CP threads poll without sleeping (HSAPREEMPT_SIM_CP_SPIN=1)
  std::string note;        // why there is no placement when !active (for the output's line)
};

// True if `spec` is "auto", "none" or a CPU list (for the flag parser).
bool ValidDeviceCpusSpec(const std::string& spec, std::string* error);

// Decides the placement from the flag's value, the CPUs this process may use, whether the device
// is simulated, and the HSAPREEMPT_SIM_CP_CPUS and HSAPREEMPT_SIM_CP_SPIN already in the
// environment ("" if unset; a placed CP spins unless the latter is "0"). False with
// *error (one line) when a LIST (or that variable) names a CPU that is not usable or leaves none
// for the workloads. Pure: the unit tests call it with made-up CPU sets.
bool PlanPlacement(const std::string& spec, const cpu_set_t& usable, bool simulated,
                   const std::string& env_cpus, const std::string& env_spin, Placement* out,
                   std::string* error);

// Plans with this process's usable CPUs, device and environment, then applies the plan: this
// thread moves to the workloads' CPUs (threads and children started afterwards inherit them) and
// HSAPREEMPT_SIM_CP_CPUS and HSAPREEMPT_SIM_CP_SPIN are set (or, without placement, removed) for
// the children. Call it before the benchmark starts any thread (setenv). False with *error,
// nothing changed, on a bad plan or when the kernel refuses the placement.
bool ApplyPlacement(const std::string& spec, Placement* out, std::string* error);

// One line for the output: "placement: simulated CP threads on CPU 1, polling without sleeping,
// workloads, tool and bench on CPU 0 (...)" or "placement: none (<note>)".
std::string PlacementLine(const Placement& placement);

// --json: {"device_cpus": "1" or null, "workload_cpus": "0" or null, "cp_spin": bool,
// "note": "" or why none}.
void WritePlacement(const Placement& placement, json::Writer* w);

}  // namespace hsapreempt::tools::report

#endif  // TOOLS_REPORT_PLACEMENT_H_
