// Logging for a library that lives inside other people's processes: silent by default (warnings
// and errors only), one line per message, prefixed "hsapreempt[<pid>]: ", to stderr or
// HSAPREEMPT_LOG_FILE. Per-packet messages belong at kTrace only. Thread-safe and fork-safe
// (no lock: one write(2) per line), preserves errno, async-signal unsafe (vsnprintf), and never
// allocates when the level is disabled.
#ifndef COMMON_LOG_H_
#define COMMON_LOG_H_

#include <atomic>

namespace hsapreempt::common {

enum class LogLevel : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3, kTrace = 4 };

// Current level (set once from the Config at load; tests may change it).
LogLevel GetLogLevel();
void SetLogLevel(LogLevel level);
// Redirects output to a file (appending); nullptr/empty: stderr. Returns false if it cannot open.
bool SetLogFile(const char* path);
// Parses "error|warn|info|debug|trace" (case-insensitive); false if unknown.
bool ParseLogLevel(const char* text, LogLevel* level);

void LogLine(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

namespace internal {
extern std::atomic<int> g_log_level;
}

}  // namespace hsapreempt::common

#define HP_LOG_ENABLED(level)                                              \
  (static_cast<int>(::hsapreempt::common::LogLevel::level) <=             \
   ::hsapreempt::common::internal::g_log_level.load(std::memory_order_relaxed))

#define HP_LOG(level, ...)                                                       \
  do {                                                                           \
    if (HP_LOG_ENABLED(level))                                                   \
      ::hsapreempt::common::LogLine(::hsapreempt::common::LogLevel::level, __VA_ARGS__); \
  } while (0)

// Logs at most once per call site for the life of the process (fallbacks, "said once").
#define HP_LOG_ONCE(level, ...)                                        \
  do {                                                                 \
    static std::atomic<bool> hp_logged_once_{false};                   \
    if (!hp_logged_once_.exchange(true, std::memory_order_relaxed))    \
      HP_LOG(level, __VA_ARGS__);                                      \
  } while (0)

#endif  // COMMON_LOG_H_
