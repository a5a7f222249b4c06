// The binary layout of the cross-process board (a shared-memory segment, see board.h). Shared by
// every process of one user on one GPU, possibly built from different versions of the library:
// any change to these structs must bump kBoardVersion (an attaching process refuses a board whose
// magic, version or sizes differ, and falls back to in-process scheduling).
//
// Concurrency: fields are plain integers accessed only with __atomic builtins (Load/Store below).
// Slot allocation and release (processes, queues) happen under the robust process-shared mutex;
// every other field is a lock-free single-word update by its owner (or by `hsapreempt set` for
// attributes), and readers take snapshots word by word (a policy tolerates a torn snapshot: the
// writer bumps `generation` after each change, so readers re-evaluate).
#ifndef SCHED_BOARD_LAYOUT_H_
#define SCHED_BOARD_LAYOUT_H_

#include <pthread.h>

#include <cstdint>
#include <type_traits>

namespace hsapreempt::sched {

constexpr uint64_t kBoardMagic = 0x4452414f42505348ull;  // "HSPBOARD"
constexpr uint32_t kBoardVersion = 1;
constexpr uint32_t kBoardMaxProcs = 64;
constexpr uint32_t kBoardMaxQueues = 256;

struct BoardHeader {
  uint64_t magic;          // written last by the creator (release): 0 while initialising
  uint32_t version;
  uint32_t header_bytes;   // sizeof(BoardHeader)
  uint64_t total_bytes;    // whole segment
  uint32_t max_procs;
  uint32_t max_queues;
  uint32_t proc_bytes;     // sizeof(BoardProc)
  uint32_t queue_bytes;    // sizeof(BoardQueue)
  uint32_t generation;     // futex word (shared, bitset waits: bit = process slot mod 32)
  uint32_t waiters;        // scheduler threads sleeping on `generation`
  uint32_t policy;         // common::PolicyChoice
  uint32_t policy_set;     // 1: chosen explicitly (CLI or HSAPREEMPT_POLICY); first one wins
  uint64_t next_queue_id;  // board-unique queue ids (under the mutex)
  uint64_t created_ns;
  pthread_mutex_t mutex;   // robust, process-shared
  uint8_t reserved[64];
};

struct BoardProc {
  int32_t pid;             // 0: free slot
  uint32_t uid;
  uint64_t start_time;     // /proc/<pid>/stat field 22 (clock ticks since boot): tells pid reuse
  uint64_t heartbeat_ns;   // last time its scheduler thread ran (monotonic raw)
  char comm[16];
  uint8_t reserved[24];
};

struct BoardQueue {
  uint64_t id;             // 0: free slot
  int32_t owner_pid;
  uint32_t proc_slot;
  int32_t priority;        // attributes: written by the owner or by `hsapreempt set`
  uint32_t weight;
  uint64_t deadline_us;
  uint32_t attr_seq;       // bumped on every attribute change
  uint32_t has_work;       // set by OnBusy (application thread), cleared by OnIdle / evaluation
  uint64_t busy_since_ns;
  uint32_t suspended;      // as applied by the owner
  uint32_t lever;          // levels::LeverKind of the queue
  uint64_t service_ns;     // run time with work while not suspended (weighted policy)
  uint64_t held;           // counters for `hsapreempt top`, refreshed by the owner
  uint64_t in_flight;
  uint64_t submitted;
  uint64_t preemptions;
  uint64_t latency_us;     // recent scheduling delay: work arrived -> allowed to run (EWMA)
  uint8_t reserved[32];
};

static_assert(std::is_trivially_copyable<BoardHeader>::value, "shared layout");
static_assert(sizeof(BoardProc) == 64, "layout change: bump kBoardVersion");
static_assert(sizeof(BoardQueue) == 136, "layout change: bump kBoardVersion");

constexpr uint64_t BoardBytes() {
  return sizeof(BoardHeader) + uint64_t{kBoardMaxProcs} * sizeof(BoardProc) +
         uint64_t{kBoardMaxQueues} * sizeof(BoardQueue);
}

template <typename T>
inline T Load(const T& field) {
  return __atomic_load_n(&field, __ATOMIC_ACQUIRE);
}
template <typename T>
inline void Store(T& field, T value) {
  __atomic_store_n(&field, value, __ATOMIC_RELEASE);
}

}  // namespace hsapreempt::sched

#endif  // SCHED_BOARD_LAYOUT_H_
