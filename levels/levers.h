// The lever implementations (contract: levels/lever.h). Each drives one hardware queue through
// kfd::Device and keeps LeverStats. Engage/Release/Reassert are serialized by a per-lever mutex
// (the scheduler engages and releases while hsa_layer may call Reassert from the application's
// thread after hsa_amd_queue_set_priority: without it a Reassert could re-deactivate a queue the
// scheduler just released). stats() may be read from any thread without it.
//
// - UpdateQueueLever: UPDATE_QUEUE percent 0 (engage) / 100 (release) with the queue's own ring
//   and current priority (KFD rewrites both). set_priority re-activates the queue, so Reassert()
//   re-engages.
// - DbgSuspendLever: DBG_TRAP SUSPEND_QUEUES with a grace period / RESUME_QUEUES (KFD 1.13+, the
//   process must be debug-enabled). A queue KFD still flags NEW is refused (EBUSY, or the INVALID
//   status bit): the flag is cleared with a queue snapshot and the suspend retried a few times
//   over ~1 ms, then the engage fails with kBusy.
// - CuMaskLever: SET_CU_MASK to the first `fraction` of the queue's CUs (KFD spreads mask bits
//   over shader engines itself) while engaged; the full — or the application's — mask on release.
//
// Release failures: the ioctl is retried briefly; if the queue still cannot be restored the error
// is returned, logged, and the lever stays engaged so a later Release() tries again.
#ifndef LEVELS_LEVERS_H_
#define LEVELS_LEVERS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "kfd_ctl/device.h"
#include "levels/lever.h"

namespace hsapreempt::levels {

// Shared bookkeeping: state, counters, ioctl timing.
class LeverBase : public Lever {
 public:
  bool engaged() const override { return engaged_.load(std::memory_order_acquire); }
  LeverStats stats() const override;

 protected:
  // Runs `op` (one ioctl) and accounts its time.
  common::Status Timed(const std::function<common::Status()>& op);
  void MarkEngaged();
  void MarkReleased();
  void CountFailure() { failures_.fetch_add(1, std::memory_order_relaxed); }
  std::mutex op_mu_;  // held for the whole of Engage/Release/Reassert

 private:
  std::atomic<bool> engaged_{false};
  std::atomic<uint64_t> engages_{0}, releases_{0}, failures_{0}, ioctls_{0};
  std::atomic<uint64_t> ioctl_ns_total_{0}, ioctl_ns_max_{0}, engaged_ns_total_{0};
  uint64_t engaged_since_ns_ = 0;  // scheduler thread only
};

class UpdateQueueLever : public LeverBase {
 public:
  UpdateQueueLever(kfd::Device* device, kfd::QueueRef queue,
                   uint32_t kfd_priority = kfd::abi::kKfdPriorityNormal);
  LeverKind kind() const override { return LeverKind::kUpdateQueue; }
  common::Status Engage() override;
  common::Status Release() override;
  common::Status Reassert() override;
  void NoteHsaPriority(int hsa_amd_queue_priority) override;
  uint32_t kfd_priority() const { return priority_.load(std::memory_order_relaxed); }

 private:
  common::Status Update(uint32_t percent);
  kfd::Device* device_;
  kfd::QueueRef queue_;
  std::atomic<uint32_t> priority_;
};

class DbgSuspendLever : public LeverBase {
 public:
  // grace_period_kclk: KFD's unit, 1K GPU clocks. new_queue_retries/retry_us: the EBUSY budget.
  DbgSuspendLever(kfd::Device* device, uint32_t queue_id, uint32_t grace_period_kclk,
                  int new_queue_retries = 5, uint32_t retry_us = 200);
  LeverKind kind() const override { return LeverKind::kDbgSuspend; }
  common::Status Engage() override;
  common::Status Release() override;
  // hsa_amd_queue_set_priority (UPDATE_QUEUE) does not lift a debug suspension: nothing to do.
  common::Status Reassert() override { return common::Status::Ok(); }

 private:
  kfd::Device* device_;
  uint32_t queue_id_;
  uint32_t grace_kclk_;
  int retries_;
  uint32_t retry_us_;
};

class CuMaskLever : public LeverBase {
 public:
  CuMaskLever(kfd::Device* device, uint32_t queue_id, uint32_t cu_count,
              uint32_t fraction_percent);
  LeverKind kind() const override { return LeverKind::kCuMask; }
  common::Status Engage() override;
  common::Status Release() override;
  // If engaged, applies the restriction again (after the application set a CU mask: call
  // NoteCuMask first). set_priority does not touch the CU mask, so this is harmless there.
  common::Status Reassert() override;
  // Records the application's mask (restored on release, restricted while engaged). No ioctl.
  void NoteCuMask(const uint32_t* mask, uint32_t num_bits) override;

  // The masks it uses (for tests and `probe`).
  std::vector<uint32_t> base_mask() const;
  std::vector<uint32_t> restricted_mask() const;
  // The first ceil(fraction% of the set bits of `base`) set bits of `base` (at least one).
  static std::vector<uint32_t> Restrict(const std::vector<uint32_t>& base,
                                        uint32_t fraction_percent);

 private:
  kfd::Device* device_;
  uint32_t queue_id_;
  uint32_t fraction_;
  mutable std::mutex mu_;
  std::vector<uint32_t> base_;  // guarded by mu_
};

}  // namespace hsapreempt::levels

#endif  // LEVELS_LEVERS_H_
