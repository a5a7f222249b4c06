// The shared simulated device: one MI300-class GPU shared by every process on the machine that
// loads the simulated thunk with the same HSAPREEMPT_SIM_DEVICE name.
//
// State lives in a shared-memory segment guarded by a robust process-shared mutex; a futex
// "generation" word is bumped and woken on every change. The model is advanced lazily and
// exactly: any call that takes the lock first replays every event (workgroup batch ends, refills,
// runlist updates) up to `now` at its exact modelled time.
//
// Execution model: `slots = cus * slots_per_cu` CU slots. A dispatch has W workgroups of
// `workgroup_ns` each. When slots free, pending workgroups of runnable queues start, round-robin
// across queues (one batch per queue per refill); within a queue, dispatches start their
// workgroups in launch order. A batch started together ends together. A queue's CU mask limits the
// slots its workgroups may occupy.
//
// Queue control follows KFD on HWS (MI300): every runlist change (SetQueueActive,
// SetQueueSuspended, SetCuMask) pauses every in-flight batch on the device for runlist_update_ns;
// the in-flight workgroups of a queue that becomes inactive/suspended are saved (CWSR: remaining
// time kept, slots freed after cwsr_save_ns) and restored when it runs again (cwsr_restore_ns).
//
// Times: every `now` / `not_before` is device time (NowNs()); pass the current time. The model
// never goes back: an earlier time is treated as the model's current time. AddQueue/RemoveQueue
// are runlist changes too (HWS maps/unmaps), so they pause running work as the others do.
// Full semantics and parameters: docs/simdev.md; the model itself: engine.h.
//
// Thread-safety: every method may be called from any thread of any process; all take the device
// lock internally except QueueRunnable() and Generation(), which are lock-free reads. None blocks
// except WaitForChange().
#ifndef SIMDEV_MODEL_DEVICE_H_
#define SIMDEV_MODEL_DEVICE_H_

#include <cstdint>
#include <string>

#include "hsapreempt/sim_device.h"
#include "simdev/model/params.h"

namespace simdev {

struct KernelWork {
  uint32_t workgroups = 1;    // >= 1 (0 is treated as 1)
  uint64_t workgroup_ns = 0;  // 0: the dispatch ends as soon as it starts
  uint64_t packet_index = 0;  // AQL packet index in its queue; reported in the trace only
  uint64_t seen_ns = 0;       // when the CP first saw the packet valid; trace only (0: now)
  // AQL barrier bit: the dispatch starts only once every earlier dispatch of its queue has ended,
  // `barrier_gap_ns` after the last of those ends (the CP's own cost), at the modelled time. So
  // the CP may hand over a barrier packet before its predecessors end, as the real CP fetches it.
  bool barrier = false;
  uint64_t barrier_gap_ns = 0;
  // A packet the CP completes itself (a barrier-AND/OR whose dependencies are met): it takes no
  // slot and ends when it starts; queued here so a barrier bit on it gates at the modelled time
  // and later packets of the queue start after it. `workgroups` and `workgroup_ns` are ignored.
  bool cp_only = false;
};

// What the device knows about one hardware queue (a copy; see GetQueueInfo()).
struct DeviceQueueInfo {
  uint32_t pid = 0;
  uint32_t kfd_queue_id = 0;
  uint64_t ring_base = 0;
  uint64_t ring_bytes = 0;
  uint32_t priority = 0;
  bool active = true;             // UPDATE_QUEUE percent > 0
  bool suspended = false;         // DBG_TRAP SUSPEND_QUEUES
  uint32_t cus_enabled = 0;       // CUs its mask allows
  uint64_t exception_status = 0;  // KFD_EC_MASK bits; EC_QUEUE_NEW is set at creation
  uint32_t saved_workgroups = 0;  // held by CWSR (saving or saved)
  uint32_t running_workgroups = 0;
};

struct DispatchTimes {
  uint64_t start_ns = 0;  // first workgroup started (device time)
  uint64_t end_ns = 0;    // last workgroup ended
};

class Device {
 public:
  // Process-wide instance attached to (and creating, if needed) the segment named by
  // Params::FromEnvironment(). Never destroyed. nullptr (with one logged error) if the segment
  // cannot be created or has an incompatible layout/version.
  static Device* Instance();

  // For unit tests: a private device on its own segment name with explicit parameters. Attaches
  // if the segment exists (RemoveSegmentForTest first for a fresh one). The caller owns the
  // result: deleting it unmaps the segment (it stays in /dev/shm until removed).
  static Device* CreateForTest(const Params& params, const std::string& segment_name);

  virtual ~Device() = default;
  virtual const Params& params() const = 0;

  // Hardware queue table (device-wide). Returns a slot >= 0, or -1 if the table is full.
  virtual int AddQueue(uint32_t pid, uint32_t kfd_queue_id, uint64_t ring_base,
                       uint64_t ring_bytes, uint32_t priority, uint64_t now) = 0;
  // Drops the queue and any dispatch of it still pending or in flight.
  virtual void RemoveQueue(int slot, uint64_t now) = 0;
  // Mapped, active and not suspended: the CP may fetch packets. Lock-free.
  virtual bool QueueRunnable(int slot) const = 0;

  // Starts a dispatch from queue `slot` at device time max(not_before, the model's current time).
  // Returns a nonzero handle, or 0 if the device's dispatch table is full (retry later).
  virtual uint64_t Launch(int slot, const KernelWork& work, uint64_t not_before) = 0;
  // Advances the model to `now`. True once the dispatch has ended; then `times` is filled and the
  // handle is released (it must not be polled again).
  virtual bool Poll(uint64_t handle, uint64_t now, DispatchTimes* times) = 0;
  // Earliest device time at which the model changes next (after advancing to now);
  // UINT64_MAX when nothing is in flight.
  virtual uint64_t NextEventTime(uint64_t now) = 0;

  // Change notification across processes.
  virtual uint64_t Generation() const = 0;
  // Returns when Generation() != seen or at device time `deadline_ns`, whichever is first.
  virtual void WaitForChange(uint64_t seen, uint64_t deadline_ns) = 0;
  // Bumps the generation and wakes every waiter (e.g. after a doorbell, so idle CPs re-poll).
  virtual void Notify() = 0;

  // Queue control, HWS semantics above. Return 0 or a positive errno.
  virtual int SetQueueActive(int slot, bool active, uint64_t now) = 0;
  virtual int SetQueueSuspended(int slot, bool suspended, uint64_t now) = 0;
  virtual int SetCuMask(int slot, const uint32_t* mask, uint32_t mask_bits, uint64_t now) = 0;
  virtual int SetQueuePriority(int slot, uint32_t priority, uint64_t now) = 0;

  // Appends one event to the device trace (kinds in include/hsapreempt/sim_device.h).
  virtual void TraceEvent(uint32_t kind, int slot, uint64_t dispatch, uint64_t value,
                          uint64_t time_ns) = 0;

  // --- Additions (simdev/model owner). ---

  // Suspends/resumes several queues with ONE runlist update, as KFD's SUSPEND_QUEUES does per
  // device. Waves of a queue being suspended that end within `grace_ns` finish normally; the
  // rest are saved at now + grace_ns. Returns 0 or a positive errno (EINVAL: bad slot).
  virtual int SetQueuesSuspended(const int* slots, int count, bool suspended, uint64_t grace_ns,
                                 uint64_t now) = 0;
  // Copy of a queue's state; false if `slot` is not in use.
  virtual bool GetQueueInfo(int slot, DeviceQueueInfo* info) = 0;
  // Slot of (pid, kfd_queue_id), or -1.
  virtual int FindQueue(uint32_t pid, uint32_t kfd_queue_id) = 0;
  // Clears KFD_EC_MASK bits of a queue's exception status (snapshot / suspend exception_mask).
  virtual void ClearQueueExceptions(int slot, uint64_t mask) = 0;
  // Drops the queues (and their dispatches) of processes that no longer exist. Also runs by
  // itself at most every few ms from the other locked calls. Returns the number dropped.
  virtual int ReapDeadProcesses(uint64_t now) = 0;
  // The device trace (see hsapreempt_sim_trace_read()).
  virtual size_t TraceRead(uint64_t* cursor, hsapreempt_sim_event* out, size_t max) = 0;
  // Number of hardware queues in use on the device (all processes).
  virtual int QueueCount() = 0;

  // For tests: removes a device's shared segment (the name given to CreateForTest).
  static void RemoveSegmentForTest(const std::string& segment_name);
};

// Device time: CLOCK_MONOTONIC_RAW in ns.
uint64_t NowNs();

}  // namespace simdev

#endif  // SIMDEV_MODEL_DEVICE_H_
