// hsa_layer_prog stress: many threads submit spin kernels to a few queues through the public HSA
// API (with or without libhsapreempt.so loaded) and the program then verifies, from the kernels'
// own effects, that every packet ran exactly once and in queue order:
//  - every packet has the barrier bit; a queue's normal kernels bump that queue's order counter,
//    so sorted by queue index their tickets must be exactly 0, 1, 2, ...;
//  - each thread's normal kernels decrement one completion signal initialised to their number: it
//    must end at exactly 0 (a lost packet leaves it > 0, a duplicate drives it < 0);
//  - every `dep_every` packets a thread makes a cross-queue dependency: producer P on its queue
//    (completion d), a barrier-AND on the next queue waiting on d, and consumer C behind it; P and
//    C share a fresh counter (P must get ticket 0, C ticket 1) and, from device timestamps, C must
//    start after P ended.
#include "tests/hsa_layer/prog.h"

#include <algorithm>
#include <cstdarg>
#include <chrono>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

namespace hsapreempt::hsalayer_test {
namespace {

using namespace hsapreempt::testsupport;

struct StressConfig {
  int threads = 8;
  int packets = 50000;  // per thread, including dependency packets
  int queues = 4;
  uint32_t queue_size = 64;
  int dep_every = 50;   // 0: no cross-queue dependencies
  uint64_t workgroup_ns = 0;
  double timeout_s = 240;
};

struct DepPair {  // one cross-queue dependency
  hsa_signal_t d{0}, e{0};  // completions of producer P and consumer C
  uint32_t* counter = nullptr;
  uint32_t* slots = nullptr;  // [0]: P's ticket, [1]: C's ticket
};

struct Shared {
  const StressConfig* cfg;
  HsaSystem sys;
  Kernel kernel;
  std::vector<hsa_queue_t*> queues;
  uint32_t* queue_counters = nullptr;             // [queue]
  std::vector<std::vector<uint64_t>> indices;     // [thread][i]: queue index (normal kernels)
  std::vector<std::vector<int>> queue_of;         // [thread][i]: queue (-1: dependency packet)
  uint32_t* slots = nullptr;                      // [thread * packets + i]
  std::atomic<int> errors{0};
  std::atomic<uint64_t> deps_checked{0};
  char first_error[256] = {0};
};

void Fail(Shared* s, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void Fail(Shared* s, const char* fmt, ...) {
  if (s->errors.fetch_add(1) == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->first_error, sizeof(s->first_error), fmt, ap);
    va_end(ap);
  }
}

// Checks a completed dependency pair's effects and timestamps, then re-arms it.
void CheckDep(Shared* s, DepPair* p, bool rearm) {
  if (!WaitSignalBelow(p->e, 1, s->cfg->timeout_s, WaitStyle::kYield) ||
      !WaitSignalBelow(p->d, 1, s->cfg->timeout_s, WaitStyle::kYield)) {
    Fail(s, "dependency pair never completed: %s", LastError().c_str());
    return;
  }
  if (*p->counter != 2 || p->slots[0] != 0 || p->slots[1] != 1) {
    Fail(s, "dependency order wrong: counter %u, P ticket %u, C ticket %u", *p->counter,
         p->slots[0], p->slots[1]);
  }
  uint64_t ps, pe, cs, ce;
  if (!DispatchTimeNs(s->sys, p->d, &ps, &pe) || !DispatchTimeNs(s->sys, p->e, &cs, &ce) ||
      pe == 0 || cs == 0) {
    Fail(s, "no device timestamps for a dependency pair");
  } else if (cs < pe) {
    Fail(s, "consumer started %llu ns before its producer ended",
         static_cast<unsigned long long>(pe - cs));
  }
  s->deps_checked.fetch_add(1);
  if (rearm) {
    *p->counter = 0;
    p->slots[0] = p->slots[1] = UINT32_MAX;
    hsa_signal_store_relaxed(p->d, 1);
    hsa_signal_store_relaxed(p->e, 1);
  }
}

void Producer(Shared* s, int t) {
  const StressConfig& cfg = *s->cfg;
  const int q = t % cfg.queues;
  const int q2 = (q + 1) % cfg.queues;
  KernargRing kernargs;
  // One kernarg block per packet: never reused, so no completion tracking is needed for them.
  if (!kernargs.Init(s->sys, static_cast<size_t>(cfg.packets) + 8, s->kernel.kernarg_size)) {
    Fail(s, "kernarg allocation failed");
    return;
  }
  hsa_signal_t progress, barriers;
  int normal = 0, deps = 0;
  for (int i = 0; i < cfg.packets; ++i) {
    if (cfg.dep_every > 0 && i % cfg.dep_every == cfg.dep_every - 1 && i + 1 < cfg.packets) {
      ++deps;
      ++i;  // a dependency uses three queue slots but two "packets" of the budget
    } else {
      ++normal;
    }
  }
  hsa_signal_create(normal, 0, nullptr, &progress);
  hsa_signal_create(deps, 0, nullptr, &barriers);
  const int kPool = 32;
  std::vector<DepPair> pool(kPool);
  auto* dep_mem = static_cast<uint32_t*>(AllocAccessible(s->sys, s->sys.fine_pool, kPool * 16));
  for (int j = 0; j < kPool; ++j) {
    hsa_signal_create(1, 0, nullptr, &pool[j].d);
    hsa_signal_create(1, 0, nullptr, &pool[j].e);
    pool[j].counter = dep_mem + j * 4;
    pool[j].slots = dep_mem + j * 4 + 1;
    *pool[j].counter = 0;
    pool[j].slots[0] = pool[j].slots[1] = UINT32_MAX;
  }
  int dep_index = 0;
  for (int i = 0; i < cfg.packets; ++i) {
    DispatchConfig dc;
    dc.barrier = true;
    dc.full_timeout_s = cfg.timeout_s;
    if (cfg.dep_every > 0 && i % cfg.dep_every == cfg.dep_every - 1 && i + 1 < cfg.packets) {
      DepPair* p = &pool[dep_index % kPool];
      if (dep_index >= kPool) CheckDep(s, p, /*rearm=*/true);
      ++dep_index;
      void* ka = kernargs.Next();
      FillSpinArgs(ka, s->kernel.kernarg_size, cfg.workgroup_ns, i, nullptr, 0, p->counter,
                   &p->slots[0]);
      dc.completion = p->d;
      if (SubmitDispatch(s->queues[q], s->kernel, ka, dc) == UINT64_MAX ||
          SubmitBarrierAnd(s->queues[q2], {p->d}, barriers, true, cfg.timeout_s) == UINT64_MAX) {
        Fail(s, "submit failed: %s", LastError().c_str());
        return;
      }
      ka = kernargs.Next();
      FillSpinArgs(ka, s->kernel.kernarg_size, cfg.workgroup_ns, i, nullptr, 0, p->counter,
                   &p->slots[1]);
      dc.completion = p->e;
      if (SubmitDispatch(s->queues[q2], s->kernel, ka, dc) == UINT64_MAX) {
        Fail(s, "submit failed: %s", LastError().c_str());
        return;
      }
      s->queue_of[t][i] = s->queue_of[t][i + 1] = -1;
      ++i;
      continue;
    }
    void* ka = kernargs.Next();
    FillSpinArgs(ka, s->kernel.kernarg_size, cfg.workgroup_ns, i, nullptr, 0,
                 &s->queue_counters[q], &s->slots[static_cast<size_t>(t) * cfg.packets + i]);
    dc.completion = progress;
    uint64_t index = SubmitDispatch(s->queues[q], s->kernel, ka, dc);
    if (index == UINT64_MAX) {
      Fail(s, "submit failed: %s", LastError().c_str());
      return;
    }
    s->indices[t][i] = index;
    s->queue_of[t][i] = q;
  }
  if (!WaitSignalBelow(progress, 1, cfg.timeout_s, WaitStyle::kYield) ||
      !WaitSignalBelow(barriers, 1, cfg.timeout_s, WaitStyle::kYield)) {
    Fail(s, "thread %d: work never completed (progress %ld, barriers %ld)", t,
         static_cast<long>(hsa_signal_load_relaxed(progress)),
         static_cast<long>(hsa_signal_load_relaxed(barriers)));
    return;
  }
  for (int j = 0; j < std::min(dep_index, kPool); ++j) CheckDep(s, &pool[j], false);
  // A duplicate execution arriving late would drive the counts negative.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (hsa_signal_load_relaxed(progress) != 0 || hsa_signal_load_relaxed(barriers) != 0) {
    Fail(s, "thread %d: completion counts %ld / %ld, expected 0 / 0", t,
         static_cast<long>(hsa_signal_load_relaxed(progress)),
         static_cast<long>(hsa_signal_load_relaxed(barriers)));
  }
  for (auto& p : pool) {
    hsa_signal_destroy(p.d);
    hsa_signal_destroy(p.e);
  }
  hsa_signal_destroy(progress);
  hsa_signal_destroy(barriers);
}

// Per queue: tickets of normal kernels sorted by queue index must be 0..n-1.
void CheckQueueOrder(Shared* s) {
  const StressConfig& cfg = *s->cfg;
  for (int q = 0; q < cfg.queues; ++q) {
    std::vector<std::pair<uint64_t, uint32_t>> seen;
    for (int t = 0; t < cfg.threads; ++t) {
      for (int i = 0; i < cfg.packets; ++i) {
        if (s->queue_of[t][i] == q) {
          seen.emplace_back(s->indices[t][i], s->slots[static_cast<size_t>(t) * cfg.packets + i]);
        }
      }
    }
    std::sort(seen.begin(), seen.end());
    if (s->queue_counters[q] != seen.size()) {
      Fail(s, "queue %d: order counter %u, expected %zu kernels", q, s->queue_counters[q],
           seen.size());
    }
    for (size_t k = 0; k < seen.size(); ++k) {
      if (seen[k].second != k) {
        Fail(s, "queue %d: packet at index %llu got ticket %u, expected %zu", q,
             static_cast<unsigned long long>(seen[k].first), seen[k].second, k);
        break;
      }
    }
  }
}

}  // namespace

int RunStress(const Args& args) {
  StressConfig cfg;
  cfg.threads = args.Int("threads", cfg.threads);
  cfg.packets = args.Int("packets", cfg.packets);
  cfg.queues = args.Int("queues", cfg.queues);
  cfg.queue_size = static_cast<uint32_t>(args.Int("queue-size", cfg.queue_size));
  cfg.dep_every = args.Int("dep-every", cfg.dep_every);
  cfg.workgroup_ns = static_cast<uint64_t>(args.Int("workgroup-ns", 0));
  if (cfg.queues < 2 && cfg.dep_every > 0) cfg.dep_every = 0;
  Shared s;
  s.cfg = &cfg;
  if (!Setup(&s.sys, &s.kernel)) return 1;
  for (int q = 0; q < cfg.queues; ++q) {
    hsa_queue_t* queue = nullptr;
    hsa_status_t st = hsa_queue_create(s.sys.gpu, cfg.queue_size, HSA_QUEUE_TYPE_MULTI, nullptr,
                                       nullptr, UINT32_MAX, UINT32_MAX, &queue);
    if (st != HSA_STATUS_SUCCESS ||
        hsa_amd_profiling_set_profiler_enabled(queue, 1) != HSA_STATUS_SUCCESS) {
      std::printf("FAIL queue create/profiling: status %d\n", st);
      return 1;
    }
    s.queues.push_back(queue);
  }
  const size_t n = static_cast<size_t>(cfg.threads) * cfg.packets;
  s.slots = static_cast<uint32_t*>(AllocAccessible(s.sys, s.sys.fine_pool, n * 4 + 64));
  s.queue_counters =
      static_cast<uint32_t*>(AllocAccessible(s.sys, s.sys.fine_pool, cfg.queues * 4 + 64));
  if (s.slots == nullptr || s.queue_counters == nullptr) {
    std::printf("FAIL allocation\n");
    return 1;
  }
  std::memset(s.slots, 0xff, n * 4);
  std::memset(s.queue_counters, 0, cfg.queues * 4);
  s.indices.assign(cfg.threads, std::vector<uint64_t>(cfg.packets, 0));
  s.queue_of.assign(cfg.threads, std::vector<int>(cfg.packets, -2));
  std::vector<std::thread> threads;
  for (int t = 0; t < cfg.threads; ++t) threads.emplace_back(Producer, &s, t);
  for (auto& th : threads) th.join();
  if (s.errors.load() == 0) CheckQueueOrder(&s);
  uint64_t wraps = 0;
  for (hsa_queue_t* q : s.queues) {
    wraps += hsa_queue_load_write_index_relaxed(q) / q->size;
    hsa_queue_destroy(q);
  }
  std::printf("%s threads=%d packets=%d queues=%d queue_size=%u deps_checked=%llu ring_wraps=%llu "
              "errors=%d %s\n",
              s.errors.load() == 0 ? "PASS" : "FAIL", cfg.threads, cfg.packets, cfg.queues,
              cfg.queue_size, static_cast<unsigned long long>(s.deps_checked.load()),
              static_cast<unsigned long long>(wraps), s.errors.load(), s.first_error);
  UnloadKernel(&s.kernel);
  ShutdownHsa();
  return s.errors.load() == 0 ? 0 : 1;
}

}  // namespace hsapreempt::hsalayer_test
