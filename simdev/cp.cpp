// The CP thread: polls every queue of the process, sleeping adaptively between polls (ROCr rings
// doorbells with plain stores, so nothing wakes us on a doorbell): spin briefly after activity,
// then short sleeps, longer ones when idle for long; never past the device's next modelled event.
// With HSAPREEMPT_SIM_CP_SPIN=1 it never sleeps (a hardware CP's constant polling), for a CP
// thread with a CPU of its own.
#include "simdev/cp.h"

#include <sched.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/cpu_list.h"
#include "simdev/cp_queue.h"
#include "simdev/log.h"
#include "simdev/thunk_internal.h"

namespace simdev {

struct Cp::State {
  std::mutex mu;  // held by the CP thread while it touches queues
  std::condition_variable cv;
  std::map<uint32_t, CpQueue> queues;
  bool thread_started = false;
  CompletionLog log;
};

namespace {

Cp* g_cp = nullptr;
std::once_flag g_cp_once;

// Doorbell latency vs. CPU: a doorbell is seen within this long after the CP last made progress.
// Idle for seconds, the CP costs ~1000 wake-ups/s (negligible) and a first packet waits <= 1 ms.
uint64_t PollIntervalNs(uint64_t idle_ns) {
  if (idle_ns < 50'000) return 0;                 // just active: spin (yield)
  if (idle_ns < 50'000'000) return 20'000;        // recently active: 20 us
  if (idle_ns < 2'000'000'000) return 100'000;    // quiet: 100 us
  return 1'000'000;                               // idle: 1 ms
}

// Doorbell poll while the process has work on the device (see Run).
constexpr uint64_t kBusyPollNs = 200'000;

// HSAPREEMPT_SIM_CP_CPUS: the CPUs this CP thread may run on. A real CP is hardware and takes no
// host CPU from the application; this one is a host thread, and on a small host it competes with
// the application's and the tool's threads at the very moment a doorbell must be seen (measured
// on 2 cores: Level-1's threads cost a probe ~40 us at 0.1 ms kernels that way, nothing once the
// CP threads had a core of their own; docs/simdev.md). Unset: no placement. A bad list or a
// refused placement is reported once per process and leaves the thread where it was.
void PlaceThisThread() {
  const char* v = std::getenv("HSAPREEMPT_SIM_CP_CPUS");
  if (v == nullptr || *v == '\0') return;
  cpu_set_t set;
  std::string error;
  static std::once_flag warned;
  if (!hsapreempt::common::ParseCpuList(v, &set, &error)) {
    std::call_once(warned, [&] {
      SIM_LOG(kWarn, "HSAPREEMPT_SIM_CP_CPUS=%s: %s; the CP thread is not placed", v,
              error.c_str());
    });
    return;
  }
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    const int err = errno;
    std::call_once(warned, [&] {
      SIM_LOG(kWarn, "HSAPREEMPT_SIM_CP_CPUS=%s: cannot place the CP thread there (%s); it runs "
              "unplaced", v, strerror(err));
    });
    return;
  }
  SIM_LOG(kInfo, "CP thread placed on CPUs %s", v);
}

// HSAPREEMPT_SIM_CP_SPIN=1: poll without ever sleeping, yielding the CPU between polls, as a
// hardware CP polls its queues all the time. A sleeping CP sees a doorbell only when its poll
// timer fires and the host wakes it on time (measured on 2 cores with the CP on a CPU of its own:
// submission -> the CP saw the probe P50 32-66 us polling, 5-12 us spinning; docs/simdev.md). It
// costs a whole CPU, so only for CP threads placed on CPUs of their own (HSAPREEMPT_SIM_CP_CPUS;
// the benchmarks set both). Unset or 0: adaptive sleeps. Anything else: one warning, no spin.
bool SpinRequested() {
  const char* v = std::getenv("HSAPREEMPT_SIM_CP_SPIN");
  if (v == nullptr || *v == '\0' || std::strcmp(v, "0") == 0) return false;
  if (std::strcmp(v, "1") == 0) return true;
  static std::once_flag warned;
  std::call_once(warned, [v] {
    SIM_LOG(kWarn, "HSAPREEMPT_SIM_CP_SPIN=%s: expected 0 or 1; the CP thread sleeps between polls",
            v);
  });
  return false;
}

}  // namespace

Cp& Cp::Instance() {
  std::call_once(g_cp_once, [] {
    g_cp = new Cp();  // never destroyed: the thread may run until the process ends
    g_cp->state_ = new State();
  });
  return *g_cp;
}

void Cp::ResetInChild() {
  // The parent's CP thread does not exist in the child; its lock may have been held at fork.
  if (g_cp != nullptr) g_cp->state_ = new State();
}

void Cp::AddQueue(const CpQueueConfig& config) {
  CpQueue q;
  q.cfg = config;
  q.amd_queue = FindAmdQueue(config.read_ptr, config.ring);
  q.fetch = __atomic_load_n(config.read_ptr, __ATOMIC_ACQUIRE);
  if (q.amd_queue == nullptr) {
    SIM_LOG(kInfo, "queue %u: read pointer is not inside an amd_queue_t; queue errors will only be "
            "logged", config.kfd_queue_id);
  }
  State* s = state_;
  std::lock_guard<std::mutex> lock(s->mu);
  s->queues[config.kfd_queue_id] = std::move(q);
  if (!s->thread_started) {
    s->thread_started = true;
    std::thread([this] { Run(); }).detach();
  }
  s->cv.notify_all();
}

void Cp::RemoveQueue(uint32_t kfd_queue_id) {
  State* s = state_;
  std::lock_guard<std::mutex> lock(s->mu);
  s->queues.erase(kfd_queue_id);
}

int Cp::RemoveAll(int* slots, int max) {
  State* s = state_;
  std::lock_guard<std::mutex> lock(s->mu);
  int n = 0;
  for (auto& kv : s->queues) {
    if (n < max) slots[n++] = kv.second.cfg.slot;
  }
  s->queues.clear();
  return n;
}

void Cp::Run() {
  prctl(PR_SET_NAME, "hsapreempt-cp", 0, 0, 0);
  prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);  // wake on time: completions are polled at their end
  PlaceThisThread();
  const bool spin = SpinRequested();
  State* s = state_;  // a fork child gets a new State and a new thread; this one stays ours
  Device* dev = GetDevice();
  if (dev == nullptr) return;
  uint64_t last_activity = NowNs();
  for (;;) {
    uint64_t gen = dev->Generation();
    uint64_t now = NowNs();
    uint64_t next_local = UINT64_MAX;
    bool progress = false;
    bool busy = false;
    {
      std::unique_lock<std::mutex> lock(s->mu);
      if (s->queues.empty()) {
        s->cv.wait(lock, [s] { return !s->queues.empty(); });
        last_activity = NowNs();
        continue;
      }
      for (auto& kv : s->queues) {
        progress |= ProcessQueue(kv.second, *dev, s->log, now, &next_local);
        busy |= !kv.second.inflight.empty();
      }
    }
    if (progress) last_activity = now;
    uint64_t poll = PollIntervalNs(now - last_activity);
    // With work on the device the CP wakes at every modelled event of it anyway (starts, ends,
    // CP-completed packets), and fetches new packets then: a doorbell poll on top needs no spin
    // and no 20 us tier (it cost a busy process's CP thread half a core on 2 cores).
    if (busy) poll = std::max(poll, kBusyPollNs);
    if (spin) poll = 0;
    // Not sleeping: yield before asking the device for its next event, which takes its lock (a
    // spinning CP would take it on every iteration for nothing).
    if (poll == 0) {
      sched_yield();
      continue;
    }
    uint64_t deadline = now + poll;
    if (busy) deadline = std::min({deadline, next_local, dev->NextEventTime(now)});
    if (deadline <= NowNs()) {
      sched_yield();
      continue;
    }
    dev->WaitForChange(gen, deadline);
  }
}

}  // namespace simdev
