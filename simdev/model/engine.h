// The execution model of the simulated device as a plain class over a DeviceState (state.h), with
// explicit times, so it can be unit-tested without shared memory, clocks or sleeping. Device
// (device.cpp) wraps it with the shared segment, the lock and change notification.
//
// Semantics (docs/ARCHITECTURE.md, "The simulated device", and docs/simdev.md):
// - AdvanceTo(t) replays every event up to t at its exact modelled time: batch ends, CWSR saves
//   completing, the end of a runlist update; after each, free slots are refilled in rounds: each
//   runnable queue with work gets at most one batch per round and the free slots (within each
//   queue's CU mask) are dealt evenly among them; each queue's dispatches start in launch order.
// - Every runlist change (queue create/destroy, active, suspend, CU mask, priority) pauses every
//   running batch for runlist_update_ns and starts nothing until the update ends. Batches of a
//   queue that stops being runnable (or whose CU mask changes) are saved: running until
//   now + grace, then saving for cwsr_save_ns (slots held), then saved with their remaining time;
//   when the queue runs again they restart with cwsr_restore_ns added.
// - A dispatch starts no earlier than the `not_before` it was launched with (the model is not
//   advanced to it: the start is an event at that time) and after every earlier dispatch of its
//   queue started (launch order). A barrier-bit dispatch also waits until every earlier dispatch
//   of its queue has ended, and starts barrier_gap_ns after the last end. A cp_only entry (a
//   packet the CP completes itself) follows the same rules, takes no slot and ends as it starts.
// - Times passed in are clamped to the model time (the model never goes back).
//
// Not thread-safe: the caller holds the device lock.
#ifndef SIMDEV_MODEL_ENGINE_H_
#define SIMDEV_MODEL_ENGINE_H_

#include <cstddef>
#include <cstdint>

#include "simdev/model/device.h"
#include "simdev/model/state.h"

namespace simdev {

class Engine {
 public:
  explicit Engine(DeviceState* state) : s_(state) {}

  // Resets `state` to an empty device (queues, dispatches, batches, trace).
  static void Init(DeviceState* state, const ModelConfig& config);

  void AdvanceTo(uint64_t t);

  int AddQueue(uint32_t pid, uint64_t pid_start_time, uint32_t kfd_queue_id, uint64_t ring_base,
               uint64_t ring_bytes, uint32_t priority, uint64_t now);
  void RemoveQueue(int slot, uint64_t now);
  uint64_t Launch(int slot, const KernelWork& work, uint64_t not_before);
  bool Poll(uint64_t handle, uint64_t now, DispatchTimes* times);
  uint64_t NextEventTime(uint64_t now);

  int SetActive(int slot, bool active, uint64_t now);
  int SetSuspended(const int* slots, int count, bool suspended, uint64_t grace_ns, uint64_t now);
  int SetCuMask(int slot, const uint32_t* mask, uint32_t mask_bits, uint64_t now);
  int SetPriority(int slot, uint32_t priority, uint64_t now);

  bool GetQueueInfo(int slot, DeviceQueueInfo* info) const;
  int FindQueue(uint32_t pid, uint32_t kfd_queue_id) const;
  void ClearExceptions(int slot, uint64_t mask);
  bool ValidSlot(int slot) const;

  void Trace(uint32_t kind, int slot, uint64_t dispatch, uint64_t value, uint64_t time_ns);
  size_t TraceRead(uint64_t* cursor, hsapreempt_sim_event* out, size_t max) const;

  // Rebuilds derived data (free slots, counters, lists) from the batch and queue tables after a
  // process died holding the lock mid-update. Drops anything inconsistent.
  void Repair();

  // True if anything observable changed since the last call (for change notification).
  bool TakeChanged() {
    bool c = changed_;
    changed_ = false;
    return c;
  }

 private:
  uint64_t EarliestEvent() const;
  uint64_t HeadReadyAt(const QueueEntry& q) const;
  void ProcessEventsAt(uint64_t t);
  void Refill(uint64_t t);
  bool RefillRound(uint64_t t);
  bool StartCpOnlyHeads(uint64_t t);
  void PopFifoHead(QueueEntry* q);
  uint32_t AvailableFor(const QueueEntry& q) const;
  int NewBatch();
  void FreeBatch(int b);
  void Activate(int b);
  void Deactivate(int b);
  uint32_t TakeSlots(const QueueEntry& q, uint32_t n, BatchEntry* b);
  void ReleaseSlots(BatchEntry* b);
  void FinishBatch(int b);
  void RunlistChange(uint64_t t, const bool* preempting, uint64_t grace_ns);
  void Preempt(int q, uint64_t at);
  void UpdateRunnable(int q);
  void FreeDispatch(int d);

  DeviceState* s_;
  bool changed_ = false;
};

}  // namespace simdev

#endif  // SIMDEV_MODEL_ENGINE_H_
