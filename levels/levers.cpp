#include "levels/levers.h"

#include <time.h>

#include <algorithm>

#include "common/clock.h"
#include "common/log.h"

namespace hsapreempt::levels {

using common::Status;

namespace {

void SleepUs(uint32_t us) {
  timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
  nanosleep(&ts, nullptr);
}

// Transient answers worth a second try when restoring a queue.
bool Transient(const Status& s) { return s.code() == Status::Code::kBusy; }

constexpr int kReleaseAttempts = 3;

}  // namespace

// ---- LeverBase ----

LeverStats LeverBase::stats() const {
  LeverStats s;
  s.engages = engages_.load(std::memory_order_relaxed);
  s.releases = releases_.load(std::memory_order_relaxed);
  s.failures = failures_.load(std::memory_order_relaxed);
  s.ioctls = ioctls_.load(std::memory_order_relaxed);
  s.ioctl_ns_total = ioctl_ns_total_.load(std::memory_order_relaxed);
  s.ioctl_ns_max = ioctl_ns_max_.load(std::memory_order_relaxed);
  s.engaged_ns_total = engaged_ns_total_.load(std::memory_order_relaxed);
  return s;
}

Status LeverBase::Timed(const std::function<Status()>& op) {
  const uint64_t t0 = common::MonotonicRawNs();
  Status s = op();
  const uint64_t dt = common::MonotonicRawNs() - t0;
  ioctls_.fetch_add(1, std::memory_order_relaxed);
  ioctl_ns_total_.fetch_add(dt, std::memory_order_relaxed);
  uint64_t prev = ioctl_ns_max_.load(std::memory_order_relaxed);
  while (dt > prev && !ioctl_ns_max_.compare_exchange_weak(prev, dt, std::memory_order_relaxed)) {
  }
  return s;
}

void LeverBase::MarkEngaged() {
  engaged_since_ns_ = common::MonotonicRawNs();
  engages_.fetch_add(1, std::memory_order_relaxed);
  engaged_.store(true, std::memory_order_release);
}

void LeverBase::MarkReleased() {
  engaged_ns_total_.fetch_add(common::MonotonicRawNs() - engaged_since_ns_,
                              std::memory_order_relaxed);
  releases_.fetch_add(1, std::memory_order_relaxed);
  engaged_.store(false, std::memory_order_release);
}

// ---- UpdateQueueLever ----

UpdateQueueLever::UpdateQueueLever(kfd::Device* device, kfd::QueueRef queue,
                                   uint32_t kfd_priority)
    : device_(device), queue_(queue), priority_(kfd_priority > 15 ? 15 : kfd_priority) {}

Status UpdateQueueLever::Update(uint32_t percent) {
  return Timed([&] { return device_->UpdateQueue(queue_, percent, kfd_priority()); });
}

Status UpdateQueueLever::Engage() {
  std::lock_guard<std::mutex> lock(op_mu_);
  if (engaged()) return Status::Ok();
  Status s = Update(0);
  if (!s.ok()) {
    CountFailure();
    return s;
  }
  MarkEngaged();
  return s;
}

Status UpdateQueueLever::Release() {
  std::lock_guard<std::mutex> lock(op_mu_);
  if (!engaged()) return Status::Ok();
  Status s;
  for (int attempt = 0; attempt < kReleaseAttempts; ++attempt) {
    s = Update(100);
    if (s.ok() || !Transient(s)) break;
    SleepUs(100);
  }
  if (!s.ok()) {
    CountFailure();
    HP_LOG(kError, "levels: could not reactivate KFD queue %u: %s", queue_.queue_id,
           s.ToString().c_str());
    return s;
  }
  MarkReleased();
  return s;
}

Status UpdateQueueLever::Reassert() {
  std::lock_guard<std::mutex> lock(op_mu_);
  if (!engaged()) return Status::Ok();
  Status s = Update(0);
  if (!s.ok()) CountFailure();
  return s;
}

void UpdateQueueLever::NoteHsaPriority(int p) {
  // hsa_amd_queue_priority_t LOW/NORMAL/HIGH -> ROCr's thunk priorities -3/0/3 -> KFD's scale.
  const int thunk = p <= 0 ? -3 : p == 1 ? 0 : 3;
  priority_.store(kfd::abi::KfdPriorityFromThunk(thunk), std::memory_order_relaxed);
}

// ---- DbgSuspendLever ----

DbgSuspendLever::DbgSuspendLever(kfd::Device* device, uint32_t queue_id,
                                 uint32_t grace_period_kclk, int new_queue_retries,
                                 uint32_t retry_us)
    : device_(device),
      queue_id_(queue_id),
      grace_kclk_(grace_period_kclk),
      retries_(new_queue_retries < 0 ? 0 : new_queue_retries),
      retry_us_(retry_us) {}

Status DbgSuspendLever::Engage() {
  std::lock_guard<std::mutex> lock(op_mu_);
  if (engaged()) return Status::Ok();
  Status s;
  for (int attempt = 0; attempt <= retries_; ++attempt) {
    std::vector<uint32_t> status;
    int count = 0;
    s = Timed([&] { return device_->SuspendQueues({queue_id_}, grace_kclk_, &status, &count); });
    const uint32_t word = status.empty() ? 0 : status[0];
    if (s.ok() && count >= 1 && (word & (kfd::abi::kDbgQueueErrorMask |
                                         kfd::abi::kDbgQueueInvalidMask)) == 0) {
      MarkEngaged();
      return Status::Ok();
    }
    if (s.ok() && (word & kfd::abi::kDbgQueueErrorMask)) {
      s = Status::Error(Status::Code::kIoError,
                        "SUSPEND_QUEUES: KFD reports a hardware failure for queue " +
                            std::to_string(queue_id_));
      break;
    }
    if (s.ok()) {
      // Not suspended without an error: KFD says the queue is new (or being destroyed).
      s = Status::Error(Status::Code::kBusy, "SUSPEND_QUEUES: KFD did not suspend queue " +
                                                 std::to_string(queue_id_) +
                                                 " (new or being destroyed)",
                        EBUSY);
    }
    if (s.code() != Status::Code::kBusy) break;
    if (attempt == retries_) break;
    // A NEW queue: KFD refuses to suspend it until its EC_QUEUE_NEW is cleared, which a queue
    // snapshot with that exception in its mask does. Then give KFD a moment and try again.
    std::vector<kfd::abi::QueueSnapshotEntry> ignored;
    Timed([&] { return device_->QueueSnapshot(&ignored, kfd::abi::EcMask(kfd::abi::kEcQueueNew)); });
    SleepUs(retry_us_);
  }
  CountFailure();
  return s;
}

Status DbgSuspendLever::Release() {
  std::lock_guard<std::mutex> lock(op_mu_);
  if (!engaged()) return Status::Ok();
  Status s;
  for (int attempt = 0; attempt < kReleaseAttempts; ++attempt) {
    std::vector<uint32_t> status;
    int count = 0;
    s = Timed([&] { return device_->ResumeQueues({queue_id_}, &status, &count); });
    const uint32_t word = status.empty() ? 0 : status[0];
    if (s.ok() && (word & kfd::abi::kDbgQueueInvalidMask)) break;  // queue gone: nothing to resume
    if (s.ok() && (count >= 1 || (word & kfd::abi::kDbgQueueErrorMask) == 0)) break;
    if (s.ok()) {
      s = Status::Error(Status::Code::kIoError, "RESUME_QUEUES: KFD reports a hardware failure "
                                                "for queue " + std::to_string(queue_id_));
    }
    if (!Transient(s)) break;
    SleepUs(100);
  }
  if (!s.ok()) {
    CountFailure();
    HP_LOG(kError, "levels: could not resume KFD queue %u: %s", queue_id_, s.ToString().c_str());
    return s;
  }
  MarkReleased();
  return s;
}

// ---- CuMaskLever ----

CuMaskLever::CuMaskLever(kfd::Device* device, uint32_t queue_id, uint32_t cu_count,
                         uint32_t fraction_percent)
    : device_(device),
      queue_id_(queue_id),
      fraction_(std::clamp<uint32_t>(fraction_percent, 1, 100)) {
  const uint32_t words = std::max<uint32_t>(1, (cu_count + 31) / 32);
  base_.assign(words, 0);
  for (uint32_t i = 0; i < cu_count; ++i) base_[i / 32] |= 1u << (i % 32);
}

std::vector<uint32_t> CuMaskLever::Restrict(const std::vector<uint32_t>& base,
                                            uint32_t fraction_percent) {
  uint32_t total = 0;
  for (uint32_t w : base) total += static_cast<uint32_t>(__builtin_popcount(w));
  uint32_t keep = (total * std::clamp<uint32_t>(fraction_percent, 1, 100) + 99) / 100;
  keep = std::max<uint32_t>(1, std::min(keep, total));
  std::vector<uint32_t> out(base.size(), 0);
  for (size_t i = 0; i < base.size() * 32 && keep > 0; ++i) {
    if (base[i / 32] & (1u << (i % 32))) {
      out[i / 32] |= 1u << (i % 32);
      --keep;
    }
  }
  return out;
}

std::vector<uint32_t> CuMaskLever::base_mask() const {
  std::lock_guard<std::mutex> lock(mu_);
  return base_;
}

std::vector<uint32_t> CuMaskLever::restricted_mask() const {
  return Restrict(base_mask(), fraction_);
}

Status CuMaskLever::Engage() {
  std::lock_guard<std::mutex> lock(op_mu_);
  if (engaged()) return Status::Ok();
  const std::vector<uint32_t> mask = restricted_mask();
  Status s = Timed([&] { return device_->SetCuMask(queue_id_, mask); });
  if (!s.ok()) {
    CountFailure();
    return s;
  }
  MarkEngaged();
  return s;
}

Status CuMaskLever::Release() {
  std::lock_guard<std::mutex> lock(op_mu_);
  if (!engaged()) return Status::Ok();
  const std::vector<uint32_t> mask = base_mask();
  Status s;
  for (int attempt = 0; attempt < kReleaseAttempts; ++attempt) {
    s = Timed([&] { return device_->SetCuMask(queue_id_, mask); });
    if (s.ok() || !Transient(s)) break;
    SleepUs(100);
  }
  if (!s.ok()) {
    CountFailure();
    HP_LOG(kError, "levels: could not restore the CU mask of KFD queue %u: %s", queue_id_,
           s.ToString().c_str());
    return s;
  }
  MarkReleased();
  return s;
}

void CuMaskLever::NoteCuMask(const uint32_t* mask, uint32_t num_bits) {
  if (mask == nullptr || num_bits == 0) return;
  std::vector<uint32_t> m(mask, mask + (num_bits + 31) / 32);
  bool any = std::any_of(m.begin(), m.end(), [](uint32_t w) { return w != 0; });
  if (!any) return;  // ROCr rejects an empty mask; keep ours
  std::lock_guard<std::mutex> lock(mu_);
  base_ = std::move(m);
}

Status CuMaskLever::Reassert() {
  std::lock_guard<std::mutex> lock(op_mu_);
  // The application's hsa_amd_queue_cu_set_mask replaced our restriction: restrict its mask.
  if (!engaged()) return Status::Ok();
  const std::vector<uint32_t> r = restricted_mask();
  Status s = Timed([&] { return device_->SetCuMask(queue_id_, r); });
  if (!s.ok()) CountFailure();
  return s;
}

}  // namespace hsapreempt::levels
