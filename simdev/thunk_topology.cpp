// Thunk API: version, topology (CPU node 0 + GPU node 1), clocks, tile config, XNACK.
// The GPU reports as gfx90a (EngineId 9.0.10, the newest ISA ROCr 5.2.3 knows) with the
// MI300-class shape from simdev::Params (CU count, SIMDs, waves, clocks, VRAM).
#include <sys/sysinfo.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include "simdev/log.h"
#include "simdev/model/device.h"
#include "simdev/thunk_internal.h"

namespace simdev {
namespace {

// Apertures as KFD reports them on gfx9 (any nonzero, non-overlapping values satisfy ROCr).
constexpr uint64_t kLdsAperture = 0x1000000000000ull;
constexpr uint64_t kScratchAperture = 0x2000000000000ull;

const Params& P() {
  static const Params* params = [] {
    Device* d = GetDevice();
    return d != nullptr ? &d->params() : new Params(Params::FromEnvironment());
  }();
  return *params;
}

void SetName(HSAuint16* dst, const char* src) {
  size_t i = 0;
  for (; src[i] != '\0' && i + 1 < HSA_PUBLIC_NAME_SIZE; ++i) dst[i] = static_cast<HSAuint16>(src[i]);
  dst[i] = 0;
}

uint32_t CpuCores() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<uint32_t>(n) : 1;
}

// CPU caches reported on node 0 (L1D, L2, L3); GPU caches on node 1 (L1 per CU, L2, MALL).
constexpr uint32_t kCpuCaches = 3;
constexpr uint32_t kGpuCaches = 3;

}  // namespace

SIM_EXPORT HSAKMT_STATUS hsaKmtGetVersion(HsaVersionInfo* v) {
  if (v == nullptr) return HSAKMT_STATUS_INVALID_PARAMETER;
  v->KernelInterfaceMajorVersion = 1;
  v->KernelInterfaceMinorVersion = 8;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtAcquireSystemProperties(HsaSystemProperties* props) {
  if (props == nullptr) return HSAKMT_STATUS_INVALID_PARAMETER;
  if (!KfdOpen()) return HSAKMT_STATUS_KERNEL_IO_CHANNEL_NOT_OPENED;
  memset(props, 0, sizeof(*props));
  props->NumNodes = kNumNodes;
  props->PlatformOem = 0x414d44;  // "AMD"
  props->PlatformId = 0x534d;
  props->PlatformRev = 1;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtReleaseSystemProperties(void) { return HSAKMT_STATUS_SUCCESS; }

SIM_EXPORT HSAKMT_STATUS hsaKmtGetNodeProperties(HSAuint32 node, HsaNodeProperties* p) {
  if (p == nullptr) return HSAKMT_STATUS_INVALID_PARAMETER;
  if (node >= kNumNodes) return HSAKMT_STATUS_INVALID_NODE_UNIT;
  memset(p, 0, sizeof(*p));
  if (node == kCpuNode) {
    p->NumCPUCores = CpuCores();
    p->NumMemoryBanks = 1;
    p->NumCaches = kCpuCaches;
    p->NumIOLinks = 1;
    p->CComputeIdLo = 0;
    p->MaxEngineClockMhzCCompute = 3000;
    SetName(p->MarketingName, "Simulated host CPU");
    return HSAKMT_STATUS_SUCCESS;
  }
  const Params& prm = P();
  p->NumFComputeCores = prm.cus * prm.simds_per_cu;
  p->NumMemoryBanks = 3;  // FB_PUBLIC, GPU_LDS, GPU_SCRATCH
  p->NumCaches = kGpuCaches;
  p->NumIOLinks = 1;
  p->FComputeIdLo = 0x80000000u;
  p->Capability.ui32.DoorbellType = 2;  // 64-bit AQL doorbells
  p->Capability.ui32.QueueSizePowerOfTwo = 1;
  p->Capability.ui32.QueueSize32bit = 1;
  p->MaxWavesPerSIMD = prm.max_waves_per_simd;
  p->LDSSizeInKB = 64;
  p->WaveFrontSize = 64;
  uint32_t engines = prm.xcc > 0 ? prm.xcc : 1;
  p->NumShaderBanks = engines;
  p->NumArrays = 1;
  p->NumCUPerArray = (prm.cus + engines - 1) / engines;
  p->NumSIMDPerCU = prm.simds_per_cu;
  p->MaxSlotsScratchCU = 32;
  p->EngineId.ui32.Major = 9;
  p->EngineId.ui32.Minor = 0;
  p->EngineId.ui32.Stepping = 10;
  p->EngineId.ui32.uCode = 78;
  p->VendorId = 0x1002;
  p->DeviceId = 0x74a1;  // MI300X
  p->LocationId = 0x0300;
  p->LocalMemSize = prm.vram_bytes;
  p->MaxEngineClockMhzFCompute = prm.engine_clock_mhz;
  p->MaxEngineClockMhzCCompute = 3000;
  p->DrmRenderMinor = 128;
  SetName(p->MarketingName, "AMD Instinct MI300X (simulated)");
  memcpy(p->AMDName, "GFX90A", 7);
  p->uCodeEngineVersions.uCodeSDMA = 1;
  p->NumSdmaEngines = 0;
  p->NumSdmaXgmiEngines = 0;
  p->NumCpQueues = 32;
  p->NumGws = 0;
  p->UniqueID = 0x5349'4d44'4556'0001ull;  // "SIMDEV" 1
  p->VGPRSizePerCU = 512 * 1024;
  p->SGPRSizePerCU = 0x4000;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtGetNodeMemoryProperties(HSAuint32 node, HSAuint32 num,
                                                       HsaMemoryProperties* m) {
  if (m == nullptr && num > 0) return HSAKMT_STATUS_INVALID_PARAMETER;
  if (node >= kNumNodes) return HSAKMT_STATUS_INVALID_NODE_UNIT;
  memset(m, 0, sizeof(*m) * num);
  if (node == kCpuNode) {
    if (num >= 1) {
      struct sysinfo si;
      uint64_t ram = sysinfo(&si) == 0 ? uint64_t(si.totalram) * si.mem_unit : (16ull << 30);
      m[0].HeapType = HSA_HEAPTYPE_SYSTEM;
      m[0].SizeInBytes = ram;
      m[0].Width = 64;
      m[0].MemoryClockMax = 3200;
    }
    return HSAKMT_STATUS_SUCCESS;
  }
  const Params& prm = P();
  if (num >= 1) {
    m[0].HeapType = HSA_HEAPTYPE_FRAME_BUFFER_PUBLIC;
    m[0].SizeInBytes = prm.vram_bytes;
    m[0].Width = 8192;
    m[0].MemoryClockMax = prm.memory_clock_mhz;
  }
  if (num >= 2) {
    m[1].HeapType = HSA_HEAPTYPE_GPU_LDS;
    m[1].SizeInBytes = 64 * 1024;
    m[1].VirtualBaseAddress = kLdsAperture;
  }
  if (num >= 3) {
    m[2].HeapType = HSA_HEAPTYPE_GPU_SCRATCH;
    m[2].SizeInBytes = 4ull << 30;
    m[2].VirtualBaseAddress = kScratchAperture;
  }
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtGetNodeCacheProperties(HSAuint32 node, HSAuint32 processor_id,
                                                      HSAuint32 num, HsaCacheProperties* c) {
  if (c == nullptr && num > 0) return HSAKMT_STATUS_INVALID_PARAMETER;
  if (node >= kNumNodes) return HSAKMT_STATUS_INVALID_NODE_UNIT;
  memset(c, 0, sizeof(*c) * num);
  struct Spec { uint32_t level, kb, line; bool cpu; };
  // MI300X: 16 KiB L1 per CU, 4 MiB L2 per XCD, 256 MiB Infinity Cache (reported as level 3).
  static const Spec kGpu[kGpuCaches] = {{1, 16, 128, false}, {2, 4096, 128, false},
                                        {3, 262144, 64, false}};
  static const Spec kCpu[kCpuCaches] = {{1, 32, 64, true}, {2, 1024, 64, true},
                                        {3, 32768, 64, true}};
  const Spec* spec = node == kCpuNode ? kCpu : kGpu;
  uint32_t count = node == kCpuNode ? kCpuCaches : kGpuCaches;
  for (uint32_t i = 0; i < num && i < count; ++i) {
    c[i].ProcessorIdLow = processor_id;
    c[i].CacheLevel = spec[i].level;
    c[i].CacheSize = spec[i].kb;
    c[i].CacheLineSize = spec[i].line;
    c[i].CacheLinesPerTag = 1;
    c[i].CacheAssociativity = 16;
    c[i].CacheType.ui32.Data = 1;
    if (spec[i].cpu) {
      c[i].CacheType.ui32.CPU = 1;
    } else {
      c[i].CacheType.ui32.HSACU = 1;
    }
  }
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtGetNodeIoLinkProperties(HSAuint32 node, HSAuint32 num,
                                                       HsaIoLinkProperties* l) {
  if (l == nullptr && num > 0) return HSAKMT_STATUS_INVALID_PARAMETER;
  if (node >= kNumNodes) return HSAKMT_STATUS_INVALID_NODE_UNIT;
  memset(l, 0, sizeof(*l) * num);
  if (num >= 1) {
    l[0].IoLinkType = HSA_IOLINKTYPE_PCIEXPRESS;
    l[0].VersionMajor = 5;
    l[0].NodeFrom = node;
    l[0].NodeTo = node == kCpuNode ? kGpuNode : kCpuNode;
    l[0].Weight = 20;
    l[0].MinimumLatency = 1;
    l[0].MaximumLatency = 10;
    l[0].MinimumBandwidth = 64000;
    l[0].MaximumBandwidth = 64000;
  }
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtGetTileConfig(HSAuint32 node, HsaGpuTileConfig* config) {
  if (config == nullptr) return HSAKMT_STATUS_INVALID_PARAMETER;
  if (node != kGpuNode) return HSAKMT_STATUS_INVALID_NODE_UNIT;
  // No tiling tables (gfx9 has none); GB_ADDR_CONFIG is the gfx9 golden value (4 pipes, 256 B
  // pipe interleave, 16 banks, 4 SEs): ROCr's image addrlib asserts on the interleave when HIP
  // initialises it.
  config->NumTileConfigs = 0;
  config->NumMacroTileConfigs = 0;
  config->GbAddrConfig = 0x2a114042;
  config->NumBanks = 16;
  config->NumRanks = 1;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtGetClockCounters(HSAuint32 node, HsaClockCounters* c) {
  if (c == nullptr) return HSAKMT_STATUS_INVALID_PARAMETER;
  if (node >= kNumNodes) return HSAKMT_STATUS_INVALID_NODE_UNIT;
  // One clock for everything (device time): GPU, CPU and system counters at 1 GHz.
  uint64_t now = NowNs();
  c->GPUClockCounter = now;
  c->CPUClockCounter = now;
  c->SystemClockCounter = now;
  c->SystemClockFrequencyHz = 1000000000ull;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtGetXNACKMode(HSAint32* enable) {
  if (enable == nullptr) return HSAKMT_STATUS_INVALID_PARAMETER;
  *enable = 0;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtSetXNACKMode(HSAint32 enable) {
  if (enable != 0) {
    SIM_LOG(kInfo, "hsaKmtSetXNACKMode(%d): XNACK is not modelled, staying off", enable);
    return HSAKMT_STATUS_NOT_SUPPORTED;
  }
  return HSAKMT_STATUS_SUCCESS;
}

}  // namespace simdev
