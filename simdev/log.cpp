#include "simdev/log.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace simdev {
namespace {

int ParseLevel() {
  const char* v = getenv("HSAPREEMPT_SIM_LOG");
  if (v == nullptr || *v == '\0') return static_cast<int>(LogLevel::kWarn);
  if (strcmp(v, "error") == 0) return static_cast<int>(LogLevel::kError);
  if (strcmp(v, "warn") == 0) return static_cast<int>(LogLevel::kWarn);
  if (strcmp(v, "info") == 0) return static_cast<int>(LogLevel::kInfo);
  if (strcmp(v, "debug") == 0) return static_cast<int>(LogLevel::kDebug);
  fprintf(stderr, "hsapreempt-sim: HSAPREEMPT_SIM_LOG=%s unknown (error|warn|info|debug), using warn\n",
          v);
  return static_cast<int>(LogLevel::kWarn);
}

int Level() {
  static const int level = ParseLevel();  // thread-safe static init
  return level;
}

const char* Name(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarn: return "warning";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "?";
}

}  // namespace

bool LogEnabled(LogLevel level) { return static_cast<int>(level) <= Level(); }

void Logf(LogLevel level, const char* fmt, ...) {
  char line[512];
  int n = snprintf(line, sizeof(line), "hsapreempt-sim: %s: ", Name(level));
  if (n < 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof(line) - n, fmt, ap);
  va_end(ap);
  // One write per line so lines from several threads never interleave.
  size_t len = strnlen(line, sizeof(line) - 2);
  line[len] = '\n';
  fwrite(line, 1, len + 1, stderr);
}

}  // namespace simdev
