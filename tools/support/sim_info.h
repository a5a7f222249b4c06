// What a program can learn about the simulated device it runs on, through the entry points the
// simulated thunk exports (include/hsapreempt/sim_device.h), looked up with dlsym(RTLD_DEFAULT):
// nothing links the simulated device, and on a real GPU these report "not simulated".
//
// Only meaningful in a process that has loaded the thunk (an HSA program: ROCr loads it).
#ifndef TOOLS_SUPPORT_SIM_INFO_H_
#define TOOLS_SUPPORT_SIM_INFO_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tools/support/json.h"

namespace hsapreempt::tools {

// hsapreempt_sim_describe(), or "" when not running on the simulated device.
std::string SimDescribe();

// Removes what a simulated device named `device_name` leaves on the host: its shared segment
// (/dev/shm/hsapreempt-sim-<uid>-<name>) and its simulated sysfs tree
// (/tmp/hsapreempt-sim-<uid>-<name>, whose per-process queue directories outlive the processes).
// For benchmarks and tests that create a device per measurement; missing is fine. Needs no HSA.
void RemoveSimDeviceFiles(const std::string& device_name);

struct QueueActivity {
  uint64_t dispatches = 0;  // DISPATCH_END events
  uint64_t busy_ns = 0;     // union of this queue's dispatch intervals
};

struct TraceSummary {
  bool available = false;         // the trace entry point exists
  uint64_t events = 0;            // events read (after the pid filter)
  uint64_t first_ns = 0, last_ns = 0;
  uint64_t device_busy_ns = 0;    // union of every dispatch interval read
  uint64_t runlist_updates = 0, preemptions = 0, restores = 0, queue_errors = 0;
  uint64_t lost_events = 0;       // dropped by the ring before they were read (counts are low)
  std::vector<uint64_t> preempt_ns;  // device time of each PREEMPT event read (a CWSR save of the
                                     // process's waves), in ring order
  // (start, launch) device times of each kernel dispatch of the process whose DISPATCH_LAUNCH and
  // DISPATCH_START were both read, in start order: when the simulated CP fetched the packet.
  std::vector<std::pair<uint64_t, uint64_t>> launches;
  std::map<std::pair<uint32_t, uint32_t>, QueueActivity> queues;  // (pid, KFD queue id)
};

// The launch time of the kernel that started at `start_ns` (within `tolerance_ns`, for timestamps
// rounded to the profiling clock), or 0 if none was read. `launches` as in TraceSummary.
uint64_t LaunchOfStart(const std::vector<std::pair<uint64_t, uint64_t>>& launches, uint64_t start_ns,
                       uint64_t tolerance_ns = 1000);

// Reads the whole device trace still held (events at or after since_ns; pid 0 = every process).
TraceSummary ReadTraceSummary(uint32_t pid, uint64_t since_ns);

// Accumulates the trace while a run goes on: the device keeps only the newest 65536 events (about
// two thirds of a second of a stream of short kernels: launch, start and end per kernel), so a
// summary read once at the end would miss the start. Call Poll() often enough (e.g. every
// 100 ms) and Finish() once. Events the ring dropped before they were read are counted in
// `lost_events`. Poll() and Finish() from one thread.
class TraceCollector {
 public:
  TraceCollector(uint32_t pid, uint64_t since_ns);
  ~TraceCollector();
  TraceCollector(const TraceCollector&) = delete;
  TraceCollector& operator=(const TraceCollector&) = delete;
  void Poll();
  TraceSummary Finish();

 private:
  struct State;
  std::unique_ptr<State> st_;
};

// Writes every event still held in the device trace (all processes) to `path`, one per line:
// "time_ns pid queue kind dispatch value" (kind names as in sim_device.h without the prefix).
// Returns false with *error set when the trace is unavailable or the file cannot be written.
bool DumpTrace(const std::string& path, std::string* error);

// {"available":..,"events":..,"device_busy_ns":..,"queues":[{"pid","queue","dispatches","busy_ns"}],..}
void WriteTraceSummary(const TraceSummary& summary, json::Writer* w);

}  // namespace hsapreempt::tools

#endif  // TOOLS_SUPPORT_SIM_INFO_H_
