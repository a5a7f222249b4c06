// Clocks. Host-side latency measurements and the simulated device both use CLOCK_MONOTONIC_RAW
// in ns (the clock ROCr's hsa_system_get_info(HSA_SYSTEM_INFO_TIMESTAMP) reads on Linux).
#ifndef COMMON_CLOCK_H_
#define COMMON_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace hsapreempt::common {

inline uint64_t MonotonicRawNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace hsapreempt::common

#endif  // COMMON_CLOCK_H_
