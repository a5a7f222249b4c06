// Shared pieces of the scheduler's CLI commands (run, top, set, policy, bench sched): strict
// number parsing, the board name default, and labels. Header-only; owned by the sched area.
#ifndef TOOLS_SCHED_CLI_H_
#define TOOLS_SCHED_CLI_H_

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/config.h"
#include "levels/lever.h"

namespace hsapreempt::tools {

// Parses a whole decimal integer in [lo, hi]; false (and *out untouched) otherwise.
inline bool ParseIntIn(const std::string& text, long long lo, long long hi, long long* out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// "--name value" or "--name=value" at args[*i]; advances *i past the value. False if args[*i] is
// not this flag. A missing value yields an empty string (callers report it as a bad value).
inline bool TakeFlag(const std::vector<std::string>& args, size_t* i, const std::string& name,
                     std::string* value) {
  const std::string& a = args[*i];
  if (a == name) {
    *value = *i + 1 < args.size() ? args[++*i] : std::string();
    return true;
  }
  if (a.compare(0, name.size() + 1, name + "=") == 0) {
    *value = a.substr(name.size() + 1);
    return true;
  }
  return false;
}

// The board name when --board is not given: HSAPREEMPT_BOARD, else the default ("gpu").
inline std::string DefaultBoardName() { return common::Config::FromEnvironment().board; }

// Short label of a queue's lever for tables.
inline const char* LeverLabel(uint32_t kind) {
  switch (static_cast<levels::LeverKind>(kind)) {
    case levels::LeverKind::kNone: return "L1";
    case levels::LeverKind::kUpdateQueue: return "L2-update";
    case levels::LeverKind::kDbgSuspend: return "L2-suspend";
    case levels::LeverKind::kCuMask: return "cumask";
  }
  return "?";
}

inline const char* PolicyLabel(uint32_t raw) {
  return raw <= 2 ? common::PolicyName(static_cast<common::PolicyChoice>(raw)) : "?";
}

}  // namespace hsapreempt::tools

#endif  // TOOLS_SCHED_CLI_H_
