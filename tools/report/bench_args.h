// Flag parsing shared by the evaluation benchmarks: comma-separated number lists and level lists,
// strict (a bad element rejects the whole flag, with the element named).
#ifndef TOOLS_REPORT_BENCH_ARGS_H_
#define TOOLS_REPORT_BENCH_ARGS_H_

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "tools/report/workload_child.h"

namespace hsapreempt::tools::report {

// "a,b,c" with each element a finite number in [lo, hi]. False (and *bad = the element) otherwise.
inline bool ParseNumberList(const std::string& text, double lo, double hi, std::vector<double>* out,
                            std::string* bad) {
  std::vector<double> values;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                     : comma - start);
    errno = 0;
    char* end = nullptr;
    double v = std::strtod(item.c_str(), &end);
    if (item.empty() || errno != 0 || *end != '\0' || !std::isfinite(v) || v < lo || v > hi) {
      *bad = item;
      return false;
    }
    values.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  *out = values;
  return true;
}

// "none,1,2,cumask" (any subset, any order; duplicates kept once).
inline bool ParseLevelList(const std::string& text, std::vector<Level>* out, std::string* bad) {
  std::vector<Level> levels;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                     : comma - start);
    Level level;
    if (!ParseLevelName(item, &level)) {
      *bad = item;
      return false;
    }
    bool dup = false;
    for (Level l : levels) dup |= (l == level);
    if (!dup) levels.push_back(level);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  *out = levels;
  return true;
}

}  // namespace hsapreempt::tools::report

#endif  // TOOLS_REPORT_BENCH_ARGS_H_
