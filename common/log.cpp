#include "common/log.h"

#include <strings.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace hsapreempt::common {
namespace internal {
std::atomic<int> g_log_level{static_cast<int>(LogLevel::kWarn)};
}

namespace {
std::mutex& LogMutex() {
  static auto* mu = new std::mutex();  // never destroyed: logging may happen during exit
  return *mu;
}
FILE* g_log_file = nullptr;  // guarded by LogMutex(); nullptr means stderr
const char* kNames[] = {"error", "warn", "info", "debug", "trace"};
}  // namespace

LogLevel GetLogLevel() {
  return static_cast<LogLevel>(internal::g_log_level.load(std::memory_order_relaxed));
}

void SetLogLevel(LogLevel level) {
  internal::g_log_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool SetLogFile(const char* path) {
  std::lock_guard<std::mutex> lock(LogMutex());
  if (g_log_file) fclose(g_log_file);
  g_log_file = nullptr;
  if (!path || !*path) return true;
  g_log_file = fopen(path, "ae");
  return g_log_file != nullptr;
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
  char line[1024];
  int n = snprintf(line, sizeof(line), "hsapreempt[%d]: %s: ", static_cast<int>(getpid()),
                   kNames[static_cast<int>(level)]);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && n < static_cast<int>(sizeof(line))) vsnprintf(line + n, sizeof(line) - n, fmt, ap);
  va_end(ap);
  std::lock_guard<std::mutex> lock(LogMutex());
  FILE* out = g_log_file ? g_log_file : stderr;
  fprintf(out, "%s\n", line);
  fflush(out);
}

}  // namespace hsapreempt::common
