// Micro-benchmark (not a test): cost of one empty-kernel Launch + Poll on the shared device, alone
// and with two threads on two queues contending for the device lock. Prints figures.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "simdev/model/device.h"

using simdev::Device;
using simdev::DispatchTimes;
using simdev::KernelWork;
using simdev::NowNs;

namespace {

uint64_t ThreadCpuNs() {
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return (static_cast<uint64_t>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ull +
          static_cast<uint64_t>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec)) * 1000ull;
}

// Empty dispatches back to back on one queue; returns wall ns per Launch+Poll pair (and the
// thread's CPU ns per pair in *cpu, which a loaded machine disturbs less).
double Run(Device* d, int q, int n, double* cpu = nullptr) {
  KernelWork w;  // 1 workgroup, 0 ns
  uint64_t c0 = ThreadCpuNs();
  uint64_t t0 = NowNs();
  for (int i = 0; i < n; ++i) {
    w.packet_index = static_cast<uint64_t>(i);
    uint64_t h = d->Launch(q, w, NowNs());
    DispatchTimes t;
    while (!d->Poll(h, NowNs(), &t)) {
    }
  }
  double wall = static_cast<double>(NowNs() - t0) / n;
  if (cpu != nullptr) *cpu = static_cast<double>(ThreadCpuNs() - c0) / n;
  return wall;
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000000;
  std::string name = "bench-" + std::to_string(getpid());
  Device::RemoveSegmentForTest(name);
  simdev::Params params;  // MI300X preset
  Device* d = Device::CreateForTest(params, name);
  if (d == nullptr) return 1;
  uint32_t pid = static_cast<uint32_t>(getpid());
  int q1 = d->AddQueue(pid, 1, 0, 4096, 0, NowNs());
  int q2 = d->AddQueue(pid, 2, 0, 4096, 0, NowNs());
  usleep(1000);  // let the queue-creation runlist updates pass
  Run(d, q1, n / 10);  // warm up
  double cpu = 0;
  double one = Run(d, q1, n, &cpu);
  printf("%s\n", d->params().Describe().c_str());
  printf("launch+poll, 1 thread, empty kernel: %.1f ns/dispatch wall, %.1f ns CPU (%.0f "
         "dispatches/s)\n",
         one, cpu, 1e9 / one);
  double per[2] = {0, 0};
  std::thread a([&] { per[0] = Run(d, q1, n / 2); });
  std::thread b([&] { per[1] = Run(d, q2, n / 2); });
  a.join();
  b.join();
  printf("launch+poll, 2 threads x 2 queues: %.1f / %.1f ns/dispatch per thread (%.0f dispatches/s "
         "total)\n",
         per[0], per[1], 1e9 / per[0] + 1e9 / per[1]);
  Device::RemoveSegmentForTest(name);
  delete d;
  return 0;
}
