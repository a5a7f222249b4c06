// Thunk API: memory. Every allocation is host memory (mmap, MAP_NORESERVE so ROCr's 4 GiB scratch
// reservation and large "VRAM" buffers cost nothing until touched); GPU addresses equal host
// addresses. Allocations and registrations are tracked for QueryPointerInfo.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "simdev/log.h"
#include "simdev/thunk_internal.h"

namespace simdev {
namespace {

struct Range {
  uint64_t size = 0;
  uint32_t node = 0;
  HsaMemFlags flags{};
  bool registered = false;  // user memory registered, not allocated by us
  void* user_data = nullptr;
};

struct MemTable {
  // Shared: lookups and the CP's copies out of our own allocations; exclusive: changes.
  std::shared_mutex mu;
  std::map<uint64_t, Range> ranges;  // by start address
};

MemTable* g_mem = new MemTable();  // never destroyed; replaced in a fork child

// Requires mu. The range containing p, or end().
std::map<uint64_t, Range>::iterator Find(MemTable& m, uint64_t p) {
  auto it = m.ranges.upper_bound(p);
  if (it == m.ranges.begin()) return m.ranges.end();
  --it;
  if (p >= it->first && p < it->first + it->second.size) return it;
  return m.ranges.end();
}

uint32_t kMappedNodes[1] = {kGpuNode};

}  // namespace

bool CopyWithinOwnAllocation(void* dst, const void* src, size_t n, bool to_app) {
  MemTable& m = *g_mem;
  uint64_t app = reinterpret_cast<uint64_t>(to_app ? dst : src);
  std::shared_lock<std::shared_mutex> lock(m.mu);  // FreeMemory cannot unmap it meanwhile
  auto it = Find(m, app);
  if (it == m.ranges.end() || it->second.registered || app + n < app ||
      app + n > it->first + it->second.size) {
    return false;
  }
  memcpy(dst, src, n);
  return true;
}

void ResetMemoryInChild() {
  // The mappings themselves are inherited (copy-on-write); keep tracking them in the child.
  MemTable* fresh = new MemTable();
  fresh->ranges = g_mem->ranges;
  g_mem = fresh;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtAllocMemory(HSAuint32 node, HSAuint64 size, HsaMemFlags flags,
                                           void** address) {
  if (address == nullptr || size == 0) return HSAKMT_STATUS_INVALID_PARAMETER;
  if (node >= kNumNodes) return HSAKMT_STATUS_INVALID_NODE_UNIT;
  long page = sysconf(_SC_PAGESIZE);
  uint64_t bytes = (size + page - 1) & ~uint64_t(page - 1);
  void* hint = nullptr;
  int fixed = 0;
  if (flags.ui32.FixedAddress) {
    hint = *address;
    fixed = MAP_FIXED_NOREPLACE;
  }
  void* p = mmap(hint, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | fixed, -1, 0);
  if (p == MAP_FAILED) {
    SIM_LOG(kWarn, "hsaKmtAllocMemory(%llu bytes): mmap failed", (unsigned long long)size);
    return HSAKMT_STATUS_NO_MEMORY;
  }
  MemTable& m = *g_mem;
  std::unique_lock<std::shared_mutex> lock(m.mu);
  Range r;
  r.size = bytes;
  r.node = node;
  r.flags = flags;
  m.ranges[reinterpret_cast<uint64_t>(p)] = r;
  *address = p;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtFreeMemory(void* address, HSAuint64 size) {
  if (address == nullptr) return HSAKMT_STATUS_INVALID_PARAMETER;
  MemTable& m = *g_mem;
  uint64_t bytes = 0;
  {
    std::unique_lock<std::shared_mutex> lock(m.mu);
    auto it = m.ranges.find(reinterpret_cast<uint64_t>(address));
    if (it == m.ranges.end() || it->second.registered) {
      SIM_LOG(kWarn, "hsaKmtFreeMemory(%p): not an allocation of this process", address);
      return HSAKMT_STATUS_INVALID_PARAMETER;
    }
    bytes = it->second.size;
    m.ranges.erase(it);
  }
  munmap(address, bytes);
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtMapMemoryToGPU(void* address, HSAuint64 size, HSAuint64* gpu_va) {
  if (address == nullptr) return HSAKMT_STATUS_INVALID_PARAMETER;
  if (gpu_va != nullptr) *gpu_va = reinterpret_cast<uint64_t>(address);
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtMapMemoryToGPUNodes(void* address, HSAuint64 size, HSAuint64* gpu_va,
                                                   HsaMemMapFlags flags, HSAuint64 num_nodes,
                                                   HSAuint32* nodes) {
  return hsaKmtMapMemoryToGPU(address, size, gpu_va);
}

SIM_EXPORT HSAKMT_STATUS hsaKmtUnmapMemoryToGPU(void* address) {
  return address == nullptr ? HSAKMT_STATUS_INVALID_PARAMETER : HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtRegisterMemoryWithFlags(void* address, HSAuint64 size,
                                                       HsaMemFlags flags) {
  if (address == nullptr || size == 0) return HSAKMT_STATUS_INVALID_PARAMETER;
  MemTable& m = *g_mem;
  std::unique_lock<std::shared_mutex> lock(m.mu);
  uint64_t a = reinterpret_cast<uint64_t>(address);
  auto it = m.ranges.find(a);
  if (it != m.ranges.end() && !it->second.registered) return HSAKMT_STATUS_SUCCESS;  // ours
  Range r;
  r.size = size;
  r.node = kCpuNode;
  r.flags = flags;
  r.registered = true;
  m.ranges[a] = r;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtRegisterMemory(void* address, HSAuint64 size) {
  HsaMemFlags flags{};
  return hsaKmtRegisterMemoryWithFlags(address, size, flags);
}

SIM_EXPORT HSAKMT_STATUS hsaKmtDeregisterMemory(void* address) {
  if (address == nullptr) return HSAKMT_STATUS_INVALID_PARAMETER;
  MemTable& m = *g_mem;
  std::unique_lock<std::shared_mutex> lock(m.mu);
  auto it = m.ranges.find(reinterpret_cast<uint64_t>(address));
  if (it != m.ranges.end() && it->second.registered) m.ranges.erase(it);
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtQueryPointerInfo(const void* pointer, HsaPointerInfo* info) {
  if (info == nullptr) return HSAKMT_STATUS_INVALID_PARAMETER;
  memset(info, 0, sizeof(*info));
  MemTable& m = *g_mem;
  std::shared_lock<std::shared_mutex> lock(m.mu);
  auto it = Find(m, reinterpret_cast<uint64_t>(pointer));
  if (it == m.ranges.end()) {
    info->Type = HSA_POINTER_UNKNOWN;
    return HSAKMT_STATUS_SUCCESS;
  }
  const Range& r = it->second;
  info->Type = r.registered ? HSA_POINTER_REGISTERED_USER : HSA_POINTER_ALLOCATED;
  info->Node = r.node;
  info->MemFlags = r.flags;
  info->CPUAddress = reinterpret_cast<void*>(it->first);
  info->GPUAddress = it->first;
  info->SizeInBytes = r.size;
  info->NMappedNodes = 1;
  info->NRegisteredNodes = r.registered ? 1 : 0;
  info->MappedNodes = kMappedNodes;
  info->RegisteredNodes = r.registered ? kMappedNodes : nullptr;
  info->UserData = r.user_data;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtSetMemoryUserData(const void* pointer, void* user_data) {
  MemTable& m = *g_mem;
  std::unique_lock<std::shared_mutex> lock(m.mu);
  auto it = Find(m, reinterpret_cast<uint64_t>(pointer));
  if (it == m.ranges.end()) return HSAKMT_STATUS_INVALID_PARAMETER;
  it->second.user_data = user_data;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtShareMemory(void* address, HSAuint64 size,
                                           HsaSharedMemoryHandle* handle) {
  SIM_LOG(kWarn, "hsaKmtShareMemory: IPC memory sharing is not simulated");
  return HSAKMT_STATUS_NOT_SUPPORTED;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtRegisterSharedHandle(const HsaSharedMemoryHandle* handle,
                                                    void** address, HSAuint64* size) {
  SIM_LOG(kWarn, "hsaKmtRegisterSharedHandle: IPC memory sharing is not simulated");
  return HSAKMT_STATUS_NOT_SUPPORTED;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtRegisterSharedHandleToNodes(const HsaSharedMemoryHandle* handle,
                                                           void** address, HSAuint64* size,
                                                           HSAuint64 num_nodes, HSAuint32* nodes) {
  SIM_LOG(kWarn, "hsaKmtRegisterSharedHandleToNodes: IPC memory sharing is not simulated");
  return HSAKMT_STATUS_NOT_SUPPORTED;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtRegisterGraphicsHandleToNodes(HSAuint64 handle,
                                                             HsaGraphicsResourceInfo* info,
                                                             HSAuint64 num_nodes, HSAuint32* nodes) {
  SIM_LOG(kWarn, "hsaKmtRegisterGraphicsHandleToNodes: graphics interop is not simulated");
  return HSAKMT_STATUS_NOT_SUPPORTED;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtSVMSetAttr(void* start, HSAuint64 size, unsigned int nattr,
                                          HSA_SVM_ATTRIBUTE* attrs) {
  // All memory is host memory the CP can reach: placement and access hints have no effect.
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtSVMGetAttr(void* start, HSAuint64 size, unsigned int nattr,
                                          HSA_SVM_ATTRIBUTE* attrs) {
  if (attrs == nullptr && nattr > 0) return HSAKMT_STATUS_INVALID_PARAMETER;
  for (unsigned i = 0; i < nattr; ++i) {
    switch (attrs[i].type) {
      case HSA_SVM_ATTR_PREFERRED_LOC:
      case HSA_SVM_ATTR_PREFETCH_LOC:
        attrs[i].value = 0;  // system memory
        break;
      case HSA_SVM_ATTR_ACCESS:
      case HSA_SVM_ATTR_ACCESS_IN_PLACE:
        attrs[i].type = HSA_SVM_ATTR_ACCESS_IN_PLACE;
        break;
      default:
        attrs[i].value = 0;
        break;
    }
  }
  return HSAKMT_STATUS_SUCCESS;
}

}  // namespace simdev
