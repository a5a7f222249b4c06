// A tiny HSA helper for the simulated device's integration tests: init, agents, memory,
// a convention kernel (sim_kernel_abi.h) either synthesised in memory or loaded from a code
// object, packet submission, and waits. Aborts nothing: failures are reported as gtest failures
// by the callers through the returned statuses.
#ifndef TESTS_SIMDEV_INTEGRATION_HSA_ENV_H_
#define TESTS_SIMDEV_INTEGRATION_HSA_ENV_H_

#include <hsa/hsa.h>
#include <hsa/hsa_ext_amd.h>

#include <cstdint>
#include <string>

#include "hsapreempt/sim_kernel_abi.h"

namespace simtest {

struct HsaEnv {
  hsa_agent_t gpu{0}, cpu{0};
  hsa_region_t kernarg{0};             // system kernarg region (host-visible, fine grained)
  hsa_amd_memory_pool_t vram{0}, sys{0};
  uint64_t fake_kernel = 0;            // a synthesised convention kernel descriptor
  int gpu_count = 0, cpu_count = 0;

  // hsa_init + discovery. Returns HSA_STATUS_SUCCESS or the first failure.
  hsa_status_t Init();
  void Shutdown();

  // Host-visible, GPU-accessible memory (kernarg region), zeroed.
  void* Alloc(size_t bytes);

  // Loads a code object file for the GPU and returns the kernel object of `symbol`.
  hsa_status_t LoadKernel(const std::string& path, const char* symbol, uint64_t* kernel_object,
                          uint32_t* kernarg_size);
};

// Header word for a packet type with system-scope fences.
uint16_t Header(hsa_packet_type_t type, bool barrier);

// Writes a 1-D dispatch packet (workgroups of 64) into the next slot of q and rings the doorbell.
// Blocks while the ring is full. Returns the packet index.
uint64_t SubmitDispatch(hsa_queue_t* q, uint64_t kernel_object, void* kernarg, uint32_t workgroups,
                        hsa_signal_t completion, bool barrier = false);

// A barrier-AND (or -OR) packet with up to 5 dependencies.
uint64_t SubmitBarrier(hsa_queue_t* q, bool is_or, const hsa_signal_t* deps, int ndeps,
                       hsa_signal_t completion, bool barrier = false);

// Fills a convention kernarg block.
void SetArgs(hsapreempt_kernel_args* a, uint64_t workgroup_ns, uint64_t* done = nullptr,
             uint64_t done_value = 0, uint32_t* counter = nullptr, uint32_t* slot = nullptr);

// Waits until the signal's value is < 1 (with a timeout in ms). True if it got there.
bool WaitZero(hsa_signal_t s, uint64_t timeout_ms = 20000);

uint64_t SystemTimestamp();

}  // namespace simtest

#endif  // TESTS_SIMDEV_INTEGRATION_HSA_ENV_H_
