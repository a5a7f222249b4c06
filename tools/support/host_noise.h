// The host's own noise, measured so that benchmark figures can be read against it.
//
// On the simulated device every command processor, scheduler and application thread is a host
// thread, so a host that wakes threads late (a loaded machine, or a virtual machine whose vCPUs
// the hypervisor deschedules) shows up as latency that no level can remove. Two measurements:
// - the wake-up check: a thread sleeping a fixed period over and over, and how late each wake-up
//   came (like cyclictest, at normal priority, nothing else running);
// - hypervisor steal: the share of the machine's CPU time /proc/stat counts as stolen (time a
//   vCPU was runnable but the hypervisor ran something else), over any interval.
#ifndef TOOLS_SUPPORT_HOST_NOISE_H_
#define TOOLS_SUPPORT_HOST_NOISE_H_

#include <cstdint>
#include <string>

#include "tools/support/json.h"
#include "tools/support/stats.h"

namespace hsapreempt::tools {

// The aggregate "cpu" line of /proc/stat, in clock ticks. ok is false when unreadable.
struct CpuTimes {
  bool ok = false;
  uint64_t total = 0;  // every field summed (user .. steal; guest time is inside user/nice)
  uint64_t steal = 0;
};

// Parses the text of /proc/stat (its "cpu " line); kernels older than 2.6.11 have no steal field
// (read as 0).
CpuTimes ParseCpuTimes(const std::string& proc_stat);
CpuTimes ReadCpuTimes();

// Share of CPU time stolen between two readings, in [0, 1]; NaN when either reading failed or
// no tick passed.
double StealFraction(const CpuTimes& before, const CpuTimes& after);

struct WakeupCheck {
  bool ok = false;
  uint64_t period_ns = 0;
  double seconds = 0;   // wall time the check took
  Summary late_ns;      // per wake-up: how long after the requested time the thread ran
  double steal = 0;     // StealFraction over the check (NaN if unknown)
};

// Sleeps `period_ns` (relative nanosleep, timer slack 1 ns for the duration) until `seconds` have
// passed and summarises the lateness of every wake-up. Runs on the calling thread.
WakeupCheck CheckWakeups(double seconds, uint64_t period_ns = 500000);

// "timer wake-ups late by P50 69 us, P99 1.57 ms, max 12.1 ms (2 s of 0.5 ms sleeps); hypervisor
// steal 5.9%" (the steal part only when known).
std::string DescribeWakeupCheck(const WakeupCheck& check);

// {"period_ns","seconds","late_ns":{count,mean,p50,p90,p95,p99,max,min},"steal"} (steal null when
// unknown).
void WriteWakeupCheck(const WakeupCheck& check, json::Writer* w);

// "3.1%" or "-" when unknown: the benchmarks' table column.
std::string FormatSteal(double steal);

}  // namespace hsapreempt::tools

#endif  // TOOLS_SUPPORT_HOST_NOISE_H_
