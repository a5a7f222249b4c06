// The per-process scheduler (contract in scheduler.h).
//
// Every queue of ours has an entry on the board (shared, or private when cross-process
// scheduling is off or refused). The board is the single source of truth for attributes and
// work: OnBusy/OnIdle write `has_work` there, `hsapreempt set` writes priorities there, and the
// scheduler thread evaluates the board-wide policy and applies it to our own queues only.
//
// Locking: `mu_` serialises the queue list and every evaluation (which calls XQueue::Suspend/
// Resume, possibly a blocking ioctl). OnBusy/OnIdle never take it: they touch only their queue's
// LocalQueue (never freed, see below) and its board entry, with atomics.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <new>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "common/thread_priority.h"
#include "sched/board.h"
#include "sched/policy.h"
#include "sched/scheduler_internal.h"

namespace hsapreempt::sched {
namespace {

using common::Status;

constexpr uint64_t kBlockedPollNs = 1'000'000;  // re-check a queue blocked on a barrier
// While one of our queues is held, re-check the others' liveness this often: a process that dies
// (SIGKILL bumps no generation) must stop holding us at once, not at the next heartbeat.
constexpr uint64_t kHeldLivenessPollNs = 20'000'000;
constexpr uint64_t kDrainPollNs = 250'000;

// The scheduler thread asks for nice `want` (HSAPREEMPT_SCHED_NICE) when that is a higher priority
// than the one it inherited and the process may raise it (CAP_SYS_NICE, or RLIMIT_NICE); it never
// lowers its priority. Why: this thread suspends other queues when work of higher priority
// arrives, and on a busy host a woken thread of default priority can wait hundreds of
// microseconds for a CPU (measured on 2 cores, bench two-model b1024 Level-2: high queue busy ->
// low queue suspended P50 196-244 us, P90 665-852 us at nice 0; 144 / 353-405 us at nice -10).
// It sleeps almost always (0.06 s of CPU in a 25 s run), so its priority costs the application
// nothing measurable. Logged at info level only: silent unless asked.
void RaiseThreadPriority(int want) {
  const common::NiceResult r = common::RaiseThisThreadPriority(want);
  if (!r.asked) return;
  if (r.error.empty()) {
    HP_LOG(kInfo, "scheduler: thread at nice %d (HSAPREEMPT_SCHED_NICE)", r.now);
  } else {
    HP_LOG(kInfo, "scheduler: thread keeps nice %d: raising it to %d is not permitted here (%s; "
           "needs CAP_SYS_NICE or RLIMIT_NICE)", r.inherited, want, r.error.c_str());
  }
}

// Our state for one XQueue. Never freed while the scheduler lives (parked for reuse), so a late
// OnBusy/OnIdle from another thread never touches freed memory; `queue` says whom it serves.
struct LocalQueue {
  std::atomic<xq::XQueue*> queue{nullptr};
  std::atomic<BoardQueue*> entry{nullptr};
  std::atomic<bool> busy{false};
  std::atomic<bool> wake_on_busy{true};
  // A busy transition may also require our own scheduler to act (another queue of this process
  // may be suspended): else OnBusy wakes only the other processes' schedulers.
  std::atomic<bool> wake_self_on_busy{true};
  Board* board = nullptr;
  uint32_t proc_slot = 0;  // our process's slot on `board`
  uint32_t slot = 0;
  uint64_t id = 0;
  QueueAttrs attrs;
  // Scheduler-thread state (under mu_).
  bool applied_suspended = false;
  bool applied_throttle = true;  // an XQueue starts throttled
  uint64_t suspended_at_ns = 0;
  bool saw_work = false;
  bool latency_pending = false;
  // Used the GPU since the last evaluation: running, or suspended with packets still in flight
  // (Level-1 lets forwarded work finish, and that time is this queue's, not the next one's).
  bool on_gpu = false;
  bool blocked = false;  // busy, but waiting on a barrier dependency
};

bool IsHardwareLever(levels::LeverKind kind) { return kind != levels::LeverKind::kNone; }

Status CheckAttrs(const QueueAttrs& a) {
  if (a.priority < 0 || a.priority > 99) {
    return Status::Error(Status::Code::kInvalidArgument,
                         "priority " + std::to_string(a.priority) + " is out of range 0..99");
  }
  if (a.weight < 1 || a.weight > 1000) {
    return Status::Error(Status::Code::kInvalidArgument,
                         "weight " + std::to_string(a.weight) + " is out of range 1..1000");
  }
  if (a.deadline_us > 60'000'000) {
    return Status::Error(Status::Code::kInvalidArgument,
                         "deadline " + std::to_string(a.deadline_us) + " us is out of range");
  }
  return Status::Ok();
}

class SchedulerImpl : public InspectableScheduler {
 public:
  ~SchedulerImpl() override {
    Stop();
    for (LocalQueue* lq : queues_) delete lq;
    for (LocalQueue* lq : parked_) delete lq;
  }

  Status Start(const common::Config& config, uint32_t gpu_index) override {
    std::lock_guard<std::mutex> lock(mu_);
    return StartLocked(config, gpu_index);
  }

  void Stop() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!started_ || stopping_) return;  // OnUnload and atexit may race: one joins
      stopping_ = true;
      stop_.store(true);
    }
    board_->BumpAndWake();
    if (has_thread_) pthread_join(thread_, nullptr);
    has_thread_ = false;
    std::lock_guard<std::mutex> lock(mu_);
    for (LocalQueue* lq : queues_) {
      xq::XQueue* q = lq->queue.load();
      if (q != nullptr && lq->applied_suspended) q->Resume();
      if (q != nullptr && lq->applied_throttle) q->SetThrottled(false);  // nobody schedules it now
      lq->applied_suspended = false;
      lq->applied_throttle = false;
      lq->entry.store(nullptr);  // late OnBusy must not write a slot someone else may reuse
    }
    board_->UnregisterProcess(proc_slot_, pid_);
    started_ = false;
    stopping_ = false;
    // The mapping stays (late OnBusy calls may still read it); unmapped when we are destroyed.
    retired_.push_back(std::move(board_));
  }

  void AtForkChild() override {
    // Only this thread exists in the child: the parent's scheduler thread and any lock it held
    // are gone. The board entries belong to the parent; the child registers anew when it adds
    // a queue (the parent's XQueues are unusable in the child: ROCr does not survive fork).
    new (&mu_) std::mutex();
    has_thread_ = false;
    stopping_ = false;
    stop_.store(false);
    for (LocalQueue* lq : queues_) {
      lq->queue.store(nullptr);
      lq->entry.store(nullptr);
      parked_.push_back(lq);
    }
    queues_.clear();
    if (board_) retired_.push_back(std::move(board_));
    started_ = false;
  }

  void AddQueue(xq::XQueue* queue, const QueueAttrs& attrs) override {
    if (queue == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) {
      // Lazily (after fork, or if nobody called Start): same configuration as before.
      common::Config config = have_config_ ? config_ : common::Config::FromEnvironment();
      if (!StartLocked(config, gpu_index_).ok()) return;
    }
    QueueAttrs a = attrs;
    if (!CheckAttrs(a).ok()) a = QueueAttrs();
    LocalQueue* lq = nullptr;
    if (!parked_.empty()) {
      lq = parked_.back();
      parked_.pop_back();
    } else {
      lq = new LocalQueue();
    }
    lq->attrs = a;
    lq->board = board_.get();
    lq->applied_suspended = false;
    lq->applied_throttle = true;
    lq->saw_work = false;
    lq->latency_pending = false;
    lq->on_gpu = false;
    lq->busy.store(false);
    lq->wake_on_busy.store(true);
    lq->wake_self_on_busy.store(true);
    lq->proc_slot = proc_slot_;
    Board::QueueInit init{a.priority, a.weight, a.deadline_us,
                          static_cast<uint32_t>(queue->lever_kind())};
    Status s = board_->AddQueue(proc_slot_, pid_, init, &lq->slot, &lq->id);
    if (!s.ok()) {
      HP_LOG(kWarn, "queue not scheduled: %s", s.message().c_str());
      parked_.push_back(lq);
      return;
    }
    lq->entry.store(board_->queue(lq->slot));
    lq->queue.store(queue);
    queue->sched_data = lq;
    queues_.push_back(lq);
  }

  void RemoveQueue(xq::XQueue* queue) override {
    if (queue == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find_if(queues_.begin(), queues_.end(),
                           [&](LocalQueue* lq) { return lq->queue.load() == queue; });
    if (it == queues_.end()) return;
    LocalQueue* lq = *it;
    queues_.erase(it);
    if (lq->applied_suspended) queue->Resume();  // destroy drains: let it run
    lq->queue.store(nullptr);
    lq->entry.store(nullptr);
    queue->sched_data = nullptr;
    if (board_) board_->RemoveQueue(lq->slot, lq->id);
    parked_.push_back(lq);
  }

  Status SetQueueAttrs(xq::XQueue* queue, const QueueAttrs& attrs) override {
    Status s = CheckAttrs(attrs);
    if (!s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    for (LocalQueue* lq : queues_) {
      if (lq->queue.load() != queue) continue;
      lq->attrs = attrs;
      BoardQueue* e = lq->entry.load();
      if (e != nullptr) {
        Store(e->priority, static_cast<int32_t>(attrs.priority));
        Store(e->weight, attrs.weight);
        Store(e->deadline_us, attrs.deadline_us);
        __atomic_add_fetch(&e->attr_seq, 1u, __ATOMIC_SEQ_CST);
        board_->BumpAndWake();
      }
      return Status::Ok();
    }
    return Status::Error(Status::Code::kNotFound, "queue is not registered with the scheduler");
  }

  // Application thread: a flag, a board word, maybe one futex wake.
  void OnBusy(xq::XQueue* queue) override {
    LocalQueue* lq = static_cast<LocalQueue*>(queue->sched_data);
    if (lq == nullptr || lq->queue.load(std::memory_order_acquire) != queue) return;
    BoardQueue* e = lq->entry.load(std::memory_order_acquire);
    lq->busy.store(true, std::memory_order_release);
    if (e == nullptr) return;
    if (Load(e->has_work) == 0) {
      Store(e->busy_since_ns, common::MonotonicRawNs());
      Store(e->has_work, 1u);
    }
    lq->board->Bump();
    if (!lq->wake_on_busy.load(std::memory_order_relaxed)) return;
    if (lq->wake_self_on_busy.load(std::memory_order_relaxed)) {
      lq->board->Wake();
    } else {
      lq->board->WakeOthers(lq->proc_slot);  // one thread fewer competing for the CPU right now
    }
  }

  void OnIdle(xq::XQueue* queue) override {
    LocalQueue* lq = static_cast<LocalQueue*>(queue->sched_data);
    if (lq == nullptr || lq->queue.load(std::memory_order_acquire) != queue) return;
    BoardQueue* e = lq->entry.load(std::memory_order_acquire);
    lq->busy.store(false, std::memory_order_release);
    if (e == nullptr) return;
    Store(e->has_work, 0u);
    lq->board->BumpAndWake();  // queues held for this one may run now
  }

  bool board_shared() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return board_ && board_->shared();
  }
  std::string board_path() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return board_ ? board_->path() : std::string();
  }
  uint64_t evaluations() const override { return evaluations_.load(); }

 private:
  Status StartLocked(const common::Config& config, uint32_t gpu_index) {
    if (started_) return Status::Ok();
    config_ = config;
    have_config_ = true;
    gpu_index_ = gpu_index;
    pid_ = getpid();
    lease_ns_ = config.lease_ms * 1'000'000;
    hysteresis_ns_ = config.l2_hysteresis_us * 1000;
    throttle_always_ = config.throttle_always;
    Status result = Status::Ok();
    board_.reset();
    if (config.cross_process) {
      std::string name = config.board;
      if (gpu_index != 0) name += "-g" + std::to_string(gpu_index);
      result = Board::OpenShared(name, /*create=*/true, &board_);
      if (!result.ok()) {
        HP_LOG(kWarn, "%s", result.message().c_str());
        board_.reset();
      }
    }
    if (!board_) {
      board_ = Board::CreatePrivate();
      if (!board_) return Status::Error(Status::Code::kIoError, "cannot allocate the board");
      Store(board_->header()->policy, static_cast<uint32_t>(config.policy));
    } else if (config.policy_set) {
      board_->SetPolicy(static_cast<uint32_t>(config.policy), /*explicit_choice=*/true);
    }
    Status s = board_->RegisterProcess(pid_, &proc_slot_);
    if (!s.ok()) {
      HP_LOG(kWarn, "%s; in-process scheduling only", s.message().c_str());
      board_ = Board::CreatePrivate();
      if (!board_) return Status::Error(Status::Code::kIoError, "cannot allocate the board");
      Store(board_->header()->policy, static_cast<uint32_t>(config.policy));
      board_->RegisterProcess(pid_, &proc_slot_);
      result = s;
    }
    HP_LOG(kInfo, "scheduler: board %s, policy %s", board_->path().c_str(),
           common::PolicyName(static_cast<common::PolicyChoice>(board_->policy() % 3)));
    stop_.store(false);
    if (pthread_create(&thread_, nullptr, &SchedulerImpl::ThreadMain, this) != 0) {
      board_->UnregisterProcess(proc_slot_, pid_);
      return Status::Error(Status::Code::kIoError, "cannot start the scheduler thread");
    }
    has_thread_ = true;
    started_ = true;
    return result;
  }

  static void* ThreadMain(void* arg) {
    // The application's signal handlers must never run on our thread.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    auto* self = static_cast<SchedulerImpl*>(arg);
    int nice;
    {
      // config_ is written only by StartLocked, before this thread exists (Stop joins first).
      std::lock_guard<std::mutex> lock(self->mu_);
      nice = self->config_.sched_nice;
    }
    RaiseThreadPriority(nice);
    pthread_setname_np(pthread_self(), "hsapreempt-sch");  // after: once named, the nice is final
    self->Loop();
    return nullptr;
  }

  void Loop() {
    Board* board;
    uint32_t slot;
    {
      std::lock_guard<std::mutex> lock(mu_);
      board = board_.get();
      slot = proc_slot_;
    }
    while (!stop_.load()) {
      const uint32_t seen = board->generation();
      uint64_t next = Evaluate();
      if (stop_.load()) break;
      const uint64_t now = common::MonotonicRawNs();
      if (next > now) board->Wait(seen, next - now, slot);
    }
  }

  // One evaluation: refresh our entries, check liveness, run the policy, apply it to our queues.
  // Returns the time of the next evaluation without board changes.
  uint64_t Evaluate();

  // Priority inheritance within this process: a queue the policy lets run but which waits on a
  // barrier whose signal a queue of ours produces (held or in flight there) gets that producer
  // released, whatever the policy said of it; otherwise a middle queue would hold up the
  // blocked one through its producer. Works on views_/owners_/decision_ (under mu_).
  void InheritPriority() {
    for (size_t b = 0; b < views_.size(); ++b) {
      LocalQueue* blocked = owners_[b];
      if (blocked == nullptr || !blocked->blocked || decision_.suspend[b]) continue;
      xq::XQueue* bq = blocked->queue.load();
      hsa_signal_t deps[5];
      const int n = bq->BlockingSignals(deps, 5);
      for (size_t p = 0; p < views_.size() && n > 0; ++p) {
        if (owners_[p] == nullptr || p == b || !decision_.suspend[p]) continue;
        xq::XQueue* producer = owners_[p]->queue.load();
        for (int k = 0; k < n && k < 5; ++k) {
          if (producer->HoldsSignalProducer(deps[k])) {
            decision_.suspend[p] = false;
            break;
          }
        }
      }
    }
  }

  mutable std::mutex mu_;
  std::vector<LocalQueue*> queues_;
  std::vector<LocalQueue*> parked_;
  std::vector<std::unique_ptr<Board>> retired_;
  std::unique_ptr<Board> board_;
  common::Config config_;
  bool have_config_ = false;
  bool started_ = false;
  bool stopping_ = false;
  uint32_t gpu_index_ = 0;
  pid_t pid_ = 0;
  uint32_t proc_slot_ = 0;
  uint64_t lease_ns_ = 1'000'000'000;
  uint64_t hysteresis_ns_ = 200'000;
  bool throttle_always_ = false;
  uint64_t last_eval_ns_ = 0;
  pthread_t thread_{};
  bool has_thread_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> evaluations_{0};
  std::vector<bool> counts_;
  std::vector<QueueView> views_;
  std::vector<QueueView> own_views_;  // views_ of our own queues (who must wake us on OnBusy)
  std::vector<LocalQueue*> owners_;  // parallel to views_: ours, or nullptr
  Decision decision_;
  // Built with the scheduler, not lazily in its thread: a function-local static first
  // initialised there could be mid-initialisation when the application forks, and the child's
  // scheduler thread would then wait on its guard forever (seen under ASan, 4 runs in 30).
  const std::unique_ptr<Policy> policies_[3] = {MakePolicy(common::PolicyChoice::kPriority),
                                                MakePolicy(common::PolicyChoice::kWeighted),
                                                MakePolicy(common::PolicyChoice::kEdf)};
};

uint64_t SchedulerImpl::Evaluate() {
  std::lock_guard<std::mutex> lock(mu_);
  evaluations_.fetch_add(1);
  Board* board = board_.get();
  const uint64_t now = common::MonotonicRawNs();
  const uint64_t elapsed = last_eval_ns_ != 0 && now > last_eval_ns_ ? now - last_eval_ns_ : 0;
  last_eval_ns_ = now;
  uint64_t next = now + std::max<uint64_t>(lease_ns_ / 4, 1'000'000);
  Store(board->proc(proc_slot_)->heartbeat_ns, now);
  bool draining = false;  // a suspended queue of ours still has work on the GPU

  // Our entries: runnable work (a queue blocked on a barrier must not hold others), counters,
  // service received since the last evaluation.
  for (LocalQueue* lq : queues_) {
    xq::XQueue* q = lq->queue.load();
    BoardQueue* e = lq->entry.load();
    if (q == nullptr || e == nullptr) continue;
    const xq::XQueueStats st = q->stats();
    Store(e->held, st.held);
    Store(e->in_flight, st.in_flight);
    Store(e->submitted, st.submitted);
    Store(e->lever, static_cast<uint32_t>(q->lever_kind()));
    const bool busy = lq->busy.load();
    const bool runnable = busy && q->HasRunnableWork();
    lq->blocked = busy && !runnable;
    if (lq->blocked) next = std::min(next, now + kBlockedPollNs);
    const uint32_t had = Load(e->has_work);
    if (had != (runnable ? 1u : 0u)) {
      if (runnable) Store(e->busy_since_ns, now);
      Store(e->has_work, runnable ? 1u : 0u);
      // Wake the other schedulers: work found here may suspend their queues, and a queue found
      // idle may release them (a bump alone would wait for their next timer, up to lease/4).
      board->BumpAndWake();
    }
    if (had && lq->on_gpu) Store(e->service_ns, Load(e->service_ns) + elapsed);
    // A suspended queue still uses the GPU while its in-flight packets drain (Level-1), but not
    // while a hardware lever holds them (Level-2 saved its waves): then it must not be charged.
    const bool still_running = st.in_flight > 0 && !st.lever_engaged;
    lq->on_gpu = !lq->applied_suspended || still_running;
    if (lq->applied_suspended && still_running) draining = true;
  }

  if (board->shared()) {
    board->CheckLiveness(now, lease_ns_, pid_, &counts_);
  } else {
    counts_.assign(kBoardMaxProcs, false);
    counts_[proc_slot_] = true;
  }

  views_.clear();
  owners_.clear();
  for (uint32_t i = 0; i < kBoardMaxQueues; ++i) {
    BoardQueue* e = board->queue(i);
    const uint64_t id = Load(e->id);
    if (id == 0) continue;
    const uint32_t ps = Load(e->proc_slot);
    if (ps >= kBoardMaxProcs || !counts_[ps]) continue;
    if (Load(board->proc(ps)->pid) != Load(e->owner_pid)) continue;  // stale entry
    QueueView v;
    v.id = id;
    v.pid = Load(e->owner_pid);
    v.priority = std::clamp<int>(Load(e->priority), 0, 99);
    v.weight = std::clamp<uint32_t>(Load(e->weight), 1, 1000);
    v.deadline_us = Load(e->deadline_us);
    v.has_work = Load(e->has_work) != 0;
    v.suspended = Load(e->suspended) != 0;
    v.busy_since_ns = Load(e->busy_since_ns);
    v.service_ns = Load(e->service_ns);
    LocalQueue* own = nullptr;
    if (v.pid == pid_) {
      for (LocalQueue* lq : queues_) {
        if (lq->slot == i && lq->id == id && lq->queue.load() != nullptr) own = lq;
      }
    }
    views_.push_back(v);
    owners_.push_back(own);
  }

  uint32_t policy_raw = Load(board->header()->policy);
  const auto choice = policy_raw <= 2 ? static_cast<common::PolicyChoice>(policy_raw)
                                      : common::PolicyChoice::kPriority;
  const Policy& policy = *policies_[static_cast<int>(choice)];

  // Weighted: a queue that just became busy starts level with the others, not with credit for
  // all the time it was idle.
  if (choice == common::PolicyChoice::kWeighted) {
    for (size_t i = 0; i < views_.size(); ++i) {
      LocalQueue* lq = owners_[i];
      if (lq == nullptr || !views_[i].has_work || lq->saw_work) continue;
      views_[i].service_ns = CatchUpService(views_, i);
      Store(lq->entry.load()->service_ns, views_[i].service_ns);
    }
  }

  // Weighted shares charge a suspended queue for its draining work: sample it finely until done.
  if (draining && choice == common::PolicyChoice::kWeighted) {
    next = std::min(next, now + kDrainPollNs);
  }
  policy.Decide(views_, now, &decision_);
  own_views_.clear();
  for (const QueueView& v : views_) {
    if (v.pid == pid_) own_views_.push_back(v);
  }
  if (decision_.reevaluate_at_ns != 0) next = std::min(next, decision_.reevaluate_at_ns);

  InheritPriority();

  bool changed = false;
  for (size_t i = 0; i < views_.size(); ++i) {
    LocalQueue* lq = owners_[i];
    if (lq == nullptr) continue;
    xq::XQueue* q = lq->queue.load();
    BoardQueue* e = lq->entry.load();
    const bool want = decision_.suspend[i];
    const bool work = views_[i].has_work;
    // A queue on a working hardware lever needs no in-flight bound: the lever preempts what is in
    // flight (CWSR). If the lever fails, lever_kind() becomes kNone and the bound comes back.
    const bool policy_throttle = i >= decision_.throttle.size() || decision_.throttle[i];
    const bool throttle =
        throttle_always_ || (policy_throttle && !IsHardwareLever(q->lever_kind()));
    if (throttle != lq->applied_throttle) {
      q->SetThrottled(throttle);
      lq->applied_throttle = throttle;
    }
    if (work && !lq->saw_work) {
      // Work that arrives while the queue runs is forwarded at once: no scheduling delay.
      if (lq->applied_suspended) {
        lq->latency_pending = true;
      } else {
        Store(e->latency_us, Load(e->latency_us) * 7 / 8);
      }
    }
    lq->saw_work = work;
    if (want && !lq->applied_suspended) {
      q->Suspend();
      lq->applied_suspended = true;
      lq->suspended_at_ns = common::MonotonicRawNs();  // after the lever engaged
      lq->on_gpu = q->stats().in_flight > 0 && !q->stats().lever_engaged;
      Store(e->suspended, 1u);
      Store(e->preemptions, Load(e->preemptions) + 1);
      changed = true;
    } else if (!want && lq->applied_suspended) {
      // Level-2 levers remap the whole device's runlist: keep a queue down for at least the
      // hysteresis before bringing it back.
      const uint64_t earliest = lq->suspended_at_ns + hysteresis_ns_;
      if (IsHardwareLever(q->lever_kind()) && now < earliest) {
        next = std::min(next, earliest);
      } else {
        q->Resume();
        lq->applied_suspended = false;
        lq->on_gpu = true;
        Store(e->suspended, 0u);
        changed = true;
      }
    }
    if (lq->latency_pending && work && !lq->applied_suspended) {
      const uint64_t since = views_[i].busy_since_ns;
      const uint64_t delay_us = now > since ? (now - since) / 1000 : 0;
      const uint64_t old = Load(e->latency_us);
      Store(e->latency_us, old == 0 ? delay_us : (old * 7 + delay_us) / 8);
      lq->latency_pending = false;
    }
    lq->wake_on_busy.store(policy.BusyMayPreempt(views_, views_[i].id),
                           std::memory_order_relaxed);
    lq->wake_self_on_busy.store(policy.BusyMayPreempt(own_views_, views_[i].id),
                                std::memory_order_relaxed);
  }
  if (changed) board->BumpAndWake();
  for (LocalQueue* lq : queues_) {
    if (lq->applied_suspended && board->shared()) next = std::min(next, now + kHeldLivenessPollNs);
  }
  return next;
}

}  // namespace

Scheduler* Scheduler::Instance() {
  static Scheduler* const instance = new SchedulerImpl();  // never destroyed
  return instance;
}

std::unique_ptr<InspectableScheduler> NewScheduler() { return std::make_unique<SchedulerImpl>(); }

}  // namespace hsapreempt::sched
