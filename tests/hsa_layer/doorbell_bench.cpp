// hsa_layer_doorbell_bench: cost of the doorbell-set lookup every application signal store pays
// (prints numbers; not a test). Miss = a signal that is not one of our doorbells, hit = one that
// is (Acquire + Release, without the XQueue work), each with 4 and 64 doorbells registered.
#include <time.h>

#include <cstdio>
#include <vector>

#include "hsa_layer/doorbell_set.h"

using hsapreempt::hsa::DoorbellSet;
using hsapreempt::hsa::NewRecord;
using hsapreempt::hsa::QueueRecord;

namespace {

double NowNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);  // CPU time: robust on a loaded machine
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

uint64_t Handle(uint64_t i) { return 0x7f0000000000ull + i * 64; }

}  // namespace

int main() {
  DoorbellSet* set = DoorbellSet::Instance();
  std::vector<QueueRecord*> records;
  constexpr int kIters = 20'000'000;
  for (int live : {4, 64}) {
    while (static_cast<int>(records.size()) < live) {
      records.push_back(NewRecord());
      set->Insert(Handle(records.size()), records.back());
    }
    volatile uint64_t sink = 0;
    double t0 = NowNs();
    for (int i = 0; i < kIters; ++i) {
      QueueRecord* r = set->Acquire(Handle(100000 + (i & 1023)));
      sink += r != nullptr;
    }
    double miss = (NowNs() - t0) / kIters;
    t0 = NowNs();
    for (int i = 0; i < kIters; ++i) {
      QueueRecord* r = set->Acquire(Handle(1 + (i % live)));
      if (r != nullptr) DoorbellSet::Release(r);
      sink += r != nullptr;
    }
    double hit = (NowNs() - t0) / kIters;
    std::printf("doorbells=%-3d  miss (other signal): %6.2f ns   hit (our doorbell): %6.2f ns\n",
                live, miss, hit);
  }
  return 0;
}
