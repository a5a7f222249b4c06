// The per-process pump thread (pump.h states the contract).
#include "xqueue/pump.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <new>
#include <vector>

#include "common/log.h"
#include "xqueue/xqueue_impl.h"

namespace hsapreempt::xq {
namespace {

// Poll intervals: a throttled queue waits for its marker (its next batch is ready to go), so poll
// it often, backing off while nothing completes (long kernels: a 200 us delay on a batch of long
// kernels is small, and 20 us polls for their whole duration would cost a good part of a core);
// otherwise we only need idleness and the closing marker, so back off further.
constexpr uint64_t kThrottledMinPollNs = 20'000;
constexpr uint64_t kThrottledMaxPollNs = 200'000;
constexpr uint64_t kMinPollNs = 50'000;
constexpr uint64_t kMaxPollNs = 1'000'000;
constexpr auto kIdleWait = std::chrono::milliseconds(100);  // safety net only

struct PumpState {
  std::mutex mu;                   // guards everything but the atomics
  std::condition_variable wake;    // pump thread sleeps here when no queue needs it
  std::condition_variable done;    // a step of `current` finished
  std::vector<XQueueImpl*> queues;
  XQueueImpl* current = nullptr;   // queue the pump thread is stepping right now (outside mu)
  pthread_t thread{};
  std::atomic<bool> running{false};
  std::atomic<bool> sleeping{false};
  bool start_failed = false;
  bool stopped = false;            // StopPump(): touch no queue again
};

// Never destroyed: the pump thread may outlive static destruction at exit.
PumpState* State() {
  static PumpState* state = new PumpState();
  return state;
}

void SleepNs(uint64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000ull), static_cast<long>(ns % 1'000'000'000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR) {
  }
}

void* PumpMain(void*) {
  pthread_setname_np(pthread_self(), "hsapreempt-pump");
  // Default timer slack (50 us) would turn a 20 us poll into 70 us.
  prctl(PR_SET_TIMERSLACK, 2000, 0, 0, 0);
  PumpState* st = State();
  uint64_t backoff = kMinPollNs;
  uint64_t throttled_backoff = kThrottledMinPollNs;
  std::unique_lock<std::mutex> lock(st->mu);
  for (;;) {
    if (st->stopped) {
      st->wake.wait(lock);
      continue;
    }
    bool any = false, throttled = false, progress = false;
    // Step each queue that needs it without holding mu (the listener may take other locks);
    // PumpUnregister waits on `done` while `current` is its queue. Index-based: the vector may
    // change while mu is released, so re-find our position by value each time.
    for (size_t i = 0; i < st->queues.size(); ++i) {
      XQueueImpl* q = st->queues[i];
      if (!q->needs_pump()) continue;
      st->current = q;
      lock.unlock();
      XQueueImpl::StepResult r = q->PumpStep();
      bool still = q->needs_pump();
      lock.lock();
      st->current = nullptr;
      st->done.notify_all();
      any |= still;
      throttled |= r.throttled;
      progress |= r.progress;
      auto it = std::find(st->queues.begin(), st->queues.end(), q);
      if (it == st->queues.end() || st->stopped) break;  // list changed: restart next round
      i = static_cast<size_t>(it - st->queues.begin());
    }
    if (any) {
      uint64_t ns = throttled ? throttled_backoff : backoff;
      backoff = progress ? kMinPollNs : std::min(backoff * 2, kMaxPollNs);
      throttled_backoff =
          progress ? kThrottledMinPollNs : std::min(throttled_backoff * 2, kThrottledMaxPollNs);
      lock.unlock();
      SleepNs(ns);
      lock.lock();
      continue;
    }
    backoff = kMinPollNs;
    // Dekker with PumpWake: publish `sleeping`, then re-check every queue's flag (seq_cst both).
    st->sleeping.store(true, std::memory_order_seq_cst);
    bool needed = false;
    for (XQueueImpl* q : st->queues) needed |= q->needs_pump();
    if (!needed) st->wake.wait_for(lock, kIdleWait);
    st->sleeping.store(false, std::memory_order_seq_cst);
  }
  return nullptr;
}

// Requires st->mu.
bool StartLocked(PumpState* st) {
  if (st->running.load(std::memory_order_acquire)) return true;
  if (st->start_failed) return false;
  // Our thread must not run the application's signal handlers.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int err = pthread_create(&st->thread, &attr, PumpMain, nullptr);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err != 0) {
    st->start_failed = true;
    HP_LOG(kError, "xqueue: cannot start the pump thread (error %d): packets will not be held",
           err);
    return false;
  }
  st->running.store(true, std::memory_order_release);
  return true;
}

void ForkPrepare() {
  PumpState* st = State();
  st->mu.lock();
  // Let a step in progress finish so no queue lock or listener call is mid-way in the pump.
  while (st->current != nullptr) {
    std::unique_lock<std::mutex> lock(st->mu, std::adopt_lock);
    st->done.wait(lock);
    lock.release();
  }
  for (XQueueImpl* q : st->queues) q->LockForFork();
}

void ForkParent() {
  PumpState* st = State();
  for (XQueueImpl* q : st->queues) q->UnlockAfterFork();
  st->mu.unlock();
}

void ForkChild() {
  PumpState* st = State();
  for (XQueueImpl* q : st->queues) q->UnlockAfterFork();
  // The parent's pump thread does not exist here; its condition variables may hold its waiter
  // state. Re-create them (the mutex is held by this thread: re-create it unlocked).
  new (&st->wake) std::condition_variable();
  new (&st->done) std::condition_variable();
  new (&st->mu) std::mutex();
  st->current = nullptr;
  st->running.store(false, std::memory_order_relaxed);
  st->sleeping.store(false, std::memory_order_relaxed);
  st->start_failed = false;
  st->stopped = false;
}

void InstallForkHandlersOnce() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(ForkPrepare, ForkParent, ForkChild); });
}

}  // namespace

uint64_t PumpCpuTimeNs() {
  PumpState* st = State();
  if (!st->running.load(std::memory_order_acquire)) return 0;
  clockid_t cid;
  timespec ts;
  if (pthread_getcpuclockid(st->thread, &cid) != 0 || clock_gettime(cid, &ts) != 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void StopPump() {
  PumpState* st = State();
  std::unique_lock<std::mutex> lock(st->mu);
  st->stopped = true;
  if (st->running.load(std::memory_order_relaxed) && pthread_equal(pthread_self(), st->thread)) {
    return;
  }
  st->done.wait(lock, [&] { return st->current == nullptr; });
}

bool PumpRegister(XQueueImpl* queue) {
  InstallForkHandlersOnce();
  PumpState* st = State();
  std::lock_guard<std::mutex> lock(st->mu);
  if (!StartLocked(st)) return false;
  st->queues.push_back(queue);
  return true;
}

void PumpUnregister(XQueueImpl* queue) {
  PumpState* st = State();
  std::unique_lock<std::mutex> lock(st->mu);
  auto it = std::find(st->queues.begin(), st->queues.end(), queue);
  if (it != st->queues.end()) st->queues.erase(it);
  if (st->running.load(std::memory_order_relaxed) && pthread_equal(pthread_self(), st->thread)) {
    return;  // called from our own step: it is not touching the queue after this
  }
  st->done.wait(lock, [&] { return st->current != queue; });
}

void PumpWake() {
  PumpState* st = State();
  if (!st->running.load(std::memory_order_acquire)) {
    // A forked child: start the pump it needs now. Rare; takes the lock.
    std::lock_guard<std::mutex> lock(st->mu);
    StartLocked(st);
    st->wake.notify_one();
    return;
  }
  if (st->sleeping.load(std::memory_order_seq_cst)) {
    std::lock_guard<std::mutex> lock(st->mu);
    st->wake.notify_one();
  }
}

}  // namespace hsapreempt::xq
