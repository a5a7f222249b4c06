// Micro-benchmark (not a test): cost of one empty-kernel Launch + Poll on the shared device, alone
// and with two threads on two queues contending for the device lock. Prints figures.
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

// Empty dispatches back to back on one queue; returns ns per Launch+Poll pair.
double Run(Device* d, int q, int n) {
  KernelWork w;  // 1 workgroup, 0 ns
  uint64_t t0 = NowNs();
  for (int i = 0; i < n; ++i) {
    w.packet_index = static_cast<uint64_t>(i);
    uint64_t h = d->Launch(q, w, NowNs());
    DispatchTimes t;
    while (!d->Poll(h, NowNs(), &t)) {
    }
  }
  return static_cast<double>(NowNs() - t0) / n;
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
  double one = Run(d, q1, n);
  printf("%s\n", d->params().Describe().c_str());
  printf("launch+poll, 1 thread, empty kernel: %.1f ns/dispatch (%.0f dispatches/s)\n", one,
         1e9 / one);
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
