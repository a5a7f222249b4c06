// `hsapreempt bench sched`: decision latency of the scheduler, from a high-priority queue's
// OnBusy (the application's first doorbell after idle) to the moment every lower queue has been
// suspended, with fake XQueues (no GPU: this measures the scheduler alone: board write, futex
// wake, thread wake-up, policy evaluation, Suspend calls).
//  in-process:    one scheduler, 1 high + (n-1) low queues.
//  cross-process: the (n-1) low queues belong to a forked process on the same shared board.
// The fake queues live in shared memory, so the parent reads the child's suspension timestamps.
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <new>
#include <string>
#include <vector>

#include "common/clock.h"
#include "sched/board.h"
#include "sched/scheduler_internal.h"
#include "sched/testing/fake_xqueue.h"
#include "tools/command.h"
#include "tools/sched_cli.h"
#include "tools/support/json.h"
#include "tools/support/stats.h"

namespace hsapreempt::tools {
namespace {

using sched::testing::FakeXQueue;

constexpr const char* kUsage =
    "usage: hsapreempt bench sched [--iterations N] [--queues LIST] [--json]\n"
    "Decision latency: a high-priority queue's OnBusy -> all lower queues suspended, with fake\n"
    "queues (no GPU), in-process and across processes on a shared board. Prints P50/P99/max,\n"
    "and the cost of the OnBusy call itself on the application's thread.\n"
    "  --iterations N   samples per configuration, 10..100000 (default 500)\n"
    "  --queues LIST    comma-separated queue counts, each 2..200 (default 2,8,32)\n"
    "  --json           one JSON document instead of the table\n";

constexpr uint64_t kTimeoutNs = 5'000'000'000;

struct Shared {
  std::atomic<int> child_ready{0};
  std::atomic<int> done{0};
};

// Fake queues placed in a MAP_SHARED mapping (visible to a forked child and its parent).
class SharedArena {
 public:
  explicit SharedArena(size_t queues) : count_(queues) {
    bytes_ = sizeof(Shared) + queues * sizeof(FakeXQueue) + 64;
    mem_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem_ == MAP_FAILED) {
      mem_ = nullptr;
      return;
    }
    shared_ = new (mem_) Shared();
    auto* base = reinterpret_cast<char*>(mem_) + ((sizeof(Shared) + 63) & ~size_t{63});
    for (size_t i = 0; i < queues; ++i) {
      queues_.push_back(new (base + i * sizeof(FakeXQueue)) FakeXQueue());
    }
  }
  ~SharedArena() {
    for (FakeXQueue* q : queues_) q->~FakeXQueue();
    if (mem_) munmap(mem_, bytes_);
  }
  bool ok() const { return mem_ != nullptr; }
  Shared* shared() { return shared_; }
  FakeXQueue* queue(size_t i) { return queues_[i]; }
  size_t count() const { return count_; }

 private:
  size_t count_;
  size_t bytes_ = 0;
  void* mem_ = nullptr;
  Shared* shared_ = nullptr;
  std::vector<FakeXQueue*> queues_;
};

sched::QueueAttrs Prio(int p) {
  sched::QueueAttrs a;
  a.priority = p;
  return a;
}

common::Config BenchConfig(const std::string& board, bool cross) {
  common::Config c;
  c.board = board;
  c.cross_process = cross;
  c.l2_hysteresis_us = 0;
  return c;
}

// Waits until every low queue is in state `suspended`; returns the latest transition time or 0 on
// timeout.
uint64_t WaitAll(SharedArena* lows, bool suspended, uint64_t start) {
  for (;;) {
    bool all = true;
    uint64_t last = 0;
    for (size_t i = 0; i < lows->count(); ++i) {
      FakeXQueue* q = lows->queue(i);
      if (q->suspended() != suspended) {
        all = false;
        break;
      }
      last = std::max(last, suspended ? q->last_suspend_ns() : q->last_resume_ns());
    }
    if (all) return last;
    if (common::MonotonicRawNs() - start > kTimeoutNs) return 0;
    sched_yield();
  }
}

// One configuration; returns false (with a message) if the scheduler never reacted.
bool Measure(bool cross, size_t queues, int iterations, std::vector<double>* samples_us,
             std::vector<double>* onbusy_ns, std::string* error) {
  const std::string board = "bench-" + std::to_string(getpid()) + (cross ? "-x" : "-i");
  unlink(sched::Board::PathFor(board).c_str());
  SharedArena lows(queues - 1);
  if (!lows.ok()) {
    *error = "cannot map shared memory";
    return false;
  }
  pid_t child = -1;
  if (cross) {
    child = fork();
    if (child == 0) {
      auto s = sched::NewScheduler();
      if (!s->Start(BenchConfig(board, true), 0).ok()) _exit(1);
      for (size_t i = 0; i < lows.count(); ++i) {
        s->AddQueue(lows.queue(i), Prio(10));
        s->OnBusy(lows.queue(i));
      }
      lows.shared()->child_ready.store(1);
      while (lows.shared()->done.load() == 0 && getppid() != 1) usleep(10000);
      s->Stop();
      _exit(0);
    }
    const uint64_t t0 = common::MonotonicRawNs();
    while (lows.shared()->child_ready.load() == 0) {
      if (common::MonotonicRawNs() - t0 > kTimeoutNs) {
        *error = "the child scheduler did not start";
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
        return false;
      }
      usleep(1000);
    }
  }
  auto s = sched::NewScheduler();
  s->Start(BenchConfig(board, cross), 0);
  FakeXQueue high;
  s->AddQueue(&high, Prio(90));
  if (!cross) {
    for (size_t i = 0; i < lows.count(); ++i) {
      s->AddQueue(lows.queue(i), Prio(10));
      s->OnBusy(lows.queue(i));
    }
  }
  usleep(20000);  // let every scheduler settle
  bool ok = true;
  for (int it = 0; it < iterations + 10 && ok; ++it) {
    const uint64_t start = common::MonotonicRawNs();
    s->OnBusy(&high);
    const uint64_t returned = common::MonotonicRawNs();  // the application thread's cost
    const uint64_t done = WaitAll(&lows, true, start);
    s->OnIdle(&high);
    if (done == 0 || WaitAll(&lows, false, common::MonotonicRawNs()) == 0) {
      *error = "lower queues were not " + std::string(done == 0 ? "suspended" : "resumed") +
               " within 5 s (iteration " + std::to_string(it) + ", " +
               std::to_string(s->evaluations()) + " evaluations)";
      ok = false;
      break;
    }
    if (it >= 10) {  // after a warm-up
      samples_us->push_back(static_cast<double>(done - start) / 1000.0);
      onbusy_ns->push_back(static_cast<double>(returned - start));
    }
    usleep(200);
  }
  s->Stop();
  if (cross) {
    lows.shared()->done.store(1);
    waitpid(child, nullptr, 0);
  }
  unlink(sched::Board::PathFor(board).c_str());
  return ok;
}

int BenchSched(const std::vector<std::string>& args) {
  long long iterations = 500;
  std::vector<size_t> counts{2, 8, 32};
  bool as_json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string v;
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (args[i] == "--json") {
      as_json = true;
    } else if (TakeFlag(args, &i, "--iterations", &v)) {
      if (!ParseIntIn(v, 10, 100000, &iterations)) {
        std::fprintf(stderr, "hsapreempt bench sched: bad --iterations '%s' (10..100000)\n",
                     v.c_str());
        return kExitUsage;
      }
    } else if (TakeFlag(args, &i, "--queues", &v)) {
      counts.clear();
      size_t pos = 0;
      while (pos <= v.size()) {
        size_t comma = v.find(',', pos);
        std::string item = v.substr(pos, comma == std::string::npos ? std::string::npos
                                                                     : comma - pos);
        long long n = 0;
        if (!ParseIntIn(item, 2, 200, &n)) {
          std::fprintf(stderr, "hsapreempt bench sched: bad --queues '%s' (e.g. 2,8,32)\n",
                       v.c_str());
          return kExitUsage;
        }
        counts.push_back(static_cast<size_t>(n));
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    } else {
      std::fprintf(stderr, "hsapreempt bench sched: unknown argument '%s' (see --help)\n",
                   args[i].c_str());
      return kExitUsage;
    }
  }
  json::Writer w;
  w.BeginObject().Field("benchmark", "sched").Field("iterations", int64_t{iterations});
  w.Field("measures", "OnBusy(high) -> all lower queues suspended, fake XQueues, no GPU");
  w.Key("results").BeginArray();
  if (!as_json) {
    std::printf("sched decision latency: OnBusy(high) -> all lower queues suspended\n");
    std::printf("(fake XQueues, no GPU; %lld samples each; microseconds)\n\n", iterations);
    std::printf("%-14s %7s %9s %9s %9s %9s %12s %12s\n", "mode", "queues", "p50_us", "p99_us",
                "max_us", "mean_us", "onbusy_p50ns", "onbusy_p99ns");
  }
  for (bool cross : {false, true}) {
    for (size_t n : counts) {
      std::vector<double> samples, onbusy;
      std::string error;
      if (!Measure(cross, n, static_cast<int>(iterations), &samples, &onbusy, &error)) {
        std::fprintf(stderr, "hsapreempt bench sched: %s with %zu queues: %s\n",
                     cross ? "cross-process" : "in-process", n, error.c_str());
        return kExitFailed;
      }
      Summary sum = Summarize(samples);
      Summary ob = Summarize(onbusy);
      const char* mode = cross ? "cross-process" : "in-process";
      if (!as_json) {
        std::printf("%-14s %7zu %9.1f %9.1f %9.1f %9.1f %12.0f %12.0f\n", mode, n, sum.p50,
                    sum.p99, sum.max, sum.mean, ob.p50, ob.p99);
        std::fflush(stdout);
      }
      w.BeginObject().Field("mode", mode).Field("queues", uint64_t{n});
      w.Field("p50_us", sum.p50).Field("p99_us", sum.p99).Field("max_us", sum.max);
      w.Field("onbusy_p50_ns", ob.p50).Field("onbusy_p99_ns", ob.p99);
      w.Field("mean_us", sum.mean).Field("samples", uint64_t{sum.count}).EndObject();
    }
  }
  w.EndArray().EndObject();
  if (as_json) std::printf("%s\n", w.str().c_str());
  return kExitOk;
}

}  // namespace

HSAPREEMPT_COMMAND("bench sched", "scheduler decision latency, in-process and cross-process",
                   BenchSched);

}  // namespace hsapreempt::tools
