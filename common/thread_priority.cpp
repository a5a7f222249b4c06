#include "common/thread_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hsapreempt::common {

NiceResult RaiseThisThreadPriority(int want) {
  NiceResult r;
  const id_t tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int have = getpriority(PRIO_PROCESS, tid);
  if (errno != 0) {
    r.error = std::string("getpriority: ") + std::strerror(errno);
    return r;
  }
  r.inherited = r.now = have;
  if (want == 0 || want >= have) return r;
  r.asked = true;
  if (setpriority(PRIO_PROCESS, tid, want) == 0) {
    r.now = want;
  } else {
    r.error = std::strerror(errno);
  }
  return r;
}

}  // namespace hsapreempt::common
