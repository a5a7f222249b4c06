// Reading KFD's sysfs: the per-process queue directory and the topology nodes. Paths are under a
// root ("/sys", or the simulated device's tree), so tests can build a fake tree in a temp dir.
//
//   <root>/class/kfd/kfd/proc/<pid>/queues/<queue_id>/{size,type,gpuid}
//   <root>/class/kfd/kfd/topology/nodes/<n>/{gpu_id,properties}
//
// No locks, no caching: every call reads the files. Missing files are not errors of ours: the
// caller gets an empty/false result with a reason.
#ifndef KFD_CTL_SYSFS_H_
#define KFD_CTL_SYSFS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hsapreempt::kfd {

struct SysfsQueue {
  uint32_t queue_id = 0;
  uint64_t size = 0;   // ring size in bytes (0: unreadable)
  uint32_t type = 0;
  uint32_t gpu_id = 0;
};

// Queues of process `pid`, sorted by id. A directory that does not exist (yet) is an empty list,
// with *why saying so; false (and *why) when it exists but cannot be listed.
bool ListSysfsQueues(const std::string& root, pid_t pid, std::vector<SysfsQueue>* out,
                     std::string* why);

// One GPU node of the topology.
struct TopologyGpu {
  uint32_t node = 0;
  uint32_t gpu_id = 0;
  uint32_t gfx_target_version = 0;  // e.g. 90010 (gfx90a), 90402 (gfx942), 110000 (gfx1100)
  uint32_t cu_count = 0;            // simd_count / simd_per_cu
  uint32_t max_engine_clk_mhz = 0;  // max_engine_clk_fcompute
};

// GPU nodes (simd_count > 0). Empty when the topology is not readable.
std::vector<TopologyGpu> ReadTopologyGpus(const std::string& root);

// Which firmware schedules compute queues: the kernel enables MES only for GC 11.x and 12.x; every
// other GPU with KFD (MI300 included) uses the CP hardware scheduler (HWS).
enum class Scheduler { kUnknown, kHws, kMes };
Scheduler SchedulerForGfxMajor(uint32_t gfx_major);
const char* SchedulerName(Scheduler s);
// GC major version from a gfx_target_version (90402 -> 9) or an ISA name ("gfx90a" -> 9,
// "gfx1100" -> 11); 0 if not recognised.
uint32_t GfxMajorFromTargetVersion(uint32_t gfx_target_version);
uint32_t GfxMajorFromName(const std::string& gfx_name);

}  // namespace hsapreempt::kfd

#endif  // KFD_CTL_SYSFS_H_
