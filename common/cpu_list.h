// CPU lists in the kernel's notation ("0", "2-3", "0,2-3"), for thread placement: the simulated
// device's CP threads (HSAPREEMPT_SIM_CP_CPUS) and the benchmarks' --device-cpus.
//
// Header-only on purpose: the simulated thunk (a drop-in libhsakmt.so.1) uses it without linking
// anything of the tool.
#ifndef COMMON_CPU_LIST_H_
#define COMMON_CPU_LIST_H_

#include <sched.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace hsapreempt::common {

// Parses `text` into *out (cleared first). Strict: every element is N or N-M with N <= M < the
// size of cpu_set_t; an empty list, an empty element or anything else is refused with *error
// naming it (out is then unspecified).
inline bool ParseCpuList(const std::string& text, cpu_set_t* out, std::string* error) {
  CPU_ZERO(out);
  if (text.empty()) {
    *error = "empty CPU list";
    return false;
  }
  auto number = [](const std::string& s, long* v) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return false;
    errno = 0;
    *v = std::strtol(s.c_str(), nullptr, 10);
    return errno == 0 && *v < CPU_SETSIZE;
  };
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t dash = item.find('-');
    long lo = 0, hi = 0;
    bool ok;
    if (dash == std::string::npos) {
      ok = number(item, &lo);
      hi = lo;
    } else {
      ok = number(item.substr(0, dash), &lo) && number(item.substr(dash + 1), &hi) && lo <= hi;
    }
    if (!ok) {
      *error = "bad CPU list element '" + item + "' (expected N or N-M, below " +
               std::to_string(CPU_SETSIZE) + ")";
      return false;
    }
    for (long c = lo; c <= hi; ++c) CPU_SET(static_cast<int>(c), out);
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

// The kernel's notation for `set` (ranges collapsed), "" for an empty set.
inline std::string FormatCpuList(const cpu_set_t& set) {
  std::string s;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    int end = c;
    while (end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, &set)) ++end;
    if (!s.empty()) s += ',';
    s += std::to_string(c);
    if (end > c) s += '-' + std::to_string(end);
    c = end;
  }
  return s;
}

}  // namespace hsapreempt::common

#endif  // COMMON_CPU_LIST_H_
