// XQueueImpl: the XQueue (xqueue.h states the contract). Internal to xqueue/.
//
// Locks, in acquisition order (never the other way):
//   pump registry mutex (pump.cpp) -> mu_            (pump sweep; fork handlers)
//   notify_mu_ -> mu_                                (listener reports, serialised per queue)
//   lever_mu_                                        (alone: Engage/Release block on ioctls)
// mu_ guards the rings and every counter; it is held only for bounded, non-blocking work.
#ifndef XQUEUE_XQUEUE_IMPL_H_
#define XQUEUE_XQUEUE_IMPL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "xqueue/xqueue.h"

namespace hsapreempt::xq {

class XQueueImpl final : public XQueue {
 public:
  // Initial value of the marker signal: each completed marker decrements it by one.
  static constexpr hsa_signal_value_t kMarkerBase = hsa_signal_value_t{1} << 48;

  XQueueImpl(const RuntimeOps& ops, hsa_queue_t* soft, hsa_queue_t* hw,
             const XQueueOptions& options, Listener* listener,
             std::unique_ptr<levels::Lever> lever, hsa_signal_t marker_signal);
  ~XQueueImpl() override;

  hsa_queue_t* soft_queue() const override { return soft_; }
  hsa_queue_t* hw_queue() const override { return hw_; }
  void OnDoorbell(uint64_t value) override;
  void Suspend() override;
  void Resume() override;
  bool suspended() const override { return suspended_.load(std::memory_order_acquire); }
  void SetThrottled(bool throttled) override;
  void Pump() override;
  bool HasRunnableWork() const override;
  bool HoldsSignalProducer(hsa_signal_t signal) const override;
  int BlockingSignals(hsa_signal_t* deps, int max) const override;
  common::Status Drain(uint64_t timeout_ns) override;
  XQueueStats stats() const override;
  levels::LeverKind lever_kind() const override;

  // For the pump thread (pump.cpp).
  struct StepResult {
    bool progress = false;   // something was forwarded or completed
    bool throttled = false;  // packets held (not suspended) waiting for completions or ring space
  };
  StepResult PumpStep();
  bool needs_pump() const { return needs_pump_.load(std::memory_order_seq_cst); }
  // pthread_atfork: the prepare handler takes every queue lock so a child never inherits one held
  // by a thread it does not have; parent/child release them.
  void LockForFork() { mu_.lock(); }
  void UnlockAfterFork() { mu_.unlock(); }

 private:
  // Forwards what the queue may now release (after Resume or a lifted bound) and reports busy.
  void ForwardHeld();
  // All *Locked functions require mu_.
  void PollMarkersLocked();
  // A marker completion covering `packets`: updates packet_ns_ and window_ (slack_ns_ != 0).
  void UpdateWindowLocked(uint64_t packets);
  // Forwards what the rules allow; appends a marker if the marker rule says so (rule (c) only when
  // `closing`: pump and drain). Returns the number of application packets forwarded.
  uint64_t ForwardLocked(bool closing);
  bool AppendMarkerLocked();
  bool HasAppWorkLocked(uint64_t soft_write) const;
  // Updates busy_/needs_pump_; returns true if the pump must be woken.
  bool UpdateBusyLocked(uint64_t soft_write);
  uint64_t CompletedMarkersLocked() const;
  // Writes the unsatisfied dependencies of the barrier in `slot` (if it is one) to deps[0..max)
  // and returns how many; blocked is set iff the barrier cannot be processed yet.
  int UnmetDeps(const uint8_t* slot, hsa_signal_t* deps, int max, bool* blocked) const;
  bool BarrierBlocked(const uint8_t* slot) const;
  // The packet the queue's progress depends on (CP head or oldest held), or null; requires mu_.
  const uint8_t* HeadPacketLocked(bool* in_flight_only) const;
  // Tells the listener the current busy state if it changed since the last report; with
  // force_busy, reports busy even if the last report was busy (work after an unreported idle).
  void SyncListener(bool force_busy = false);
  // After a forwarding round on a caller's thread: SyncListener (if `report`), then PumpWake (if
  // `wake_pump`), in that order (the reason is in the definition). No lock held.
  void ReportThenWake(bool report, bool wake_pump, bool force_busy = false);
  void EngageLever();
  void ReleaseLever();

  uint8_t* SoftSlot(uint64_t index) const { return soft_base_ + (index & soft_mask_) * 64; }
  uint8_t* HwSlot(uint64_t index) const { return hw_base_ + (index & hw_mask_) * 64; }

  const RuntimeOps ops_;
  hsa_queue_t* const soft_;
  hsa_queue_t* const hw_;
  uint8_t* const soft_base_;
  uint8_t* const hw_base_;
  const uint64_t soft_mask_;
  const uint64_t hw_size_;
  const uint64_t hw_mask_;
  const bool hold_enabled_;
  const uint64_t threshold_;
  const uint64_t batch_;
  const uint64_t slack_ns_;
  Listener* const listener_;
  const hsa_signal_t marker_signal_;

  mutable std::mutex mu_;
  uint64_t soft_origin_;      // soft read index at creation (stats: submitted = write - origin)
  uint64_t soft_read_;        // next soft index to forward
  uint64_t hw_write_;         // next hardware index to write
  uint64_t hw_read_cache_;    // last hardware read index seen (refreshed when space looks short)
  uint64_t forwarded_ = 0;    // application packets forwarded
  uint64_t completed_ = 0;    // application packets known complete (from markers)
  uint64_t covered_ = 0;      // forwarded_ when the last marker was appended
  uint64_t markers_issued_ = 0;
  uint64_t markers_done_ = 0;
  std::vector<uint64_t> marker_covers_;  // forwarded_ covered by marker k, at k & cover_mask_
  uint64_t cover_mask_;
  uint64_t last_soft_write_ = 0;  // soft write index seen by the last ForwardLocked
  // Packet-time estimate (XQueueOptions::slack_ns): time between marker completions, over
  // intervals that began with work in flight (UpdateWindowLocked).
  uint64_t packet_ns_ = 0;         // lower envelope of ns per packet; 0: no sample yet
  uint64_t interval_start_ns_ = 0; // last marker completion, or work reaching an idle queue
  bool interval_busy_ = false;     // packets were in flight when the interval began
  uint64_t sample_ns_ = 0;         // busy time summed towards the next sample
  uint64_t sample_packets_ = 0;    // packets completed in it
  uint64_t window_;                // current in-flight bound
  uint64_t suspensions_ = 0;
  bool busy_ = false;
  bool draining_ = false;     // Drain() ran: no threshold, no holding, from now on
  std::atomic<bool> suspended_{false};
  std::atomic<bool> throttled_{true};  // Level-1 bound applies (SetThrottled)
  std::atomic<bool> needs_pump_{false};

  std::mutex notify_mu_;
  bool reported_busy_ = false;  // guarded by notify_mu_

  std::mutex lever_mu_;
  std::unique_ptr<levels::Lever> lever_;  // calls guarded by lever_mu_
  std::atomic<bool> lever_failed_{false};
  std::atomic<bool> lever_engaged_{false};
};

}  // namespace hsapreempt::xq

#endif  // XQUEUE_XQUEUE_IMPL_H_
