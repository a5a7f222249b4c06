// The board: create/attach, refusal of incompatible, corrupted and foreign boards, slots,
// liveness (dead processes, zombies, pid reuse), the futex wake and the robust mutex.
#include "sched/board.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/clock.h"
#include "tests/sched/test_util.h"
#include "tests/support/fork_child.h"

namespace hsapreempt::sched {
namespace {

using common::Status;
using testing::ScopedBoardName;

constexpr uid_t kNobody = 65534;

std::unique_ptr<Board> MustOpen(const std::string& name, bool create = true) {
  std::unique_ptr<Board> b;
  Status s = Board::OpenShared(name, create, &b);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return b;
}

// Runs `fn` in a child as the unprivileged user; returns its exit status (or -1).
int RunAsNobody(const std::function<int()>& fn) {
  pid_t pid = testsupport::ForkWithWatchdog();
  if (pid == 0) {
    if (setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(100);
    _exit(fn());
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(BoardTest, CreateThenAttachSharesOneSegment) {
  ScopedBoardName n;
  auto a = MustOpen(n.name());
  auto b = MustOpen(n.name(), /*create=*/false);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->shared());
  struct stat st;
  ASSERT_EQ(stat(n.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, geteuid());
  uint32_t slot = 0;
  ASSERT_TRUE(a->RegisterProcess(getpid(), &slot).ok());
  EXPECT_EQ(Load(b->proc(slot)->pid), getpid());
  uint32_t qslot = 0;
  uint64_t id = 0;
  ASSERT_TRUE(a->AddQueue(slot, getpid(), {77, 3, 500, 0}, &qslot, &id).ok());
  EXPECT_EQ(Load(b->queue(qslot)->id), id);
  EXPECT_EQ(Load(b->queue(qslot)->priority), 77);
  const uint32_t gen = b->generation();
  a->RemoveQueue(qslot, id);
  EXPECT_EQ(Load(b->queue(qslot)->id), 0u);
  EXPECT_NE(b->generation(), gen);
}

TEST(BoardTest, NamesAreValidatedAndMissingBoardsReported) {
  std::unique_ptr<Board> b;
  EXPECT_EQ(Board::OpenShared("../etc", true, &b).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Board::OpenShared("", true, &b).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Board::OpenShared(std::string(65, 'a'), true, &b).code(),
            Status::Code::kInvalidArgument);
  ScopedBoardName n;
  Status s = Board::OpenShared(n.name(), /*create=*/false, &b);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find("no board"), std::string::npos) << s.message();
}

TEST(BoardTest, IncompatibleVersionIsRefused) {
  ScopedBoardName n;
  auto a = MustOpen(n.name());
  a->header()->version = kBoardVersion + 1;
  std::unique_ptr<Board> b;
  Status s = Board::OpenShared(n.name(), true, &b);
  EXPECT_EQ(s.code(), Status::Code::kUnsupported);
  EXPECT_NE(s.message().find("incompatible"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("in-process"), std::string::npos) << s.message();
  EXPECT_EQ(b, nullptr);
}

TEST(BoardTest, CorruptedBoardsAreRefused) {
  ScopedBoardName n;
  {
    auto a = MustOpen(n.name());
    a->header()->magic = 0x1234;
  }
  std::unique_ptr<Board> b;
  Status s = Board::OpenShared(n.name(), true, &b);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("corrupted"), std::string::npos) << s.message();

  ScopedBoardName m;
  MustOpen(m.name());
  ASSERT_EQ(truncate(m.path().c_str(), static_cast<off_t>(BoardBytes() + 4096)), 0);
  s = Board::OpenShared(m.name(), true, &b);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("sizes"), std::string::npos) << s.message();
}

TEST(BoardTest, NeverInitialisedBoardIsRefusedWithoutHanging) {
  ScopedBoardName n;
  int fd = open(n.path().c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(BoardBytes())), 0);  // all zeros: no magic
  close(fd);
  auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Board> b;
  Status s = Board::OpenShared(n.name(), true, &b);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("initialising"), std::string::npos) << s.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(BoardTest, WrongModeAndSymlinksAreRefused) {
  ScopedBoardName n;
  MustOpen(n.name());
  ASSERT_EQ(chmod(n.path().c_str(), 0644), 0);
  std::unique_ptr<Board> b;
  Status s = Board::OpenShared(n.name(), true, &b);
  EXPECT_EQ(s.code(), Status::Code::kPermission);
  EXPECT_NE(s.message().find("mode 644"), std::string::npos) << s.message();

  ScopedBoardName target, link;
  MustOpen(target.name());
  ASSERT_EQ(symlink(target.path().c_str(), link.path().c_str()), 0);
  s = Board::OpenShared(link.name(), true, &b);
  EXPECT_EQ(s.code(), Status::Code::kPermission);
  EXPECT_NE(s.message().find("symlink"), std::string::npos) << s.message();
}

TEST(BoardTest, AnotherUserCannotOpenOrRemoveOurBoard) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run a child as another user";
  ScopedBoardName n;
  auto a = MustOpen(n.name());
  const std::string path = n.path();
  const int rc = RunAsNobody([&] {
    if (open(path.c_str(), O_RDWR) >= 0) return 1;
    if (errno != EACCES) return 2;
    if (open(path.c_str(), O_RDONLY) >= 0) return 3;
    if (unlink(path.c_str()) == 0) return 4;  // /dev/shm is sticky
    return 0;
  });
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(access(path.c_str(), F_OK), 0);
}

TEST(BoardTest, BoardPlantedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run a child as another user";
  ScopedBoardName n;
  const std::string path = n.path();  // our (root's) board path
  const int rc = RunAsNobody([&] {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return 1;
    if (ftruncate(fd, static_cast<off_t>(BoardBytes())) != 0) return 2;
    close(fd);
    return 0;
  });
  ASSERT_EQ(rc, 0);
  std::unique_ptr<Board> b;
  Status s = Board::OpenShared(n.name(), true, &b);
  EXPECT_EQ(s.code(), Status::Code::kPermission);
  EXPECT_NE(s.message().find("belongs to uid 65534"), std::string::npos) << s.message();
  EXPECT_EQ(b, nullptr);
}

TEST(BoardTest, DeadAndZombieProcessesAreReaped) {
  ScopedBoardName n;
  auto a = MustOpen(n.name());
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = testsupport::ForkWithWatchdog();
  if (child == 0) {
    std::unique_ptr<Board> b;
    if (!Board::OpenShared(n.name(), false, &b).ok()) _exit(1);
    uint32_t slot, qslot;
    uint64_t id;
    if (!b->RegisterProcess(getpid(), &slot).ok()) _exit(2);
    if (!b->AddQueue(slot, getpid(), {90, 1, 0, 0}, &qslot, &id).ok()) _exit(3);
    char c = 1;
    if (write(ready[1], &c, 1) != 1) _exit(4);
    pause();
    _exit(0);
  }
  close(ready[1]);  // a child that dies before writing gives EOF, not a hang
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1) << testsupport::ChildOutcome(child);
  std::vector<bool> counts;
  const uint64_t lease = 100'000'000;
  EXPECT_EQ(a->CheckLiveness(common::MonotonicRawNs(), lease, getpid(), &counts), 0);
  int live_queues = 0;
  for (uint32_t i = 0; i < kBoardMaxQueues; ++i) live_queues += Load(a->queue(i)->id) != 0;
  EXPECT_EQ(live_queues, 1);
  kill(child, SIGKILL);
  // Not waited for: a zombie still answers kill(pid, 0); its missed heartbeats expose it.
  EXPECT_TRUE(testing::WaitFor([&] {
    return a->CheckLiveness(common::MonotonicRawNs(), lease, getpid(), &counts) == 1;
  }));
  live_queues = 0;
  for (uint32_t i = 0; i < kBoardMaxQueues; ++i) live_queues += Load(a->queue(i)->id) != 0;
  EXPECT_EQ(live_queues, 0);
  waitpid(child, nullptr, 0);
  close(ready[0]);
}

TEST(BoardTest, ReusedPidIsNotMistakenForTheOldProcess) {
  ScopedBoardName n;
  auto a = MustOpen(n.name());
  uint32_t slot = 0;
  ASSERT_TRUE(a->RegisterProcess(getppid(), &slot).ok());  // a live pid...
  a->proc(slot)->start_time += 12345;                       // ...but another start time
  Store(a->proc(slot)->heartbeat_ns, uint64_t{1});
  std::vector<bool> counts;
  EXPECT_EQ(a->CheckLiveness(common::MonotonicRawNs(), 100'000'000, getpid(), &counts), 1);
  EXPECT_EQ(Load(a->proc(slot)->pid), 0);
}

TEST(BoardTest, SilentProcessStopsCountingAfterTheLease) {
  ScopedBoardName n;
  auto a = MustOpen(n.name());
  uint32_t slot = 0;
  ASSERT_TRUE(a->RegisterProcess(getppid(), &slot).ok());
  std::vector<bool> counts;
  a->CheckLiveness(common::MonotonicRawNs(), 100'000'000, getpid(), &counts);
  EXPECT_TRUE(counts[slot]);
  Store(a->proc(slot)->heartbeat_ns, common::MonotonicRawNs() - 200'000'000);
  a->CheckLiveness(common::MonotonicRawNs(), 100'000'000, getpid(), &counts);
  EXPECT_FALSE(counts[slot]);                       // alive (same start time), not counted
  EXPECT_EQ(Load(a->proc(slot)->pid), getppid());   // and not reaped
}

TEST(BoardTest, WakeOthersSkipsTheNamedProcessOnly) {
  ScopedBoardName n;
  auto b = MustOpen(n.name());
  const uint32_t gen = b->generation();
  using Clock = std::chrono::steady_clock;
  // Slot 3 stands for "us", slot 5 for another process; neither sees the generation change.
  Clock::duration self_waited{}, other_waited{};
  std::atomic<bool> other_done{false};
  std::thread self([&] {
    auto t0 = Clock::now();
    b->Wait(gen, 600'000'000, 3);
    self_waited = Clock::now() - t0;
  });
  std::thread other([&] {
    auto t0 = Clock::now();
    b->Wait(gen, 5'000'000'000, 5);
    other_waited = Clock::now() - t0;
    other_done = true;
  });
  ASSERT_TRUE(testing::WaitFor([&] { return Load(b->header()->waiters) == 2; }));
  // A waiter counted but not yet inside FUTEX_WAIT_BITSET misses a wake (on a loaded machine
  // that window lasted > 20 ms once), so wake until the other slot's waiter is out. Every one of
  // these wakes names slot 3, so ours must still sleep to its timeout.
  testing::WaitFor([&] {
    if (other_done) return true;
    b->WakeOthers(3);
    return false;
  });
  other.join();
  self.join();
  EXPECT_LT(other_waited, std::chrono::seconds(2)) << "the other process's scheduler was woken";
  EXPECT_GE(self_waited, std::chrono::milliseconds(500)) << "ours slept until its timeout";
  // A plain Wake reaches every slot, and a waiter of any slot is reached by it.
  Clock::duration waited{};
  std::atomic<bool> any_done{false};
  std::thread any([&] {
    auto t0 = Clock::now();
    b->Wait(gen, 5'000'000'000, 3);
    waited = Clock::now() - t0;
    any_done = true;
  });
  ASSERT_TRUE(testing::WaitFor([&] { return Load(b->header()->waiters) == 1; }));
  testing::WaitFor([&] {  // again until it is out
    if (any_done) return true;
    b->Wake();
    return false;
  });
  any.join();
  EXPECT_LT(waited, std::chrono::seconds(2));
}

TEST(BoardTest, WaitReturnsOnWakeFromAnotherProcess) {
  ScopedBoardName n;
  auto a = MustOpen(n.name());
  const uint32_t gen = a->generation();
  pid_t child = testsupport::ForkWithWatchdog();
  if (child == 0) {
    std::unique_ptr<Board> b;
    if (!Board::OpenShared(n.name(), false, &b).ok()) _exit(1);
    usleep(50000);
    b->BumpAndWake();
    _exit(0);
  }
  auto t0 = std::chrono::steady_clock::now();
  a->Wait(gen, 5'000'000'000);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_NE(a->generation(), gen);
  waitpid(child, nullptr, 0);
}

TEST(BoardTest, MutexHeldByADeadProcessIsRecovered) {
  ScopedBoardName n;
  auto a = MustOpen(n.name());
  pid_t child = testsupport::ForkWithWatchdog();
  if (child == 0) {
    std::unique_ptr<Board> b;
    if (!Board::OpenShared(n.name(), false, &b).ok()) _exit(1);
    pthread_mutex_lock(&b->header()->mutex);
    _exit(0);  // dies holding the lock
  }
  waitpid(child, nullptr, 0);
  uint32_t slot = 0;
  Status s = a->RegisterProcess(getpid(), &slot);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(BoardTest, ExplicitPolicyChoiceWinsOverDefaults) {
  ScopedBoardName n;
  auto a = MustOpen(n.name());
  a->SetPolicy(2, /*explicit_choice=*/false);
  EXPECT_EQ(a->policy(), 2u);
  a->SetPolicy(1, /*explicit_choice=*/true);
  EXPECT_EQ(a->policy(), 1u);
  a->SetPolicy(0, /*explicit_choice=*/true);  // the first explicit choice stays
  a->SetPolicy(0, /*explicit_choice=*/false);
  EXPECT_EQ(a->policy(), 1u);
}

}  // namespace
}  // namespace hsapreempt::sched
