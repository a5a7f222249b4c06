#include "kfd_ctl/sysfs.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace hsapreempt::kfd {
namespace {

bool ParseU64(const std::string& text, uint64_t* out) {
  const char* s = text.c_str();
  while (*s == ' ' || *s == '\t') ++s;
  if (*s < '0' || *s > '9') return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0) return false;
  while (*end == ' ' || *end == '\n' || *end == '\t') ++end;
  if (*end != '\0') return false;
  *out = v;
  return true;
}

bool ReadU64File(const std::string& path, uint64_t* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ParseU64(text, out);
}

// Names of the entries of `dir` that are decimal numbers.
bool NumericEntries(const std::string& dir, std::vector<uint32_t>* out, int* err) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    *err = errno;
    return false;
  }
  while (dirent* e = readdir(d)) {
    uint64_t v;
    if (ParseU64(e->d_name, &v) && v <= UINT32_MAX) out->push_back(static_cast<uint32_t>(v));
  }
  closedir(d);
  std::sort(out->begin(), out->end());
  return true;
}

}  // namespace

bool ListSysfsQueues(const std::string& root, pid_t pid, std::vector<SysfsQueue>* out,
                     std::string* why) {
  out->clear();
  if (root.empty()) {
    if (why) *why = "no sysfs root";
    return false;
  }
  const std::string dir =
      root + "/class/kfd/kfd/proc/" + std::to_string(static_cast<long>(pid)) + "/queues";
  std::vector<uint32_t> ids;
  int err = 0;
  if (!NumericEntries(dir, &ids, &err)) {
    // KFD creates the process's directory with its first queue (the simulated device even the
    // tree above it): "does not exist" is an empty list. A later listing that finds the new
    // queue proves the tree is there; one that does not gets this reason.
    if (err == ENOENT) {
      if (why) *why = dir + " does not exist";
      return true;
    }
    if (why) *why = "cannot list " + dir + ": " + std::strerror(err);
    return false;
  }
  for (uint32_t id : ids) {
    SysfsQueue q;
    q.queue_id = id;
    const std::string qd = dir + "/" + std::to_string(id);
    uint64_t v = 0;
    if (ReadU64File(qd + "/size", &v)) q.size = v;
    if (ReadU64File(qd + "/type", &v)) q.type = static_cast<uint32_t>(v);
    if (ReadU64File(qd + "/gpuid", &v)) q.gpu_id = static_cast<uint32_t>(v);
    out->push_back(q);
  }
  return true;
}

std::vector<TopologyGpu> ReadTopologyGpus(const std::string& root) {
  std::vector<TopologyGpu> gpus;
  if (root.empty()) return gpus;
  const std::string nodes = root + "/class/kfd/kfd/topology/nodes";
  std::vector<uint32_t> ids;
  int err = 0;
  if (!NumericEntries(nodes, &ids, &err)) return gpus;
  for (uint32_t n : ids) {
    const std::string nd = nodes + "/" + std::to_string(n);
    std::ifstream in(nd + "/properties");
    if (!in) continue;
    uint64_t simd_count = 0, simd_per_cu = 0, gfx = 0, clk = 0;
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string key;
      uint64_t value = 0;
      if (!(ls >> key >> value)) continue;
      if (key == "simd_count") simd_count = value;
      else if (key == "simd_per_cu") simd_per_cu = value;
      else if (key == "gfx_target_version") gfx = value;
      else if (key == "max_engine_clk_fcompute") clk = value;
    }
    if (simd_count == 0) continue;  // a CPU node
    TopologyGpu g;
    g.node = n;
    uint64_t id = 0;
    if (ReadU64File(nd + "/gpu_id", &id)) g.gpu_id = static_cast<uint32_t>(id);
    g.gfx_target_version = static_cast<uint32_t>(gfx);
    g.cu_count = simd_per_cu ? static_cast<uint32_t>(simd_count / simd_per_cu) : 0;
    g.max_engine_clk_mhz = static_cast<uint32_t>(clk);
    gpus.push_back(g);
  }
  return gpus;
}

Scheduler SchedulerForGfxMajor(uint32_t gfx_major) {
  if (gfx_major == 0) return Scheduler::kUnknown;
  return (gfx_major == 11 || gfx_major == 12) ? Scheduler::kMes : Scheduler::kHws;
}

const char* SchedulerName(Scheduler s) {
  switch (s) {
    case Scheduler::kHws: return "HWS";
    case Scheduler::kMes: return "MES";
    case Scheduler::kUnknown: break;
  }
  return "unknown";
}

uint32_t GfxMajorFromTargetVersion(uint32_t v) { return v / 10000; }

uint32_t GfxMajorFromName(const std::string& name) {
  // "gfx" + major + two hex digits (minor, stepping): gfx90a -> 9, gfx942 -> 9, gfx1100 -> 11.
  if (name.compare(0, 3, "gfx") != 0) return 0;
  std::string digits = name.substr(3);
  size_t end = digits.find_first_of(":-");
  if (end != std::string::npos) digits.resize(end);
  if (digits.size() < 3 || digits.size() > 4) return 0;
  const std::string major = digits.substr(0, digits.size() - 2);
  for (char c : major) {
    if (c < '0' || c > '9') return 0;
  }
  return static_cast<uint32_t>(std::atoi(major.c_str()));
}

}  // namespace hsapreempt::kfd
