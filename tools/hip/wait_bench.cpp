// hsapreempt-hip-wait-bench: how long HIP takes to report completion of one short kernel, per
// wait method — a diagnostic for the stalls seen over the simulated device (docs/hip.md, Known
// issues). Each iteration: launch one 1-workgroup spin kernel of --kernel-us, record an event,
// wait. Prints one line per method: P50/P99/max ms and how many waits took over 50 ms.
//
//   hsapreempt-hip-wait-bench [--iterations N] [--kernel-us U]
#include <hip/hip_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "hsapreempt/sim_kernel_abi.h"

__global__ void hsapreempt_spin(hsapreempt_kernel_args a) {
  const uint64_t ticks = (a.workgroup_ns + 9) / 10;
  const uint64_t start = __builtin_amdgcn_s_memrealtime();
  while (__builtin_amdgcn_s_memrealtime() - start < ticks) __builtin_amdgcn_s_sleep(1);
}

int main(int argc, char** argv) {
  int iterations = 300;
  double kernel_us = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--iterations")) iterations = std::max(10, atoi(argv[i + 1]));
    else if (!strcmp(argv[i], "--kernel-us")) kernel_us = std::max(0.0, atof(argv[i + 1]));
    else { fprintf(stderr, "usage: %s [--iterations N] [--kernel-us U]\n", argv[0]); return 2; }
  }
  hipStream_t s;
  hipEvent_t e;
  if (hipStreamCreate(&s) != hipSuccess ||
      hipEventCreateWithFlags(&e, hipEventDisableTiming) != hipSuccess) {
    fprintf(stderr, "hsapreempt-hip-wait-bench: no HIP device\n");
    return 1;
  }
  const char* names[] = {"hipEventSynchronize", "hipStreamSynchronize", "hipEventQuery-poll"};
  printf("kernel %.0f us, %d iterations per method\n", kernel_us, iterations);
  for (int mode = 0; mode < 3; ++mode) {
    std::vector<double> t;
    for (int i = 0; i < iterations; ++i) {
      hsapreempt_kernel_args a{};
      a.magic = HSAPREEMPT_KERNEL_MAGIC;
      a.workgroup_ns = static_cast<uint64_t>(kernel_us * 1000);
      auto t0 = std::chrono::steady_clock::now();
      hipLaunchKernelGGL(hsapreempt_spin, dim3(1), dim3(64), 0, s, a);
      hipError_t r = hipEventRecord(e, s);
      if (r == hipSuccess) {
        if (mode == 0) r = hipEventSynchronize(e);
        else if (mode == 1) r = hipStreamSynchronize(s);
        else while ((r = hipEventQuery(e)) == hipErrorNotReady) {}
      }
      if (r != hipSuccess) {
        fprintf(stderr, "hsapreempt-hip-wait-bench: %s\n", hipGetErrorString(r));
        return 1;
      }
      t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                      .count());
    }
    std::sort(t.begin(), t.end());
    auto pct = [&](double p) { return t[std::min(t.size() - 1, size_t(p / 100 * t.size()))]; };
    printf("%-22s p50 %8.3f ms  p99 %8.3f ms  max %8.3f ms  over-50ms %ld\n", names[mode], pct(50),
           pct(99), t.back(), static_cast<long>(std::count_if(t.begin(), t.end(),
                                                              [](double x) { return x > 50; })));
  }
  (void)hipEventDestroy(e);
  (void)hipStreamDestroy(s);
  return 0;
}
