// Kernel traces of real models (data/resnet_kernel_traces.json, see /work/shared/traces/README.md)
// and how hsapreempt-workload replays one forward pass as spin kernels.
//
// Replay plan, per traced kernel of duration `us`:
//   duration_ns  = round(us * 1000 * scale)                     (--scale, default 1)
//   workgroups   = fill_workgroups                              (default: the device's CU count)
//   workgroup_ns = ceil(duration_ns / ceil(workgroups / slots))  so that the kernel alone takes
//                  duration_ns on a device with `slots` workgroup slots (the simulated device
//                  runs ceil(W / slots) rounds of workgroup_ns).
// The default fills the device exactly once (one round): a traced kernel occupies the whole GPU
// for its traced time, which is what a large model's kernels do and what makes a small model's
// kernels wait behind them. Kernels with us <= 0 become 1 ns (they still cost a CP dispatch).
#ifndef TOOLS_WORKLOAD_TRACE_MODEL_H_
#define TOOLS_WORKLOAD_TRACE_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

namespace hsapreempt::workload {

struct TracedKernel {
  std::string name;
  double us = 0;        // device duration on the traced GPU
  double start_us = 0;  // offset from the first kernel
};

struct ModelTrace {
  std::string model;
  int batch = 0;
  std::string device;
  double iter_p50_ms = 0;
  std::vector<TracedKernel> kernels;
  double SumUs() const;
};

// Parses the trace file's JSON text. On error returns false with a one-line *error.
bool ParseTraces(const std::string& json_text, std::vector<ModelTrace>* out, std::string* error);
// Reads and parses a file.
bool LoadTraces(const std::string& path, std::vector<ModelTrace>* out, std::string* error);

// The trace of (model, batch), or nullptr. batch <= 0 picks the first entry of that model.
const ModelTrace* FindTrace(const std::vector<ModelTrace>& traces, const std::string& model,
                            int batch);

struct PlannedKernel {
  uint32_t workgroups = 1;
  uint64_t workgroup_ns = 0;
  uint64_t modelled_ns = 0;  // ceil(workgroups / slots) * workgroup_ns
};

// The replay plan above. fill_workgroups and slots are clamped to >= 1; scale must be > 0
// (non-positive scale is treated as 1).
std::vector<PlannedKernel> PlanReplay(const ModelTrace& trace, double scale,
                                      uint32_t fill_workgroups, uint32_t slots);

// Workgroup time such that `workgroups` workgroups on `slots` slots take `duration_ns`.
uint64_t WorkgroupNsFor(uint64_t duration_ns, uint32_t workgroups, uint32_t slots);

}  // namespace hsapreempt::workload

#endif  // TOOLS_WORKLOAD_TRACE_MODEL_H_
