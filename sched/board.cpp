// The board: creation, validation, slots, futex notification, liveness (contract in board.h).
#include "sched/board.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/clock.h"
#include "common/config.h"

namespace hsapreempt::sched {
namespace {

using common::Status;

constexpr uint64_t kLockTimeoutNs = 1'000'000'000;
constexpr int kInitRetries = 100;  // x 2 ms: how long we wait for a creator to finish initialising

timespec AbsRealtimeIn(uint64_t ns) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ns += static_cast<uint64_t>(ts.tv_nsec);
  ts.tv_sec += static_cast<time_t>(ns / 1000000000ull);
  ts.tv_nsec = static_cast<long>(ns % 1000000000ull);
  return ts;
}

void SleepMs(int ms) {
  timespec ts{0, ms * 1000000L};
  nanosleep(&ts, nullptr);
}

}  // namespace

bool Board::ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) {
      return false;
    }
  }
  return true;
}

std::string Board::PathFor(const std::string& name) {
  return "/dev/shm/hsapreempt-board-" + std::to_string(geteuid()) + "-" + name;
}

Board::~Board() {
  if (base_ == nullptr) return;
  munmap(base_, bytes_);
}

void Board::Initialise() {
  std::memset(base_, 0, bytes_);
  header_->version = kBoardVersion;
  header_->header_bytes = sizeof(BoardHeader);
  header_->total_bytes = BoardBytes();
  header_->max_procs = kBoardMaxProcs;
  header_->max_queues = kBoardMaxQueues;
  header_->proc_bytes = sizeof(BoardProc);
  header_->queue_bytes = sizeof(BoardQueue);
  header_->policy = static_cast<uint32_t>(common::PolicyChoice::kPriority);
  header_->next_queue_id = 1;
  header_->created_ns = common::MonotonicRawNs();
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&header_->mutex, &attr);
  pthread_mutexattr_destroy(&attr);
  Store(header_->magic, kBoardMagic);  // last: attachers wait for it
}

std::unique_ptr<Board> Board::CreatePrivate() {
  std::unique_ptr<Board> b(new Board());
  b->bytes_ = BoardBytes();
  b->base_ = mmap(nullptr, b->bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (b->base_ == MAP_FAILED) {
    b->base_ = nullptr;
    return nullptr;
  }
  b->header_ = static_cast<BoardHeader*>(b->base_);
  b->procs_ = reinterpret_cast<BoardProc*>(static_cast<char*>(b->base_) + sizeof(BoardHeader));
  b->queues_ = reinterpret_cast<BoardQueue*>(b->procs_ + kBoardMaxProcs);
  b->path_ = "(in-process)";
  b->Initialise();
  return b;
}

Status Board::OpenShared(const std::string& name, bool create, std::unique_ptr<Board>* out) {
  if (!ValidName(name)) {
    return Status::Error(Status::Code::kInvalidArgument,
                         "board name '" + name + "' is not 1-64 characters of [A-Za-z0-9_.-]");
  }
  const std::string path = PathFor(name);
  const std::string refuse = "board " + path + ": ";
  const std::string fallback = "; refusing it (in-process scheduling only)";
  for (int attempt = 0; attempt < kInitRetries; ++attempt) {
    bool created = false;
    int fd = -1;
    if (create) {
      fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd >= 0) {
        created = true;
      } else if (errno != EEXIST) {
        return Status::FromErrno(errno, refuse + "cannot create");
      }
    }
    if (fd < 0) {
      fd = open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        int err = errno;
        if (err == ENOENT && !create) {
          return Status::Error(Status::Code::kNotFound,
                               "no board " + path + " (no program has run under hsapreempt with "
                               "this board name)", err);
        }
        if (err == ENOENT) continue;  // removed between our two opens
        if (err == ELOOP) {
          return Status::Error(Status::Code::kPermission, refuse + "is a symlink" + fallback, err);
        }
        if (err == EACCES || err == EPERM) {
          return Status::Error(Status::Code::kPermission,
                               refuse + "not accessible (another user's?)" + fallback, err);
        }
        return Status::FromErrno(err, refuse + "cannot open");
      }
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int err = errno;
      close(fd);
      return Status::FromErrno(err, refuse + "cannot stat");
    }
    if (created) {
      if (fchmod(fd, 0600) != 0 || ftruncate(fd, static_cast<off_t>(BoardBytes())) != 0) {
        int err = errno;
        close(fd);
        unlink(path.c_str());
        return Status::FromErrno(err, refuse + "cannot size");
      }
      st.st_size = static_cast<off_t>(BoardBytes());
    } else {
      if (st.st_uid != geteuid()) {
        close(fd);
        return Status::Error(Status::Code::kPermission,
                             refuse + "belongs to uid " + std::to_string(st.st_uid) +
                                 ", not to us (uid " + std::to_string(geteuid()) + ")" + fallback);
      }
      if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0600) {
        close(fd);
        char mode[16];
        std::snprintf(mode, sizeof(mode), "%o", static_cast<unsigned>(st.st_mode & 07777));
        return Status::Error(Status::Code::kPermission,
                             refuse + "has mode " + mode + ", expected a regular file with mode "
                                 "600" + fallback);
      }
      if (st.st_size < static_cast<off_t>(sizeof(BoardHeader))) {
        close(fd);
        SleepMs(2);  // a creator may be between open and ftruncate
        continue;
      }
    }
    const size_t bytes = static_cast<size_t>(st.st_size);
    void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int map_err = errno;
    close(fd);
    if (base == MAP_FAILED) return Status::FromErrno(map_err, refuse + "cannot map");
    std::unique_ptr<Board> b(new Board());
    b->shared_ = true;
    b->path_ = path;
    b->base_ = base;
    b->bytes_ = bytes;
    b->header_ = static_cast<BoardHeader*>(base);
    b->procs_ = reinterpret_cast<BoardProc*>(static_cast<char*>(base) + sizeof(BoardHeader));
    b->queues_ = reinterpret_cast<BoardQueue*>(b->procs_ + kBoardMaxProcs);
    if (created) {
      b->Initialise();
      *out = std::move(b);
      return Status::Ok();
    }
    const BoardHeader* h = b->header_;
    const uint64_t magic = Load(h->magic);
    if (magic == 0) {
      SleepMs(2);  // still being initialised
      continue;
    }
    if (magic != kBoardMagic) {
      return Status::Error(Status::Code::kInvalidArgument,
                           refuse + "corrupted (bad magic)" + fallback);
    }
    if (h->version != kBoardVersion) {
      return Status::Error(Status::Code::kUnsupported,
                           refuse + "layout version " + std::to_string(h->version) +
                               " is incompatible with this build's " +
                               std::to_string(kBoardVersion) + fallback);
    }
    if (h->header_bytes != sizeof(BoardHeader) || h->total_bytes != BoardBytes() ||
        bytes != BoardBytes() || h->max_procs != kBoardMaxProcs ||
        h->max_queues != kBoardMaxQueues || h->proc_bytes != sizeof(BoardProc) ||
        h->queue_bytes != sizeof(BoardQueue)) {
      return Status::Error(Status::Code::kInvalidArgument,
                           refuse + "corrupted (sizes do not match layout version " +
                               std::to_string(kBoardVersion) + ")" + fallback);
    }
    *out = std::move(b);
    return Status::Ok();
  }
  return Status::Error(Status::Code::kBusy,
                       refuse + "never finished initialising (corrupted?)" + fallback);
}

Status Board::Lock() {
  timespec deadline = AbsRealtimeIn(kLockTimeoutNs);
  int rc = pthread_mutex_timedlock(&header_->mutex, &deadline);
  if (rc == EOWNERDEAD) {
    // The holder died mid-update: slot tables are only ever written with single-word stores
    // under the lock, so they stay usable; the dead owner's entries are reaped by liveness.
    pthread_mutex_consistent(&header_->mutex);
    return Status::Ok();
  }
  if (rc == 0) return Status::Ok();
  return Status::FromErrno(rc, "board " + path_ + ": lock");
}

void Board::Unlock() { pthread_mutex_unlock(&header_->mutex); }

Status Board::RegisterProcess(pid_t pid, uint32_t* slot) {
  Status s = Lock();
  if (!s.ok()) return s;
  uint32_t found = kBoardMaxProcs;
  for (uint32_t i = 0; i < kBoardMaxProcs; ++i) {
    pid_t p = Load(procs_[i].pid);
    if (p == pid) ReapLocked(i, p);  // a previous life of this pid (or of this process)
    if (Load(procs_[i].pid) == 0 && found == kBoardMaxProcs) found = i;
  }
  if (found == kBoardMaxProcs) {
    Unlock();
    return Status::Error(Status::Code::kBusy, "board " + path_ + ": process table full (" +
                                                  std::to_string(kBoardMaxProcs) + ")");
  }
  BoardProc& e = procs_[found];
  uint64_t start = 0;
  char state = 0;
  ReadProcessStart(pid, &start, &state);
  e.uid = static_cast<uint32_t>(geteuid());
  e.start_time = start;
  Store(e.heartbeat_ns, common::MonotonicRawNs());
  std::memset(e.comm, 0, sizeof(e.comm));
  if (FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/comm").c_str(), "r")) {
    if (std::fgets(e.comm, sizeof(e.comm), f)) e.comm[std::strcspn(e.comm, "\n")] = '\0';
    std::fclose(f);
  }
  Store(e.pid, static_cast<int32_t>(pid));
  Unlock();
  *slot = found;
  BumpAndWake();
  return Status::Ok();
}

void Board::ReapLocked(uint32_t slot, pid_t pid) {
  for (uint32_t q = 0; q < kBoardMaxQueues; ++q) {
    if (Load(queues_[q].id) != 0 && Load(queues_[q].owner_pid) == pid &&
        Load(queues_[q].proc_slot) == slot) {
      Store(queues_[q].has_work, 0u);
      Store(queues_[q].id, uint64_t{0});
    }
  }
  if (Load(procs_[slot].pid) == pid) Store(procs_[slot].pid, 0);
}

void Board::UnregisterProcess(uint32_t slot, pid_t pid) {
  if (slot >= kBoardMaxProcs) return;
  if (!Lock().ok()) return;
  ReapLocked(slot, pid);
  Unlock();
  BumpAndWake();
}

Status Board::AddQueue(uint32_t proc_slot, pid_t pid, const QueueInit& init, uint32_t* slot,
                       uint64_t* id) {
  Status s = Lock();
  if (!s.ok()) return s;
  for (uint32_t i = 0; i < kBoardMaxQueues; ++i) {
    BoardQueue& q = queues_[i];
    if (Load(q.id) != 0) continue;
    const uint64_t new_id = header_->next_queue_id++;
    Store(q.owner_pid, static_cast<int32_t>(pid));
    Store(q.proc_slot, proc_slot);
    Store(q.priority, static_cast<int32_t>(init.priority));
    Store(q.weight, init.weight);
    Store(q.deadline_us, init.deadline_us);
    Store(q.attr_seq, 0u);
    Store(q.has_work, 0u);
    Store(q.busy_since_ns, uint64_t{0});
    Store(q.suspended, 0u);
    Store(q.lever, init.lever);
    Store(q.service_ns, uint64_t{0});
    Store(q.held, uint64_t{0});
    Store(q.in_flight, uint64_t{0});
    Store(q.submitted, uint64_t{0});
    Store(q.preemptions, uint64_t{0});
    Store(q.latency_us, uint64_t{0});
    Store(q.id, new_id);  // last: readers see a complete entry
    Unlock();
    *slot = i;
    *id = new_id;
    BumpAndWake();
    return Status::Ok();
  }
  Unlock();
  return Status::Error(Status::Code::kBusy, "board " + path_ + ": queue table full (" +
                                                std::to_string(kBoardMaxQueues) + ")");
}

void Board::RemoveQueue(uint32_t slot, uint64_t id) {
  if (slot >= kBoardMaxQueues || !Lock().ok()) return;
  if (Load(queues_[slot].id) == id) {
    Store(queues_[slot].has_work, 0u);
    Store(queues_[slot].id, uint64_t{0});
  }
  Unlock();
  BumpAndWake();
}

void Board::SetPolicy(uint32_t policy, bool explicit_choice) {
  if (explicit_choice) {
    uint32_t expected = 0;
    // First explicit choice wins over the default; later explicit choices (the CLI) use Store.
    if (!__atomic_compare_exchange_n(&header_->policy_set, &expected, 1u, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST)) {
      return;
    }
  } else if (Load(header_->policy_set) != 0) {
    return;
  }
  Store(header_->policy, policy);
  BumpAndWake();
}

void Board::Bump() { __atomic_add_fetch(&header_->generation, 1u, __ATOMIC_SEQ_CST); }

void Board::WakeMask(uint32_t mask) {
  // Pairs with the seq_cst increment of `waiters` in Wait(): either we see the sleeper, or its
  // FUTEX_WAIT_BITSET sees the new generation and does not sleep. Plain FUTEX_WAIT/FUTEX_WAKE
  // (an older library on the same board) match every bit, so both kinds wake each other.
  if (__atomic_load_n(&header_->waiters, __ATOMIC_SEQ_CST) == 0) return;
  syscall(SYS_futex, &header_->generation, FUTEX_WAKE_BITSET, INT_MAX, nullptr, nullptr, mask);
}

void Board::Wait(uint32_t seen, uint64_t timeout_ns, uint32_t proc_slot) {
  timeout_ns = std::min<uint64_t>(timeout_ns, 3600ull * 1000000000ull);  // no overflow below
  __atomic_add_fetch(&header_->waiters, 1u, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&header_->generation, __ATOMIC_SEQ_CST) == seen) {
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline.
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    const uint64_t at = static_cast<uint64_t>(now.tv_sec) * 1000000000ull +
                        static_cast<uint64_t>(now.tv_nsec) + timeout_ns;
    timespec deadline{static_cast<time_t>(at / 1000000000ull),
                      static_cast<long>(at % 1000000000ull)};
    // Shared (not PRIVATE) futex: wakers live in other processes.
    syscall(SYS_futex, &header_->generation, FUTEX_WAIT_BITSET, seen, &deadline, nullptr,
            WaitBit(proc_slot));
  }
  __atomic_sub_fetch(&header_->waiters, 1u, __ATOMIC_SEQ_CST);
}

int Board::CheckLiveness(uint64_t now_ns, uint64_t lease_ns, pid_t self_pid,
                         std::vector<bool>* counts) {
  counts->assign(kBoardMaxProcs, false);
  int reaped = 0;
  for (uint32_t i = 0; i < kBoardMaxProcs; ++i) {
    const pid_t pid = Load(procs_[i].pid);
    if (pid == 0) continue;
    if (pid == self_pid) {
      (*counts)[i] = true;
      continue;
    }
    bool dead = pid < 0 || (kill(pid, 0) != 0 && errno == ESRCH);
    const uint64_t beat = Load(procs_[i].heartbeat_ns);
    const uint64_t age = now_ns > beat ? now_ns - beat : 0;
    if (!dead && age > lease_ns / 4 + 10'000'000) {
      // A missed heartbeat (they come every lease/4): a zombie, or a reused pid? Costs one /proc
      // read, and only a dead or different process is reaped, so a late heartbeat is harmless.
      uint64_t start = 0;
      char state = 0;
      if (!ReadProcessStart(pid, &start, &state) || state == 'Z' || state == 'X' ||
          (procs_[i].start_time != 0 && start != procs_[i].start_time)) {
        dead = true;
      }
    }
    if (dead) {
      if (Lock().ok()) {
        ReapLocked(i, pid);
        Unlock();
        ++reaped;
      }
      continue;
    }
    (*counts)[i] = age <= lease_ns;  // alive but silent past the lease: stop counting it
  }
  if (reaped > 0) BumpAndWake();
  return reaped;
}

bool ReadProcessStart(pid_t pid, uint64_t* start_time, char* state) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  // comm may contain spaces and parentheses: fields resume after the last ')'.
  char* p = std::strrchr(buf, ')');
  if (p == nullptr || p[1] == '\0') return false;
  p += 2;
  *state = *p;
  // Field 3 is the state; the start time is field 22.
  int field = 3;
  while (*p && field < 22) {
    if (*p++ == ' ') ++field;
  }
  if (field != 22) return false;
  *start_time = std::strtoull(p, nullptr, 10);
  return true;
}

}  // namespace hsapreempt::sched
