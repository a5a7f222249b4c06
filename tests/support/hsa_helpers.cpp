#include "tests/support/hsa_helpers.h"

#include <sched.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace hsapreempt::testsupport {
namespace {

thread_local std::string last_error;

hsa_status_t Fail(hsa_status_t status, const std::string& what) {
  const char* text = nullptr;
  hsa_status_string(status, &text);
  last_error = what + ": " + (text ? text : "unknown HSA error") + " (" + std::to_string(status) + ")";
  return status;
}

double NowS() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string ExeDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  buf[n] = '\0';
  std::string path(buf);
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

hsa_status_t FindAgents(hsa_agent_t agent, void* data) {
  auto* sys = static_cast<HsaSystem*>(data);
  hsa_device_type_t type;
  if (hsa_agent_get_info(agent, HSA_AGENT_INFO_DEVICE, &type) != HSA_STATUS_SUCCESS) {
    return HSA_STATUS_SUCCESS;
  }
  if (type == HSA_DEVICE_TYPE_GPU && sys->gpu.handle == 0) sys->gpu = agent;
  if (type == HSA_DEVICE_TYPE_CPU && sys->cpu.handle == 0) sys->cpu = agent;
  return HSA_STATUS_SUCCESS;
}

struct PoolSearch {
  bool want_kernarg = false;
  uint32_t want_flag = 0;
  hsa_amd_memory_pool_t found{0};
};

hsa_status_t FindPool(hsa_amd_memory_pool_t pool, void* data) {
  auto* search = static_cast<PoolSearch*>(data);
  if (search->found.handle != 0) return HSA_STATUS_SUCCESS;
  hsa_amd_segment_t segment;
  if (hsa_amd_memory_pool_get_info(pool, HSA_AMD_MEMORY_POOL_INFO_SEGMENT, &segment) !=
          HSA_STATUS_SUCCESS ||
      segment != HSA_AMD_SEGMENT_GLOBAL) {
    return HSA_STATUS_SUCCESS;
  }
  bool alloc = false;
  hsa_amd_memory_pool_get_info(pool, HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_ALLOWED, &alloc);
  if (!alloc) return HSA_STATUS_SUCCESS;
  uint32_t flags = 0;
  hsa_amd_memory_pool_get_info(pool, HSA_AMD_MEMORY_POOL_INFO_GLOBAL_FLAGS, &flags);
  if (search->want_kernarg && !(flags & HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_KERNARG_INIT)) {
    return HSA_STATUS_SUCCESS;
  }
  if (search->want_flag && !(flags & search->want_flag)) return HSA_STATUS_SUCCESS;
  search->found = pool;
  return HSA_STATUS_SUCCESS;
}

hsa_amd_memory_pool_t Pool(hsa_agent_t agent, bool kernarg, uint32_t flag) {
  PoolSearch search;
  search.want_kernarg = kernarg;
  search.want_flag = flag;
  hsa_amd_agent_iterate_memory_pools(agent, FindPool, &search);
  return search.found;
}

// Reserves one packet slot: CAS on the write index once the ring has room.
uint64_t Reserve(hsa_queue_t* queue, double timeout_s) {
  double deadline = 0;
  for (unsigned spins = 0;; ++spins) {
    uint64_t write = hsa_queue_load_write_index_relaxed(queue);
    uint64_t read = hsa_queue_load_read_index_scacquire(queue);
    if (write - read < queue->size) {
      if (hsa_queue_cas_write_index_scacq_screl(queue, write, write + 1) == write) return write;
      continue;
    }
    if (deadline == 0) deadline = NowS() + timeout_s;
    if (NowS() > deadline) {
      last_error = "queue ring stayed full for " + std::to_string(timeout_s) + " s";
      return UINT64_MAX;
    }
    if (spins > 1000) sched_yield();
  }
}

void Publish(hsa_queue_t* queue, uint64_t index, uint16_t header, uint16_t setup,
             bool ring_doorbell) {
  auto* slot = static_cast<uint32_t*>(queue->base_address) + (index % queue->size) * 16;
  __atomic_store_n(slot, static_cast<uint32_t>(header) | (static_cast<uint32_t>(setup) << 16),
                   __ATOMIC_RELEASE);
  if (ring_doorbell) hsa_signal_store_screlease(queue->doorbell_signal, index);
}

}  // namespace

const std::string& LastError() { return last_error; }

hsa_status_t InitHsa(HsaSystem* sys) {
  *sys = HsaSystem();
  hsa_status_t st = hsa_init();
  if (st != HSA_STATUS_SUCCESS) return Fail(st, "hsa_init");
  hsa_iterate_agents(FindAgents, sys);
  if (sys->gpu.handle == 0 || sys->cpu.handle == 0) {
    hsa_shut_down();
    last_error = "no GPU or no CPU agent found";
    return HSA_STATUS_ERROR_INVALID_AGENT;
  }
  char name[64] = {0};
  hsa_agent_get_info(sys->gpu, HSA_AGENT_INFO_NAME, name);
  sys->gpu_name = name;
  hsa_agent_get_info(sys->gpu, static_cast<hsa_agent_info_t>(HSA_AMD_AGENT_INFO_COMPUTE_UNIT_COUNT),
                     &sys->gpu_compute_units);
  hsa_agent_get_info(sys->gpu, HSA_AGENT_INFO_QUEUE_MAX_SIZE, &sys->gpu_queue_max_size);
  hsa_agent_iterate_isas(
      sys->gpu,
      [](hsa_isa_t isa, void* data) {
        uint32_t len = 0;
        hsa_isa_get_info_alt(isa, HSA_ISA_INFO_NAME_LENGTH, &len);
        std::string s(len, '\0');
        hsa_isa_get_info_alt(isa, HSA_ISA_INFO_NAME, &s[0]);
        while (!s.empty() && s.back() == '\0') s.pop_back();
        *static_cast<std::string*>(data) = s;
        return HSA_STATUS_INFO_BREAK;
      },
      &sys->gpu_isa);
  sys->kernarg_pool = Pool(sys->cpu, true, 0);
  sys->fine_pool = Pool(sys->cpu, false, HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_FINE_GRAINED);
  sys->coarse_pool = Pool(sys->gpu, false, HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_COARSE_GRAINED);
  hsa_system_get_info(HSA_SYSTEM_INFO_TIMESTAMP_FREQUENCY, &sys->timestamp_hz);
  if (sys->kernarg_pool.handle == 0 || sys->fine_pool.handle == 0 || sys->timestamp_hz == 0) {
    hsa_shut_down();
    last_error = "no kernarg / fine-grained pool or no timestamp frequency";
    return HSA_STATUS_ERROR;
  }
  return HSA_STATUS_SUCCESS;
}

void ShutdownHsa() { hsa_shut_down(); }

void* AllocAccessible(const HsaSystem& sys, hsa_amd_memory_pool_t pool, size_t bytes) {
  void* ptr = nullptr;
  hsa_status_t st = hsa_amd_memory_pool_allocate(pool, bytes, 0, &ptr);
  if (st != HSA_STATUS_SUCCESS) {
    Fail(st, "hsa_amd_memory_pool_allocate(" + std::to_string(bytes) + ")");
    return nullptr;
  }
  hsa_agent_t agents[2] = {sys.gpu, sys.cpu};
  st = hsa_amd_agents_allow_access(2, agents, nullptr, ptr);
  if (st != HSA_STATUS_SUCCESS) {
    Fail(st, "hsa_amd_agents_allow_access");
    hsa_amd_memory_pool_free(ptr);
    return nullptr;
  }
  return ptr;
}

void FreeMemory(void* ptr) {
  if (ptr) hsa_amd_memory_pool_free(ptr);
}

hsa_status_t LoadKernel(const HsaSystem& sys, const std::string& path, const std::string& symbol,
                        Kernel* kernel) {
  *kernel = Kernel();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    last_error = "cannot open code object " + path + ": " + std::strerror(errno);
    return HSA_STATUS_ERROR_INVALID_FILE;
  }
  hsa_status_t st = hsa_code_object_reader_create_from_file(fd, &kernel->reader);
  close(fd);  // the reader has read the file
  if (st != HSA_STATUS_SUCCESS) return Fail(st, "code object reader for " + path);
  st = hsa_executable_create_alt(HSA_PROFILE_FULL, HSA_DEFAULT_FLOAT_ROUNDING_MODE_DEFAULT, nullptr,
                                 &kernel->executable);
  if (st == HSA_STATUS_SUCCESS) {
    st = hsa_executable_load_agent_code_object(kernel->executable, sys.gpu, kernel->reader, nullptr,
                                               nullptr);
    if (st != HSA_STATUS_SUCCESS) Fail(st, "load " + path);
  } else {
    Fail(st, "hsa_executable_create_alt");
  }
  if (st == HSA_STATUS_SUCCESS) {
    st = hsa_executable_freeze(kernel->executable, nullptr);
    if (st != HSA_STATUS_SUCCESS) Fail(st, "hsa_executable_freeze");
  }
  hsa_executable_symbol_t sym{0};
  if (st == HSA_STATUS_SUCCESS) {
    st = hsa_executable_get_symbol_by_name(kernel->executable, symbol.c_str(), &sys.gpu, &sym);
    if (st != HSA_STATUS_SUCCESS) Fail(st, "symbol " + symbol + " in " + path);
  }
  if (st != HSA_STATUS_SUCCESS) {
    std::string why = last_error;
    UnloadKernel(kernel);
    last_error = why;
    return st;
  }
  hsa_executable_symbol_get_info(sym, HSA_EXECUTABLE_SYMBOL_INFO_KERNEL_OBJECT, &kernel->object);
  hsa_executable_symbol_get_info(sym, HSA_EXECUTABLE_SYMBOL_INFO_KERNEL_KERNARG_SEGMENT_SIZE,
                                 &kernel->kernarg_size);
  hsa_executable_symbol_get_info(sym, HSA_EXECUTABLE_SYMBOL_INFO_KERNEL_KERNARG_SEGMENT_ALIGNMENT,
                                 &kernel->kernarg_align);
  hsa_executable_symbol_get_info(sym, HSA_EXECUTABLE_SYMBOL_INFO_KERNEL_GROUP_SEGMENT_SIZE,
                                 &kernel->group_segment_size);
  hsa_executable_symbol_get_info(sym, HSA_EXECUTABLE_SYMBOL_INFO_KERNEL_PRIVATE_SEGMENT_SIZE,
                                 &kernel->private_segment_size);
  return HSA_STATUS_SUCCESS;
}

void UnloadKernel(Kernel* kernel) {
  if (kernel->executable.handle) hsa_executable_destroy(kernel->executable);
  if (kernel->reader.handle) hsa_code_object_reader_destroy(kernel->reader);
  *kernel = Kernel();
}

std::string SpinCodeObjectPath(const std::string& gpu_name) {
  const std::string file = "/spin_" + gpu_name + ".hsaco";
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("HSAPREEMPT_KERNELS_DIR"); env && *env) dirs.push_back(env);
#ifdef HSAPREEMPT_BUILD_KERNELS_DIR
  dirs.push_back(HSAPREEMPT_BUILD_KERNELS_DIR);
#endif
  dirs.push_back(ExeDir() + "/../kernels");
  dirs.push_back(ExeDir() + "/../share/hsapreempt/kernels");
  for (const auto& dir : dirs) {
    if (FileExists(dir + file)) return dir + file;
  }
  return "";
}

hsa_status_t LoadSpinKernel(const HsaSystem& sys, Kernel* kernel) {
  std::string path = SpinCodeObjectPath(sys.gpu_name);
  if (path.empty()) {
    last_error = "no spin_" + sys.gpu_name +
                 ".hsaco found (set HSAPREEMPT_KERNELS_DIR; see kernels/README.md)";
    return HSA_STATUS_ERROR_INVALID_FILE;
  }
  hsa_status_t st = LoadKernel(sys, path, HSAPREEMPT_SPIN_KERNEL_SYMBOL, kernel);
  if (st != HSA_STATUS_SUCCESS) return st;
  if (kernel->kernarg_size < HSAPREEMPT_KERNEL_ARGS_SIZE) {
    last_error = path + ": kernarg size " + std::to_string(kernel->kernarg_size) + " < 64";
    UnloadKernel(kernel);
    return HSA_STATUS_ERROR_INVALID_CODE_OBJECT;
  }
  return HSA_STATUS_SUCCESS;
}

void FillSpinArgs(void* kernarg, uint32_t kernarg_size, uint64_t workgroup_ns, uint64_t tag,
                  uint64_t* done_ptr, uint64_t done_value, uint32_t* order_counter,
                  uint32_t* order_slot) {
  std::memset(kernarg, 0, kernarg_size);
  auto* args = static_cast<hsapreempt_kernel_args*>(kernarg);
  args->magic = HSAPREEMPT_KERNEL_MAGIC;
  args->workgroup_ns = workgroup_ns;
  args->done_ptr = done_ptr;
  args->done_value = done_value;
  args->order_counter = order_counter;
  args->order_slot = order_slot;
  args->tag = tag;
}

bool KernargRing::Init(const HsaSystem& sys, size_t slots, size_t slot_bytes) {
  slot_bytes_ = (slot_bytes + 63) & ~size_t{63};
  slots_ = slots;
  base_ = static_cast<char*>(AllocAccessible(sys, sys.kernarg_pool, slots_ * slot_bytes_));
  return base_ != nullptr;
}

void* KernargRing::Next() {
  void* p = base_ + (next_ % slots_) * slot_bytes_;
  ++next_;
  return p;
}

KernargRing::~KernargRing() { FreeMemory(base_); }

uint64_t SubmitDispatch(hsa_queue_t* queue, const Kernel& kernel, const void* kernarg,
                        const DispatchConfig& config) {
  if (!queue || kernel.object == 0 || config.workgroups == 0 || config.workgroup_size == 0) {
    last_error = "SubmitDispatch: bad arguments";
    return UINT64_MAX;
  }
  uint64_t index = Reserve(queue, config.full_timeout_s);
  if (index == UINT64_MAX) return index;
  auto* packet = static_cast<hsa_kernel_dispatch_packet_t*>(queue->base_address) +
                 (index % queue->size);
  // Body first (header stays INVALID until Publish).
  packet->workgroup_size_x = config.workgroup_size;
  packet->workgroup_size_y = 1;
  packet->workgroup_size_z = 1;
  packet->reserved0 = 0;
  packet->grid_size_x = config.workgroups * static_cast<uint32_t>(config.workgroup_size);
  packet->grid_size_y = 1;
  packet->grid_size_z = 1;
  packet->private_segment_size = kernel.private_segment_size;
  packet->group_segment_size = kernel.group_segment_size;
  packet->kernel_object = kernel.object;
  packet->kernarg_address = const_cast<void*>(kernarg);
  packet->reserved2 = 0;
  packet->completion_signal = config.completion;
  uint16_t header = (HSA_PACKET_TYPE_KERNEL_DISPATCH << HSA_PACKET_HEADER_TYPE) |
                    ((config.barrier ? 1 : 0) << HSA_PACKET_HEADER_BARRIER) |
                    (HSA_FENCE_SCOPE_SYSTEM << HSA_PACKET_HEADER_SCACQUIRE_FENCE_SCOPE) |
                    (HSA_FENCE_SCOPE_SYSTEM << HSA_PACKET_HEADER_SCRELEASE_FENCE_SCOPE);
  uint16_t setup = 1 << HSA_KERNEL_DISPATCH_PACKET_SETUP_DIMENSIONS;
  Publish(queue, index, header, setup, config.ring_doorbell);
  return index;
}

uint64_t SubmitBarrierAnd(hsa_queue_t* queue, const std::vector<hsa_signal_t>& deps,
                          hsa_signal_t completion, bool ring_doorbell, double full_timeout_s) {
  if (!queue || deps.size() > 5) {
    last_error = "SubmitBarrierAnd: bad arguments (at most 5 dependencies)";
    return UINT64_MAX;
  }
  uint64_t index = Reserve(queue, full_timeout_s);
  if (index == UINT64_MAX) return index;
  auto* packet = static_cast<hsa_barrier_and_packet_t*>(queue->base_address) +
                 (index % queue->size);
  packet->reserved0 = 0;
  packet->reserved1 = 0;
  for (size_t i = 0; i < 5; ++i) packet->dep_signal[i] = i < deps.size() ? deps[i] : hsa_signal_t{0};
  packet->reserved2 = 0;
  packet->completion_signal = completion;
  uint16_t header = (HSA_PACKET_TYPE_BARRIER_AND << HSA_PACKET_HEADER_TYPE) |
                    (1 << HSA_PACKET_HEADER_BARRIER) |
                    (HSA_FENCE_SCOPE_SYSTEM << HSA_PACKET_HEADER_SCACQUIRE_FENCE_SCOPE) |
                    (HSA_FENCE_SCOPE_SYSTEM << HSA_PACKET_HEADER_SCRELEASE_FENCE_SCOPE);
  Publish(queue, index, header, 0, ring_doorbell);
  return index;
}

void RingDoorbell(hsa_queue_t* queue, uint64_t index) {
  hsa_signal_store_screlease(queue->doorbell_signal, index);
}

bool WaitSignalBelow(hsa_signal_t signal, hsa_signal_value_t below, double timeout_s,
                     WaitStyle style) {
  const double deadline = NowS() + timeout_s;
  if (style == WaitStyle::kYield || style == WaitStyle::kSleep) {
    const unsigned check_mask = style == WaitStyle::kSleep ? 15 : 1023;
    const double start = NowS();
    for (unsigned i = 0;; ++i) {
      hsa_signal_value_t v = hsa_signal_load_scacquire(signal);
      if (v < below) return true;
      if ((i & check_mask) == check_mask && NowS() > deadline) {
        last_error = "signal still " + std::to_string(v) + " after " + std::to_string(timeout_s) + " s";
        return false;
      }
      if (style == WaitStyle::kSleep) {
        // 50 us, growing with the wait to 1/64 of it (at most 1 ms): completion is seen at most
        // ~1.6% late, and a long wait (a 0.5 s batch-1024 pass) costs ~1000 wake-ups/s instead
        // of 20000, which on 2 cores was 17% of a core taken from the simulated CP threads.
        const double sleep_s = std::min(std::max((NowS() - start) / 64, 50e-6), 1e-3);
        struct timespec ts = {0, static_cast<long>(sleep_s * 1e9)};
        nanosleep(&ts, nullptr);
      } else {
        sched_yield();
      }
    }
  }
  for (;;) {
    hsa_signal_value_t v = hsa_signal_wait_scacquire(signal, HSA_SIGNAL_CONDITION_LT, below,
                                                     UINT64_MAX / 2, HSA_WAIT_STATE_BLOCKED);
    // The wait may return early (spurious or timeout hint): re-check the value and the deadline.
    if (v < below) return true;
    if (NowS() > deadline) {
      last_error = "signal still " + std::to_string(v) + " after " + std::to_string(timeout_s) + " s";
      return false;
    }
  }
}

uint64_t TicksToNs(const HsaSystem& sys, uint64_t ticks) {
  if (sys.timestamp_hz == 1000000000ull) return ticks;
  return static_cast<uint64_t>(static_cast<long double>(ticks) * 1e9L / sys.timestamp_hz);
}

uint64_t SystemTimestampNs(const HsaSystem& sys) {
  uint64_t ticks = 0;
  hsa_system_get_info(HSA_SYSTEM_INFO_TIMESTAMP, &ticks);
  return TicksToNs(sys, ticks);
}

bool DispatchTimeNs(const HsaSystem& sys, hsa_signal_t completion, uint64_t* start_ns,
                    uint64_t* end_ns) {
  hsa_amd_profiling_dispatch_time_t t{};
  hsa_status_t st = hsa_amd_profiling_get_dispatch_time(sys.gpu, completion, &t);
  if (st != HSA_STATUS_SUCCESS) {
    Fail(st, "hsa_amd_profiling_get_dispatch_time");
    return false;
  }
  *start_ns = TicksToNs(sys, t.start);
  *end_ns = TicksToNs(sys, t.end);
  return true;
}

}  // namespace hsapreempt::testsupport
