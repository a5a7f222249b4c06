// Command line of hsapreempt-workload (see tools/workload/README.md for every flag).
#ifndef TOOLS_WORKLOAD_OPTIONS_H_
#define TOOLS_WORKLOAD_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace hsapreempt::workload {

enum class Mode { kSpin, kProbe, kReplay };
enum class Arrival { kFixed, kPoisson };

struct Options {
  Mode mode = Mode::kSpin;
  // Kernel shape (spin/probe). duration_us < 0: mode default (spin 1000, probe 10).
  double duration_us = -1;
  int64_t workgroup_ns = -1;   // explicit per-workgroup time (overrides duration_us)
  int64_t workgroups = -1;     // -1: spin = device CU count (one round), probe = 1
  uint32_t workgroup_size = 64;
  int64_t kernels_per_unit = 1;  // spin: identical kernels per unit (completion signal on the last)
  // Stream.
  uint32_t queues = 1;
  int64_t count = -1;          // units per queue; -1: 100 unless seconds is set
  double seconds = 0;          // stop releasing after this long (0: count only)
  double rate = 0;             // units/s per queue; 0 = flat out
  Arrival arrival = Arrival::kFixed;
  bool arrival_set = false;
  int64_t inflight = -1;       // outstanding units per queue; -1: 64 (replay flat out: 1)
  int64_t warmup = 1;          // units per queue excluded from statistics
  std::string priority;        // "", low, normal, high
  uint64_t seed = 1;
  bool barrier = true;         // AQL barrier bit on every dispatch (as HIP does)
  uint32_t queue_size = 4096;
  // Replay.
  std::string traces;          // default: the repo's data/resnet_kernel_traces.json
  std::string model = "resnet18";
  int batch = 0;               // 0: first entry of the model
  double scale = 1.0;
  int64_t fill_workgroups = -1;  // -1: device CU count
  int64_t fill_rounds = -1;      // --fill-rounds R: fill_workgroups = R x device CU count
  // Output.
  bool samples = false;        // per-unit arrays in the JSON
  bool trace = false;          // device trace summary (simulated device only)
  std::string trace_dump;      // --trace-dump FILE: every device trace event, one per line
  double timeout_s = 60;       // longest wait for any one completion
  std::string wait = "hsa";    // --wait hsa|yield|sleep (tests/support/hsa_helpers.h WaitStyle)
};

// Parses argv (without the program name): "<mode> [--flag value]...". On error returns false
// with a one-line *error. "--help" sets *help.
bool ParseOptions(const std::vector<std::string>& args, Options* options, bool* help,
                  std::string* error);

const char* ModeName(Mode mode);
const char* UsageText();

}  // namespace hsapreempt::workload

#endif  // TOOLS_WORKLOAD_OPTIONS_H_
