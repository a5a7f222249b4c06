// A hardware lever: a way to stop one hardware queue's progress on the GPU that works even while
// a kernel is running (Level-2), or to restrict it spatially (CU mask). Level-1 (holding packets in
// the software queue) is not a lever: xqueue always does it underneath.
//
// Contract for every implementation:
// - Engage()/Release() may block for the duration of one KFD ioctl (tens of microseconds to a few
//   milliseconds on HWS, which remaps every queue of the device). They are called from the
//   scheduler's thread only, never from the application's submission path, and with NO xqueue
//   lock held.
// - They are idempotent: Engage() on an engaged lever, or Release() on a released one, is ok.
// - A failure returns a non-ok Status and leaves the queue running (released); the caller then
//   falls back to Level-1 for that queue and says so once. A lever never loses a packet: it only
//   delays the queue.
// - Release() must be called before the hardware queue is destroyed (the debug-trap suspend path
//   blocks queue destruction until resume).
#ifndef LEVELS_LEVER_H_
#define LEVELS_LEVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/config.h"
#include "common/status.h"

namespace hsapreempt::levels {

enum class LeverKind {
  kNone,         // Level-1 only
  kUpdateQueue,  // Level-2: AMDKFD_IOC_UPDATE_QUEUE percent 0 / 100
  kDbgSuspend,   // Level-2: AMDKFD_IOC_DBG_TRAP SUSPEND_QUEUES / RESUME_QUEUES
  kCuMask,       // spatial: AMDKFD_IOC_SET_CU_MASK to a subset while engaged
};

const char* LeverName(LeverKind kind);

// Counters every lever keeps (for `hsapreempt top` and the benchmarks). Readable from any thread.
struct LeverStats {
  uint64_t engages = 0;         // Engage() calls that changed the queue's state
  uint64_t releases = 0;        // Release() calls that changed the queue's state
  uint64_t failures = 0;        // Engage/Release/Reassert calls that returned an error
  uint64_t ioctls = 0;          // KFD ioctls issued
  uint64_t ioctl_ns_total = 0;  // wall time spent in them
  uint64_t ioctl_ns_max = 0;
  uint64_t engaged_ns_total = 0;  // time spent engaged (completed engage..release intervals)
};

class Lever {
 public:
  virtual ~Lever() = default;
  virtual LeverKind kind() const = 0;
  virtual common::Status Engage() = 0;
  virtual common::Status Release() = 0;
  virtual bool engaged() const = 0;
  // Re-applies queue priority after the application called hsa_amd_queue_set_priority (which
  // re-activates a queue behind our back): if engaged, re-engage; the priority itself is kept.
  virtual common::Status Reassert() = 0;

  // Optional notifications from hsa_layer (defaults ignore them):
  // the application set this queue's priority (hsa_amd_queue_priority_t: 0 LOW, 1 NORMAL, 2 HIGH);
  // UPDATE_QUEUE also sets the priority, so the lever must send the queue's current one.
  virtual void NoteHsaPriority(int hsa_amd_queue_priority) {}
  // the application set this queue's CU mask (hsa_amd_queue_cu_set_mask): the mask to restore on
  // release and to restrict while engaged. `num_bits` is a multiple of 32.
  virtual void NoteCuMask(const uint32_t* mask, uint32_t num_bits) {}
  virtual LeverStats stats() const { return LeverStats(); }
};

// Identity of a hardware queue created by hsa_layer, as resolved at creation time.
struct HwQueueIdentity {
  uint64_t ring_base = 0;      // hsa_queue_t::base_address of the hardware queue
  uint64_t ring_bytes = 0;
  uint32_t gpu_id = 0;         // KFD gpu id (0: unknown)
  bool kfd_queue_id_known = false;
  uint32_t kfd_queue_id = 0;   // valid if kfd_queue_id_known
  std::string mapping_method;  // "snapshot", "sysfs", ... or why it failed
  uint32_t cu_count = 0;       // CUs of the queue's agent (HSA_AMD_AGENT_INFO_COMPUTE_UNIT_COUNT);
                               // 0: levels reads the KFD topology instead
};

// Chooses the best lever for a queue given the configuration and what this machine supports
// (probed once per process by kfd_ctl). Returns a lever of kind kNone when only Level-1 is
// possible; `why` then says why (logged once by the caller).
std::unique_ptr<Lever> SelectLever(const HwQueueIdentity& queue, const common::Config& config,
                                   std::string* why);

}  // namespace hsapreempt::levels

#endif  // LEVELS_LEVER_H_
