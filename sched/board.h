// The board: the state every scheduler of one user on one GPU shares (layout in board_layout.h).
//
// A shared board is the segment /dev/shm/hsapreempt-board-<euid>-<name>, created O_EXCL with mode
// 0600 by whichever process comes first; nobody deletes it (it is small and stateless once its
// processes are gone: dead entries are reaped by the next evaluation). Attaching verifies, in
// order: the file is ours (st_uid == geteuid(), not a symlink), its mode is 0600, its size, magic,
// layout version and table sizes match this build. Any mismatch is refused with a one-line
// Status naming the file and what is wrong; the caller then schedules in-process only. Nothing
// here crashes or blocks indefinitely on a corrupted board (the mutex is taken with a timeout).
//
// A private board has the same layout in this process's memory: in-process scheduling runs the
// exact same code.
//
// Liveness: a process entry counts while its pid exists (kill(pid, 0)), its heartbeat is younger
// than the lease (schedulers beat every lease/4) and, once a heartbeat is late, while
// /proc/<pid>/stat shows the same start time and a live (not zombie) state.
// A process that fails these checks is reaped: its queue entries are freed at once.
#ifndef SCHED_BOARD_H_
#define SCHED_BOARD_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "sched/board_layout.h"

namespace hsapreempt::sched {

class Board {
 public:
  // Opens the board `name` ([A-Za-z0-9_.-]{1,64}); creates it if absent and `create`.
  static common::Status OpenShared(const std::string& name, bool create,
                                   std::unique_ptr<Board>* out);
  // A board in private memory, for in-process scheduling.
  static std::unique_ptr<Board> CreatePrivate();
  static std::string PathFor(const std::string& name);
  static bool ValidName(const std::string& name);

  ~Board();
  Board(const Board&) = delete;
  Board& operator=(const Board&) = delete;

  bool shared() const { return shared_; }
  const std::string& path() const { return path_; }

  BoardHeader* header() { return header_; }
  BoardProc* proc(uint32_t slot) { return &procs_[slot]; }
  BoardQueue* queue(uint32_t slot) { return &queues_[slot]; }

  // Slot management (under the board mutex). RegisterProcess reuses this pid's stale slot.
  common::Status RegisterProcess(pid_t pid, uint32_t* slot);
  void UnregisterProcess(uint32_t slot, pid_t pid);  // frees its queues too
  struct QueueInit {
    int priority = 50;
    uint32_t weight = 1;
    uint64_t deadline_us = 0;
    uint32_t lever = 0;
  };
  common::Status AddQueue(uint32_t proc_slot, pid_t pid, const QueueInit& init, uint32_t* slot,
                          uint64_t* id);
  void RemoveQueue(uint32_t slot, uint64_t id);

  // Policy: the board-wide setting. SetPolicy(explicit=false) only applies if nobody chose one.
  uint32_t policy() const { return Load(header_->policy); }
  void SetPolicy(uint32_t policy, bool explicit_choice);

  // Change notification. Bump() after any write others should see; Wake() only when some other
  // scheduler may have to act (cheap when nobody sleeps). WakeOthers(slot) wakes every scheduler
  // but the one of the process in `slot` (for a change only others must act on; waiters are
  // told apart by slot modulo 32, so a collision wakes one scheduler too many, never too few).
  uint32_t generation() const { return Load(header_->generation); }
  void Bump();
  void Wake() { WakeMask(~0u); }
  void WakeOthers(uint32_t proc_slot) { WakeMask(~WaitBit(proc_slot)); }
  void BumpAndWake() {
    Bump();
    Wake();
  }
  // Sleeps until the generation differs from `seen`, a wake that reaches `proc_slot` (kAnySlot:
  // every wake), or `timeout_ns`.
  static constexpr uint32_t kAnySlot = ~0u;
  void Wait(uint32_t seen, uint64_t timeout_ns, uint32_t proc_slot = kAnySlot);

  // Liveness of every process slot; reaps dead ones (never `self_pid`). `counts[i]` says whether
  // slot i's queues take part in decisions. Returns the number of processes reaped.
  int CheckLiveness(uint64_t now_ns, uint64_t lease_ns, pid_t self_pid, std::vector<bool>* counts);

 private:
  Board() = default;
  common::Status Lock();
  void Unlock();
  static uint32_t WaitBit(uint32_t proc_slot) {
    return proc_slot == kAnySlot ? ~0u : 1u << (proc_slot % 32);
  }
  void WakeMask(uint32_t mask);
  void ReapLocked(uint32_t slot, pid_t pid);
  void Initialise();

  bool shared_ = false;
  std::string path_;
  void* base_ = nullptr;
  size_t bytes_ = 0;
  BoardHeader* header_ = nullptr;
  BoardProc* procs_ = nullptr;
  BoardQueue* queues_ = nullptr;
};

// Start time of `pid` (field 22 of /proc/<pid>/stat) and its state letter; false if unreadable.
bool ReadProcessStart(pid_t pid, uint64_t* start_time, char* state);

}  // namespace hsapreempt::sched

#endif  // SCHED_BOARD_H_
