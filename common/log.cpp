#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <strings.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace hsapreempt::common {
namespace internal {
std::atomic<int> g_log_level{static_cast<int>(LogLevel::kWarn)};
}

namespace {
// No lock: a line is written with one write(2) on an O_APPEND descriptor, so concurrent lines
// do not interleave, and a fork() while another thread logs leaves the child nothing held (a
// mutex taken by one of our threads at fork time would block the child's first message
// forever). -1 means stderr. A file set while another thread logs may see its line go to the
// previous destination; the previous descriptor is kept open for that reason.
std::atomic<int> g_log_fd{-1};
const char* kNames[] = {"error", "warn", "info", "debug", "trace"};
}  // namespace

LogLevel GetLogLevel() {
  return static_cast<LogLevel>(internal::g_log_level.load(std::memory_order_relaxed));
}

void SetLogLevel(LogLevel level) {
  internal::g_log_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool SetLogFile(const char* path) {
  int fd = -1;
  if (path != nullptr && *path != '\0') {
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      g_log_fd.store(-1, std::memory_order_release);
      return false;
    }
  }
  // The descriptor replaced is left open: a line being written to it elsewhere must not land in
  // whatever file reuses its number. SetLogFile is a configuration call, made once or twice.
  g_log_fd.store(fd, std::memory_order_release);
  return true;
}

bool ParseLogLevel(const char* text, LogLevel* level) {
  if (!text) return false;
  for (int i = 0; i < 5; ++i) {
    if (strcasecmp(text, kNames[i]) == 0) {
      *level = static_cast<LogLevel>(i);
      return true;
    }
  }
  return false;
}

void LogLine(LogLevel level, const char* fmt, ...) {
  const int saved_errno = errno;  // callers log a failure, then report errno
  char line[1024];
  int n = snprintf(line, sizeof(line), "hsapreempt[%d]: %s: ", static_cast<int>(getpid()),
                   kNames[static_cast<int>(level)]);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && n < static_cast<int>(sizeof(line))) vsnprintf(line + n, sizeof(line) - n, fmt, ap);
  va_end(ap);
  size_t len = strnlen(line, sizeof(line) - 1);
  line[len++] = '\n';  // truncated lines still end with one
  const int fd = g_log_fd.load(std::memory_order_acquire);
  const int out = fd >= 0 ? fd : STDERR_FILENO;
  const char* p = line;
  while (len > 0) {
    ssize_t w = write(out, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;  // nowhere to say it: logging never fails the caller
    p += w;
    len -= static_cast<size_t>(w);
  }
  errno = saved_errno;
}

}  // namespace hsapreempt::common
