#include "tests/simdev_integration/hsa_env.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace simtest {
namespace {

hsa_status_t AgentCb(hsa_agent_t a, void* data) {
  HsaEnv* env = static_cast<HsaEnv*>(data);
  hsa_device_type_t t;
  hsa_agent_get_info(a, HSA_AGENT_INFO_DEVICE, &t);
  if (t == HSA_DEVICE_TYPE_GPU) {
    env->gpu = a;
    env->gpu_count++;
  } else if (t == HSA_DEVICE_TYPE_CPU) {
    env->cpu = a;
    env->cpu_count++;
  }
  return HSA_STATUS_SUCCESS;
}

hsa_status_t RegionCb(hsa_region_t r, void* data) {
  uint32_t flags = 0;
  hsa_region_get_info(r, HSA_REGION_INFO_GLOBAL_FLAGS, &flags);
  if (flags & HSA_REGION_GLOBAL_FLAG_KERNARG) *static_cast<hsa_region_t*>(data) = r;
  return HSA_STATUS_SUCCESS;
}

hsa_status_t PoolCb(hsa_amd_memory_pool_t p, void* data) {
  uint32_t seg = 0;
  hsa_amd_memory_pool_get_info(p, HSA_AMD_MEMORY_POOL_INFO_SEGMENT, &seg);
  if (seg == HSA_AMD_SEGMENT_GLOBAL) *static_cast<hsa_amd_memory_pool_t*>(data) = p;
  return HSA_STATUS_SUCCESS;
}

}  // namespace

hsa_status_t HsaEnv::Init() {
  hsa_status_t s = hsa_init();
  if (s != HSA_STATUS_SUCCESS) return s;
  s = hsa_iterate_agents(AgentCb, this);
  if (s != HSA_STATUS_SUCCESS) return s;
  if (gpu.handle == 0 || cpu.handle == 0) return HSA_STATUS_ERROR_INVALID_AGENT;
  hsa_agent_iterate_regions(cpu, RegionCb, &kernarg);
  hsa_amd_agent_iterate_memory_pools(gpu, PoolCb, &vram);
  hsa_amd_agent_iterate_memory_pools(cpu, PoolCb, &sys);
  if (kernarg.handle == 0) return HSA_STATUS_ERROR_INVALID_REGION;
  // A code object v3 kernel descriptor whose only meaningful field is kernarg_size (offset 8):
  // enough for the simulated CP to apply the cost convention.
  uint8_t* kd = static_cast<uint8_t*>(Alloc(64));
  if (kd == nullptr) return HSA_STATUS_ERROR_OUT_OF_RESOURCES;
  uint32_t kernarg_size = HSAPREEMPT_KERNEL_ARGS_SIZE;
  memcpy(kd + 8, &kernarg_size, 4);
  fake_kernel = reinterpret_cast<uint64_t>(kd);
  return HSA_STATUS_SUCCESS;
}

void HsaEnv::Shutdown() { hsa_shut_down(); }

void* HsaEnv::Alloc(size_t bytes) {
  void* p = nullptr;
  if (hsa_memory_allocate(kernarg, bytes, &p) != HSA_STATUS_SUCCESS) return nullptr;
  memset(p, 0, bytes);
  return p;
}

hsa_status_t HsaEnv::LoadKernel(const std::string& path, const char* symbol,
                                uint64_t* kernel_object, uint32_t* kernarg_size) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return HSA_STATUS_ERROR_INVALID_FILE;
  std::vector<char> blob((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  hsa_code_object_reader_t reader;
  hsa_status_t s = hsa_code_object_reader_create_from_memory(blob.data(), blob.size(), &reader);
  if (s != HSA_STATUS_SUCCESS) return s;
  hsa_executable_t exe;
  s = hsa_executable_create_alt(HSA_PROFILE_FULL, HSA_DEFAULT_FLOAT_ROUNDING_MODE_DEFAULT, nullptr,
                                &exe);
  if (s != HSA_STATUS_SUCCESS) return s;
  s = hsa_executable_load_agent_code_object(exe, gpu, reader, nullptr, nullptr);
  if (s != HSA_STATUS_SUCCESS) return s;
  s = hsa_executable_freeze(exe, nullptr);
  if (s != HSA_STATUS_SUCCESS) return s;
  hsa_executable_symbol_t sym;
  s = hsa_executable_get_symbol_by_name(exe, symbol, &gpu, &sym);
  if (s != HSA_STATUS_SUCCESS) return s;
  s = hsa_executable_symbol_get_info(sym, HSA_EXECUTABLE_SYMBOL_INFO_KERNEL_OBJECT, kernel_object);
  if (s != HSA_STATUS_SUCCESS) return s;
  return hsa_executable_symbol_get_info(sym, HSA_EXECUTABLE_SYMBOL_INFO_KERNEL_KERNARG_SEGMENT_SIZE,
                                        kernarg_size);
}

uint16_t Header(hsa_packet_type_t type, bool barrier) {
  return static_cast<uint16_t>((type << HSA_PACKET_HEADER_TYPE) |
                               ((barrier ? 1 : 0) << HSA_PACKET_HEADER_BARRIER) |
                               (HSA_FENCE_SCOPE_SYSTEM << HSA_PACKET_HEADER_SCACQUIRE_FENCE_SCOPE) |
                               (HSA_FENCE_SCOPE_SYSTEM << HSA_PACKET_HEADER_SCRELEASE_FENCE_SCOPE));
}

namespace {

uint64_t Reserve(hsa_queue_t* q) {
  uint64_t idx = hsa_queue_add_write_index_scacq_screl(q, 1);
  while (idx - hsa_queue_load_read_index_scacquire(q) >= q->size) {
  }
  return idx;
}

void Publish(hsa_queue_t* q, uint64_t idx, void* pkt, uint16_t header, uint16_t rest) {
  __atomic_store_n(static_cast<uint32_t*>(pkt), uint32_t(header) | (uint32_t(rest) << 16),
                   __ATOMIC_RELEASE);
  hsa_signal_store_screlease(q->doorbell_signal, idx);
}

}  // namespace

uint64_t SubmitDispatch(hsa_queue_t* q, uint64_t kernel_object, void* kernarg, uint32_t workgroups,
                        hsa_signal_t completion, bool barrier) {
  uint64_t idx = Reserve(q);
  auto* p = static_cast<hsa_kernel_dispatch_packet_t*>(q->base_address) + (idx & (q->size - 1));
  memset(reinterpret_cast<uint8_t*>(p) + 4, 0, sizeof(*p) - 4);
  p->workgroup_size_x = 64;
  p->workgroup_size_y = 1;
  p->workgroup_size_z = 1;
  p->grid_size_x = 64 * workgroups;
  p->grid_size_y = 1;
  p->grid_size_z = 1;
  p->kernel_object = kernel_object;
  p->kernarg_address = kernarg;
  p->completion_signal = completion;
  Publish(q, idx, p, Header(HSA_PACKET_TYPE_KERNEL_DISPATCH, barrier), 1 /* setup: 1 dim */);
  return idx;
}

uint64_t SubmitBarrier(hsa_queue_t* q, bool is_or, const hsa_signal_t* deps, int ndeps,
                       hsa_signal_t completion, bool barrier) {
  uint64_t idx = Reserve(q);
  auto* p = static_cast<hsa_barrier_and_packet_t*>(q->base_address) + (idx & (q->size - 1));
  memset(reinterpret_cast<uint8_t*>(p) + 4, 0, sizeof(*p) - 4);
  for (int i = 0; i < ndeps && i < 5; ++i) p->dep_signal[i] = deps[i];
  p->completion_signal = completion;
  Publish(q, idx, p,
          Header(is_or ? HSA_PACKET_TYPE_BARRIER_OR : HSA_PACKET_TYPE_BARRIER_AND, barrier), 0);
  return idx;
}

void SetArgs(hsapreempt_kernel_args* a, uint64_t workgroup_ns, uint64_t* done, uint64_t done_value,
             uint32_t* counter, uint32_t* slot) {
  memset(a, 0, sizeof(*a));
  a->magic = HSAPREEMPT_KERNEL_MAGIC;
  a->workgroup_ns = workgroup_ns;
  a->done_ptr = done;
  a->done_value = done_value;
  a->order_counter = counter;
  a->order_slot = slot;
}

bool WaitZero(hsa_signal_t s, uint64_t timeout_ms) {
  uint64_t freq = 0;
  hsa_system_get_info(HSA_SYSTEM_INFO_TIMESTAMP_FREQUENCY, &freq);
  uint64_t deadline = SystemTimestamp() + timeout_ms * (freq / 1000);
  while (SystemTimestamp() < deadline) {
    if (hsa_signal_wait_scacquire(s, HSA_SIGNAL_CONDITION_LT, 1, freq / 100,
                                  HSA_WAIT_STATE_BLOCKED) < 1) {
      return true;
    }
  }
  return hsa_signal_load_scacquire(s) < 1;
}

uint64_t SystemTimestamp() {
  uint64_t t = 0;
  hsa_system_get_info(HSA_SYSTEM_INFO_TIMESTAMP, &t);
  return t;
}

}  // namespace simtest
