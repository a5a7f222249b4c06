// Simulated per-process sysfs queue directory (sysfs.h).
#include "simdev/model/sysfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace simdev {
namespace {

std::atomic<bool> g_warned{false};

void WarnOnce(const std::string& path, int err) {
  if (!g_warned.exchange(true)) {
    fprintf(stderr, "hsapreempt-sim: cannot maintain simulated sysfs at %s: %s\n", path.c_str(),
            strerror(err));
  }
}

// mkdir -p, tolerating concurrent creators.
bool MakeDirs(const std::string& path) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
      WarnOnce(cur, errno);
      return false;
    }
  }
  return true;
}

bool WriteFile(const std::string& path, const char* text) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    WarnOnce(path, errno);
    return false;
  }
  size_t n = strlen(text);
  bool ok = write(fd, text, n) == static_cast<ssize_t>(n);
  close(fd);
  return ok;
}

void RemoveTree(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (d != nullptr) {
    while (struct dirent* e = readdir(d)) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      std::string child = path + "/" + e->d_name;
      struct stat st;
      if (lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        RemoveTree(child);
      } else {
        unlink(child.c_str());
      }
    }
    closedir(d);
  }
  rmdir(path.c_str());
}

}  // namespace

std::string SysfsProcessDir(const Params& params, uint32_t pid) {
  return params.SysfsRoot() + "/class/kfd/kfd/proc/" + std::to_string(pid);
}

bool SysfsAddQueue(const Params& params, uint32_t pid, uint32_t queue_id, uint64_t ring_bytes,
                   uint32_t type) {
  if (params.SysfsMissing()) return false;
  std::string dir = SysfsProcessDir(params, pid) + "/queues/" + std::to_string(queue_id);
  if (!MakeDirs(dir)) return false;
  char buf[32];
  snprintf(buf, sizeof(buf), "%" PRIu64, ring_bytes);
  bool ok = WriteFile(dir + "/size", buf);
  snprintf(buf, sizeof(buf), "%d", static_cast<int>(type));
  ok = WriteFile(dir + "/type", buf) && ok;
  snprintf(buf, sizeof(buf), "%u", params.gpu_id);
  ok = WriteFile(dir + "/gpuid", buf) && ok;
  return ok;
}

void SysfsRemoveQueue(const Params& params, uint32_t pid, uint32_t queue_id) {
  if (params.SysfsMissing()) return;
  RemoveTree(SysfsProcessDir(params, pid) + "/queues/" + std::to_string(queue_id));
}

void SysfsRemoveProcess(const Params& params, uint32_t pid) {
  if (params.SysfsMissing()) return;
  RemoveTree(SysfsProcessDir(params, pid));
}

}  // namespace simdev
