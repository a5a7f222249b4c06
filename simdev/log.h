// One-line diagnostics of the simulated thunk, on stderr, prefixed "hsapreempt-sim:".
// Level from HSAPREEMPT_SIM_LOG = error|warn|info|debug (default warn), read once.
// Thread-safe; never allocates on the hot path when the level is disabled.
#ifndef SIMDEV_LOG_H_
#define SIMDEV_LOG_H_

namespace simdev {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

bool LogEnabled(LogLevel level);
void Logf(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace simdev

#define SIM_LOG(level, ...)                                               \
  do {                                                                    \
    if (::simdev::LogEnabled(::simdev::LogLevel::level)) {                \
      ::simdev::Logf(::simdev::LogLevel::level, __VA_ARGS__);             \
    }                                                                     \
  } while (0)

#endif  // SIMDEV_LOG_H_
