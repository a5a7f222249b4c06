// Layout of the simulated device's state: plain fixed-size tables, no pointers, so the same struct
// lives in the shared-memory segment (every process maps it at its own address) and, for unit
// tests, on the heap. Only the Engine (engine.h) reads or writes it, always under the device lock,
// except QueueEntry::runnable which is read lock-free. Changing anything here changes the layout:
// bump kLayoutVersion (segment.h) so old segments are refused instead of misread.
#ifndef SIMDEV_MODEL_STATE_H_
#define SIMDEV_MODEL_STATE_H_

#include <atomic>
#include <cstdint>

#include "hsapreempt/sim_device.h"

namespace simdev {

constexpr uint32_t kMaxQueues = 256;       // hardware queues on the device (all processes)
constexpr uint32_t kMaxDispatches = 8192;  // dispatches launched and not yet polled
constexpr uint32_t kMaxBatches = 8192;     // workgroup batches running, saving or saved
constexpr uint32_t kMaxSlots = 4096;       // cus * slots_per_cu
constexpr uint32_t kSlotWords = kMaxSlots / 64;
constexpr uint32_t kTraceCapacity = 1u << 16;  // events kept in the trace ring

struct SlotSet {
  uint64_t w[kSlotWords];
};

// The numbers the model needs; fixed when the segment is created (the device is shared, so the
// creator's parameters win; see Device::params()).
struct ModelConfig {
  uint32_t cus;
  uint32_t slots_per_cu;
  uint32_t engine_clock_mhz;
  uint32_t reserved;
  uint64_t runlist_update_ns;
  uint64_t cwsr_save_ns;
  uint64_t cwsr_restore_ns;
};

enum BatchState : uint32_t {
  kBatchFree = 0,
  kBatchRunning = 1,  // holds slots, ends at end_ns (or is saved at preempt_at if earlier)
  kBatchSaving = 2,   // CWSR save in progress: holds slots until end_ns, makes no progress
  kBatchSaved = 3,    // in its queue's saved list, no slots, remaining_ns left to run
};

struct QueueEntry {
  uint32_t in_use;
  uint32_t pid;
  uint64_t pid_start_time;  // /proc/<pid>/stat starttime, to survive pid reuse
  uint32_t kfd_queue_id;
  uint32_t priority;
  uint64_t ring_base;
  uint64_t ring_bytes;
  uint32_t active;     // UPDATE_QUEUE percent > 0
  uint32_t suspended;  // DBG_TRAP suspend
  uint32_t full_mask;  // CU mask allows every slot (fast path)
  uint32_t cus_enabled;
  std::atomic<uint32_t> runnable;  // active && !suspended; read lock-free by the CP
  uint32_t dense_pos;              // index in DeviceState::queue_dense
  uint64_t exception_status;       // KFD_EC_MASK bits
  int32_t fifo_head;               // dispatches with unstarted workgroups, launch order
  int32_t fifo_tail;
  int32_t saved_head;              // saved batches waiting to be restored
  uint32_t saved_wgs;              // workgroups in saving or saved batches
  uint32_t running_wgs;            // workgroups in running batches
  uint32_t started_unended;        // dispatches with some workgroups started, not all ended
  uint64_t last_end_ns;            // latest end of one of its dispatches (barrier-bit gate)
  SlotSet allowed;                 // slots the CU mask allows
};

struct DispatchEntry {
  uint32_t in_use;
  uint32_t seq;  // handle = seq << 32 | (index + 1)
  int32_t queue;
  int32_t next;  // FIFO link while it has unstarted workgroups; free-list link when free
  uint32_t pending_wgs;      // not started yet
  uint32_t outstanding_wgs;  // started, not ended (running, saving or saved)
  uint32_t started;
  uint32_t ended;
  uint32_t barrier;   // AQL barrier bit: starts only after every earlier dispatch ended + gap_ns
  uint32_t cp_only;   // a packet the CP completes itself (barrier-AND/OR): no workgroups
  uint64_t ready_ns;  // earliest start (when the CP has processed the packet)
  uint64_t gap_ns;    // barrier: CP time from the last end to this start
  uint64_t workgroup_ns;
  uint64_t packet_index;
  uint64_t start_ns;
  uint64_t end_ns;
};

struct BatchEntry {
  uint32_t state;  // BatchState
  int32_t dispatch;
  int32_t queue;
  uint32_t wgs;
  int32_t next;        // saved-list or free-list link
  uint32_t active_pos; // index in DeviceState::active_batches while running or saving
  uint64_t end_ns;     // running: end of its workgroups; saving: save done
  uint64_t preempt_at; // running: time its workgroups are saved (UINT64_MAX: not preempted)
  uint64_t remaining_ns;  // saving/saved: modelled time left
  uint32_t lo_word;    // slots held: words [lo_word, hi_word] of `slots`
  uint32_t hi_word;
  SlotSet slots;
};

struct DeviceState {
  ModelConfig config;
  uint64_t now;           // model time: every event up to here has been replayed
  uint64_t paused_until;  // runlist update in progress: nothing starts before this
  uint64_t last_reap_ns;
  uint32_t total_slots;
  uint32_t free_count;
  SlotSet free;
  uint32_t queue_count;
  uint32_t rr_cursor;  // round-robin position in queue_dense
  int32_t queue_dense[kMaxQueues];
  uint32_t active_count;
  int32_t batch_free_head;
  int32_t active_batches[kMaxBatches];  // running or saving batches
  int32_t dispatch_free_head;
  uint32_t dispatch_seq;
  // Entries at or above these marks have never been used (implicitly free): the tables are only
  // touched as they are needed, so an idle device costs little shared memory.
  uint32_t batch_hwm;
  uint32_t dispatch_hwm;
  QueueEntry queues[kMaxQueues];
  DispatchEntry dispatches[kMaxDispatches];
  BatchEntry batches[kMaxBatches];
  uint64_t trace_seq;  // events ever written; event i is at trace[i % kTraceCapacity]
  hsapreempt_sim_event trace[kTraceCapacity];
};

}  // namespace simdev

#endif  // SIMDEV_MODEL_STATE_H_
