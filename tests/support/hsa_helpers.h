// HSA helpers for tests and the workload runner: the few things every program that drives the
// GPU through the HSA API needs, written once and correctly.
//
// All functions call the public HSA API (so a tool loaded with HSA_TOOLS_LIB sees every call) and
// return hsa_status_t or bool; none throws, exits or aborts. Errors are described in one line
// through LastError() (thread-local).
//
// Submission follows the AQL protocol as HIP does it: reserve a slot with a CAS on the write index
// (waiting, with a timeout, while the ring is full), write the packet body, publish the 32-bit
// header+setup word with a release store, then ring the doorbell with
// hsa_signal_store_screlease(queue->doorbell_signal, index).
#ifndef TESTS_SUPPORT_HSA_HELPERS_H_
#define TESTS_SUPPORT_HSA_HELPERS_H_

#include <hsa/hsa.h>
#include <hsa/hsa_ext_amd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hsapreempt/sim_kernel_abi.h"

namespace hsapreempt::testsupport {

// One line describing the last failure on this thread ("" if none).
const std::string& LastError();

struct HsaSystem {
  hsa_agent_t gpu{0};
  hsa_agent_t cpu{0};
  std::string gpu_name;             // e.g. "gfx90a"
  std::string gpu_isa;              // full ISA name, e.g. "amdgcn-amd-amdhsa--gfx90a:sramecc+:xnack-"
  uint32_t gpu_compute_units = 0;
  uint32_t gpu_queue_max_size = 0;
  hsa_amd_memory_pool_t kernarg_pool{0};  // CPU agent, KERNARG_INIT
  hsa_amd_memory_pool_t fine_pool{0};     // CPU agent, fine-grained system memory
  hsa_amd_memory_pool_t coarse_pool{0};   // GPU agent, coarse-grained (VRAM)
  uint64_t timestamp_hz = 0;              // HSA_SYSTEM_INFO_TIMESTAMP_FREQUENCY
};

// hsa_init + agent and pool discovery (first GPU agent, first CPU agent). On failure hsa_shut_down
// has already been called.
hsa_status_t InitHsa(HsaSystem* sys);
void ShutdownHsa();

// Allocates from `pool` and makes it accessible to both agents (needed for CPU pools the GPU
// reads: kernargs, signals' payloads, result words). Returns nullptr on failure.
void* AllocAccessible(const HsaSystem& sys, hsa_amd_memory_pool_t pool, size_t bytes);
void FreeMemory(void* ptr);

// A code object loaded for the GPU agent and one kernel in it.
struct Kernel {
  uint64_t object = 0;             // kernel_object for the dispatch packet
  uint32_t kernarg_size = 0;       // KERNARG_SEGMENT_SIZE
  uint32_t kernarg_align = 0;
  uint32_t group_segment_size = 0;
  uint32_t private_segment_size = 0;
  hsa_executable_t executable{0};
  hsa_code_object_reader_t reader{0};
};

// Loads `path` into a new frozen executable for sys.gpu and looks up `symbol` (the ".kd" name).
hsa_status_t LoadKernel(const HsaSystem& sys, const std::string& path, const std::string& symbol,
                        Kernel* kernel);
void UnloadKernel(Kernel* kernel);

// The spin code object for the GPU (file spin_<gpu_name>.hsaco), looked up in order:
// $HSAPREEMPT_KERNELS_DIR, the build tree's kernels dir baked in at compile time, then
// <exe dir>/../kernels and <exe dir>/../share/hsapreempt/kernels. "" if none exists.
std::string SpinCodeObjectPath(const std::string& gpu_name);
// LoadKernel(SpinCodeObjectPath(...), HSAPREEMPT_SPIN_KERNEL_SYMBOL), checking kernarg size >= 64.
hsa_status_t LoadSpinKernel(const HsaSystem& sys, Kernel* kernel);

// Fills a spin kernel's argument block (hsapreempt_kernel_args; the rest of kernarg_size zeroed).
void FillSpinArgs(void* kernarg, uint32_t kernarg_size, uint64_t workgroup_ns, uint64_t tag,
                  uint64_t* done_ptr = nullptr, uint64_t done_value = 0,
                  uint32_t* order_counter = nullptr, uint32_t* order_slot = nullptr);

// A ring of kernarg blocks in the kernarg pool. The caller must not reuse a block before the
// dispatch that read it has completed (make `slots` at least twice the number in flight).
class KernargRing {
 public:
  bool Init(const HsaSystem& sys, size_t slots, size_t slot_bytes);
  void* Next();
  size_t slot_bytes() const { return slot_bytes_; }
  ~KernargRing();

 private:
  char* base_ = nullptr;
  size_t slots_ = 0, slot_bytes_ = 0, next_ = 0;
};

struct DispatchConfig {
  uint32_t workgroups = 1;             // grid_size_x = workgroups * workgroup_size
  uint16_t workgroup_size = 64;
  hsa_signal_t completion{0};          // optional
  bool barrier = false;                // AQL barrier bit: start after earlier packets completed
  bool ring_doorbell = true;           // false: caller rings later (batching)
  double full_timeout_s = 10;          // give up if the ring stays full this long
};

// Writes one kernel dispatch packet and (by default) rings the doorbell. Returns the packet index,
// or UINT64_MAX on timeout/bad arguments (nothing was reserved then).
uint64_t SubmitDispatch(hsa_queue_t* queue, const Kernel& kernel, const void* kernarg,
                        const DispatchConfig& config);

// Writes a barrier-AND packet waiting on up to 5 `deps` (null handles are skipped by the packet
// processor) with the barrier bit set. Returns the index or UINT64_MAX.
uint64_t SubmitBarrierAnd(hsa_queue_t* queue, const std::vector<hsa_signal_t>& deps,
                          hsa_signal_t completion, bool ring_doorbell = true,
                          double full_timeout_s = 10);

// Rings `queue`'s doorbell for everything written up to packet index `index`.
void RingDoorbell(hsa_queue_t* queue, uint64_t index);

// How a host thread waits for a completion signal.
enum class WaitStyle {
  kHsaWait,  // hsa_signal_wait_scacquire, BLOCKED: ROCr spins ~200 us, then sleeps (as HIP does)
  kYield,    // poll the value, sched_yield between polls: gives the core to other threads (the
             // simulated CP) on a small machine, still sees completion within one time slice
  kSleep,    // poll the value, sleep between polls: leaves the cores idle, so a simulated CP
             // thread that wakes is scheduled at once (a yield loop keeps a core busy, and CFS
             // may let a waking thread wait a time slice, ~4 ms). Sleeps 50 us, growing to 1/64
             // of the time waited so far (at most 1 ms): sees completion ~0.1 ms or ~1.6% late
};

// Waits until `signal`'s value is < `below` (e.g. 1 for "completed" on a 1-initialised signal).
// False on timeout. Never hangs past timeout_s.
bool WaitSignalBelow(hsa_signal_t signal, hsa_signal_value_t below, double timeout_s,
                     WaitStyle style = WaitStyle::kHsaWait);

// Clocks, in ns of the HSA system timestamp (on the simulated device: CLOCK_MONOTONIC_RAW).
uint64_t TicksToNs(const HsaSystem& sys, uint64_t ticks);
uint64_t SystemTimestampNs(const HsaSystem& sys);
// hsa_amd_profiling_get_dispatch_time converted to ns. Profiling must be enabled on the queue
// (hsa_amd_profiling_set_profiler_enabled) before the dispatch was submitted.
bool DispatchTimeNs(const HsaSystem& sys, hsa_signal_t completion, uint64_t* start_ns,
                    uint64_t* end_ns);

}  // namespace hsapreempt::testsupport

#endif  // TESTS_SUPPORT_HSA_HELPERS_H_
