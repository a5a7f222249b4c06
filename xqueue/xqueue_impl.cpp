// XQueueImpl: forwarding, Level-1 throttling, markers, suspension (xqueue.h states the contract).
#include "xqueue/xqueue_impl.h"

#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <string>

#include "common/clock.h"
#include "common/log.h"
#include "xqueue/aql.h"
#include "xqueue/pump.h"

namespace hsapreempt::xq {
namespace {

constexpr uint32_t kMaxThreshold = 4096;
// Level-1 window: packet-time samples span at least this much device time.
constexpr uint64_t kMinSampleNs = 4'000'000;

uint64_t NextPow2(uint64_t v) {
  uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

bool IsPow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

XQueueImpl::XQueueImpl(const RuntimeOps& ops, hsa_queue_t* soft, hsa_queue_t* hw,
                       const XQueueOptions& options, Listener* listener,
                       std::unique_ptr<levels::Lever> lever, hsa_signal_t marker_signal)
    : ops_(ops),
      soft_(soft),
      hw_(hw),
      soft_base_(static_cast<uint8_t*>(soft->base_address)),
      hw_base_(static_cast<uint8_t*>(hw->base_address)),
      soft_mask_(soft->size - 1),
      hw_size_(hw->size),
      hw_mask_(hw->size - 1),
      hold_enabled_(options.hold_enabled),
      threshold_(std::clamp<uint32_t>(options.threshold, 1, kMaxThreshold)),
      batch_(std::clamp<uint32_t>(options.batch, 1, std::clamp<uint32_t>(options.threshold, 1,
                                                                           kMaxThreshold))),
      slack_ns_(options.slack_ns),
      listener_(listener),
      marker_signal_(marker_signal),
      lever_(std::move(lever)) {
  window_ = threshold_;
  soft_origin_ = soft_read_ = ops_.load_read_index_scacquire(soft_);
  hw_write_ = ops_.load_write_index_scacquire(hw_);
  hw_read_cache_ = ops_.load_read_index_scacquire(hw_);
  // Outstanding markers never exceed the hardware ring size; twice that leaves room for markers
  // completed but not yet polled.
  marker_covers_.assign(NextPow2(hw_size_) * 2, 0);
  cover_mask_ = marker_covers_.size() - 1;
}

XQueueImpl::~XQueueImpl() {
  PumpUnregister(this);
  ReleaseLever();
  std::lock_guard<std::mutex> lock(mu_);
  PollMarkersLocked();
  if (markers_issued_ == markers_done_) {
    ops_.signal_destroy(marker_signal_);
  } else {
    HP_LOG(kDebug, "xqueue: %" PRIu64 " markers outstanding at destruction: leaking their signal",
           markers_issued_ - markers_done_);
  }
}

std::unique_ptr<XQueue> XQueue::Create(const RuntimeOps* ops, hsa_queue_t* soft, hsa_queue_t* hw,
                                       const XQueueOptions& options, Listener* listener,
                                       std::unique_ptr<levels::Lever> lever) {
  if (ops == nullptr || !ops->load_write_index_scacquire || !ops->load_read_index_scacquire ||
      !ops->store_read_index_screlease || !ops->add_write_index_screlease ||
      !ops->signal_store_screlease || !ops->signal_load_scacquire || !ops->signal_create ||
      !ops->signal_destroy) {
    HP_LOG(kError, "xqueue: incomplete RuntimeOps: queue not scheduled");
    return nullptr;
  }
  if (soft == nullptr || hw == nullptr || soft->base_address == nullptr ||
      hw->base_address == nullptr || !IsPow2(soft->size) || !IsPow2(hw->size) || hw->size < 2) {
    HP_LOG(kError, "xqueue: bad queue (null or ring size not a power of two): not scheduled");
    return nullptr;
  }
  if (options.threshold == 0 || options.threshold > kMaxThreshold || options.batch == 0 ||
      options.batch > options.threshold) {
    HP_LOG(kWarn, "xqueue: threshold %u / batch %u out of range: clamped", options.threshold,
           options.batch);
  }
  hsa_signal_t marker{0};
  hsa_status_t st = ops->signal_create(XQueueImpl::kMarkerBase, 0, nullptr, &marker);
  if (st != HSA_STATUS_SUCCESS || marker.handle == 0) {
    HP_LOG(kError, "xqueue: cannot create the marker signal (status 0x%x): not scheduled",
           static_cast<unsigned>(st));
    return nullptr;
  }
  XQueueOptions opts = options;
  auto q = std::make_unique<XQueueImpl>(*ops, soft, hw, opts, listener, std::move(lever), marker);
  if (!PumpRegister(q.get())) {
    // Nothing could release held packets: forward everything, always.
    opts.hold_enabled = false;
    q.reset();  // destroys the marker signal
    st = ops->signal_create(XQueueImpl::kMarkerBase, 0, nullptr, &marker);
    if (st != HSA_STATUS_SUCCESS) return nullptr;
    q = std::make_unique<XQueueImpl>(*ops, soft, hw, opts, listener, nullptr, marker);
  }
  return q;
}

uint64_t XQueueImpl::CompletedMarkersLocked() const {
  if (markers_issued_ == markers_done_) return markers_done_;
  hsa_signal_value_t v = ops_.signal_load_scacquire(marker_signal_);
  int64_t done = kMarkerBase - v;
  if (done < static_cast<int64_t>(markers_done_)) return markers_done_;
  return std::min<uint64_t>(static_cast<uint64_t>(done), markers_issued_);
}

void XQueueImpl::PollMarkersLocked() {
  uint64_t done = CompletedMarkersLocked();
  if (done > markers_done_) {
    const uint64_t before = completed_;
    completed_ = marker_covers_[(done - 1) & cover_mask_];
    markers_done_ = done;
    if (slack_ns_ != 0) UpdateWindowLocked(completed_ - before);
  }
}

void XQueueImpl::UpdateWindowLocked(uint64_t packets) {
  const uint64_t now = common::MonotonicRawNs();
  // Only an interval that began with our work in flight counts (one that began idle would count
  // the idle time as packet time; ForwardLocked starts one when work reaches an idle queue).
  // Such intervals are summed to at least kMinSampleNs, so the pump's polling jitter (up to
  // 200 us on when a completion is seen) stays small against the sample.
  if (interval_busy_ && now > interval_start_ns_) {
    sample_ns_ += now - interval_start_ns_;
    sample_packets_ += packets;
  }
  interval_start_ns_ = now;
  interval_busy_ = forwarded_ > completed_;
  if (sample_ns_ < kMinSampleNs || sample_packets_ == 0) return;
  // A sample is device time plus any gap the device spent waiting for our next batch, and a
  // too-small window makes such gaps: an average would feed on them (measured: 100 us kernels
  // estimated at 216 us, window 27 instead of 48). So follow the lower envelope: down at once,
  // up slowly (kernels that really got longer are followed within a few dozen samples).
  const uint64_t sample = sample_ns_ / sample_packets_;
  sample_ns_ = sample_packets_ = 0;
  packet_ns_ = packet_ns_ == 0 || sample < packet_ns_ ? sample : (packet_ns_ * 15 + sample) / 16;
  const uint64_t per = std::max<uint64_t>(packet_ns_, 1);
  const uint64_t want = batch_ + (slack_ns_ + per - 1) / per;
  const uint64_t cap = hw_size_ > 2 ? hw_size_ - 2 : 1;  // room for the closing marker
  const uint64_t window = std::max(threshold_, std::min(want, cap));
  if (window * 4 > window_ * 5 || window * 5 < window_ * 4) {
    HP_LOG(kDebug, "xqueue: Level-1 window %" PRIu64 " -> %" PRIu64 " packets (%" PRIu64
           " ns per packet)", window_, window, packet_ns_);
  }
  window_ = window;
}

bool XQueueImpl::AppendMarkerLocked() {
  if (hw_write_ + 1 - hw_read_cache_ > hw_size_) {
    hw_read_cache_ = ops_.load_read_index_scacquire(hw_);
    if (hw_write_ + 1 - hw_read_cache_ > hw_size_) return false;  // the pump retries
  }
  aql::WriteMarker(HwSlot(hw_write_), marker_signal_);
  marker_covers_[markers_issued_ & cover_mask_] = forwarded_;
  ++markers_issued_;
  covered_ = forwarded_;
  ++hw_write_;
  return true;
}

uint64_t XQueueImpl::ForwardLocked(bool closing) {
  const uint64_t soft_write = ops_.load_write_index_scacquire(soft_);
  uint64_t n = 0;
  const bool holding = hold_enabled_ && !draining_;
  if (!(holding && suspended_.load(std::memory_order_relaxed)) && soft_write > soft_read_) {
    const uint64_t pending = soft_write - soft_read_;
    uint64_t allowed = pending;
    if (holding && throttled_.load(std::memory_order_relaxed)) {
      uint64_t in_flight = forwarded_ - completed_;
      uint64_t room = window_ > in_flight ? window_ - in_flight : 0;
      allowed = std::min(pending, room);
      // Batch release: while packets would stay held, wait until a whole batch may go.
      if (allowed < std::min(batch_, pending)) allowed = 0;
    }
    if (allowed > 0) {
      // Keep one hardware slot for the marker that may close this round.
      if (hw_write_ + allowed + 1 - hw_read_cache_ > hw_size_) {
        hw_read_cache_ = ops_.load_read_index_scacquire(hw_);
      }
      uint64_t used = hw_write_ - hw_read_cache_;
      uint64_t space = used + 1 < hw_size_ ? hw_size_ - used - 1 : 0;
      allowed = std::min(allowed, space);
    }
    for (; n < allowed; ++n) {
      uint8_t* src = SoftSlot(soft_read_ + n);
      uint16_t header = aql::LoadHeaderAcquire(src);
      if (aql::HeaderType(header) == HSA_PACKET_TYPE_INVALID) break;  // not yet published
      aql::CopyPacket(HwSlot(hw_write_ + n), src);
      // A wrapped slot must never look published before the application writes it again.
      aql::StoreHeaderRelease(src, aql::kInvalidHeader);
    }
    forwarded_ += n;
    hw_write_ += n;
    soft_read_ += n;
    if (n > 0 && slack_ns_ != 0 && !interval_busy_) {
      // Work reaches an idle queue: a packet-time interval starts now (UpdateWindowLocked).
      interval_start_ns_ = common::MonotonicRawNs();
      interval_busy_ = true;
    }
  }
  // The marker rule (xqueue.h).
  bool marker = false;
  uint64_t uncovered = forwarded_ - covered_;
  if (uncovered > 0 &&
      ((uncovered >= batch_ && throttled_.load(std::memory_order_relaxed)) ||
       (markers_issued_ == markers_done_ && (soft_write > soft_read_ || closing)))) {
    marker = AppendMarkerLocked();
  }
  uint64_t added = n + (marker ? 1 : 0);
  if (added > 0) {
    ops_.add_write_index_screlease(hw_, added);
    ops_.signal_store_screlease(hw_->doorbell_signal,
                                static_cast<hsa_signal_value_t>(hw_write_ - 1));
  }
  // Only now may the application reuse the slots.
  if (n > 0) ops_.store_read_index_screlease(soft_, soft_read_);
  last_soft_write_ = soft_write;
  return n;
}

bool XQueueImpl::UpdateBusyLocked(uint64_t soft_write) {
  busy_ = soft_write > soft_read_ || forwarded_ > completed_;
  // A suspended queue whose forwarded work is known complete has nothing for the pump until
  // Resume (which forwards itself).
  bool needs = busy_ && !(suspended_.load(std::memory_order_relaxed) && !draining_ &&
                         forwarded_ == completed_);
  bool was = needs_pump_.load(std::memory_order_relaxed);
  if (needs != was) needs_pump_.store(needs, std::memory_order_seq_cst);
  return needs && !was;
}

void XQueueImpl::OnDoorbell(uint64_t /*value*/) {
  // The doorbell value is only a hint: the soft write index and the headers are the truth.
  bool wake, sync, restarted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (markers_issued_ != markers_done_) PollMarkersLocked();
    // Everything forwarded is known complete and nothing was held: the queue was idle, even if
    // the pump has not reported it yet. The scheduler may already have seen it idle (it asks
    // HasRunnableWork), so this doorbell's work must be reported as new.
    const bool was_idle = forwarded_ == completed_ && last_soft_write_ <= soft_read_;
    ForwardLocked(/*closing=*/false);
    bool was_busy = busy_;
    wake = UpdateBusyLocked(last_soft_write_);
    sync = busy_ != was_busy;
    restarted = !sync && was_idle && busy_;
  }
  ReportThenWake(sync || restarted, wake, /*force_busy=*/restarted);
}

void XQueueImpl::ReportThenWake(bool report, bool wake_pump, bool force_busy) {
  // The scheduler first: its OnBusy wakes the schedulers that must suspend other queues, which is
  // on this work's latency path; the pump (idle detection) is not. Measured with the pump woken
  // first (bench two-model b1024 Level-2, 2 cores, instrumented): forward -> OnBusy 51 us at P50,
  // 157 us at P90, as the woken pump thread took the CPU from this one; 24-28 / 70-101 us now.
  if (report) SyncListener(force_busy);
  if (wake_pump) PumpWake();
}

XQueueImpl::StepResult XQueueImpl::PumpStep() {
  StepResult r;
  bool sync, wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t before_done = markers_done_;
    PollMarkersLocked();
    uint64_t n = ForwardLocked(/*closing=*/true);
    r.progress = n > 0 || markers_done_ != before_done;
    r.throttled = (draining_ || !suspended_.load(std::memory_order_relaxed)) &&
                  last_soft_write_ > soft_read_;
    bool was_busy = busy_;
    wake = UpdateBusyLocked(last_soft_write_);
    sync = busy_ != was_busy;
  }
  (void)wake;  // we are the pump
  if (sync) SyncListener();
  return r;
}

void XQueueImpl::Pump() {
  PumpStep();
  if (needs_pump()) PumpWake();
}

void XQueueImpl::SyncListener(bool force_busy) {
  if (listener_ == nullptr) return;
  // Report the *current* state, serialised per queue, so racing transitions (the application
  // makes the queue busy while the pump finds it idle) always end with the true state reported.
  std::lock_guard<std::mutex> notify(notify_mu_);
  bool busy;
  {
    std::lock_guard<std::mutex> lock(mu_);
    busy = busy_;
  }
  if (busy == reported_busy_ && !(busy && force_busy)) return;
  reported_busy_ = busy;
  if (busy) {
    listener_->OnBusy(this);
  } else {
    listener_->OnIdle(this);
  }
}

void XQueueImpl::Suspend() {
  if (!hold_enabled_) return;  // level "none": observe only
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (suspended_.load(std::memory_order_relaxed)) return;
    suspended_.store(true, std::memory_order_release);
    ++suspensions_;
  }
  EngageLever();
}

void XQueueImpl::Resume() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!suspended_.load(std::memory_order_relaxed)) return;
    suspended_.store(false, std::memory_order_release);
  }
  ReleaseLever();
  ForwardHeld();
}

void XQueueImpl::SetThrottled(bool throttled) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (throttled_.load(std::memory_order_relaxed) == throttled) return;
    throttled_.store(throttled, std::memory_order_relaxed);
  }
  if (!throttled) ForwardHeld();  // throttled: from now on new packets meet the bound
}

void XQueueImpl::ForwardHeld() {
  bool wake, sync;
  {
    std::lock_guard<std::mutex> lock(mu_);
    PollMarkersLocked();
    ForwardLocked(/*closing=*/false);
    bool was_busy = busy_;
    wake = UpdateBusyLocked(last_soft_write_);
    sync = busy_ != was_busy;
  }
  ReportThenWake(sync, wake);
}

void XQueueImpl::EngageLever() {
  std::lock_guard<std::mutex> lock(lever_mu_);
  if (!lever_ || lever_failed_.load(std::memory_order_relaxed)) return;
  // Resume may have run between our flag change and here: it cleared the flag before taking
  // lever_mu_, so checking under lever_mu_ never leaves a lever engaged on a running queue.
  if (!suspended_.load(std::memory_order_acquire)) return;
  common::Status st = lever_->Engage();
  if (st.ok()) {
    lever_engaged_.store(true, std::memory_order_release);
    return;
  }
  lever_failed_.store(true, std::memory_order_release);
  HP_LOG_ONCE(kWarn, "xqueue: hardware lever failed (%s): falling back to Level-1",
              st.ToString().c_str());
  HP_LOG(kDebug, "xqueue: queue %p lever failed: %s; Level-1 from now on",
         static_cast<void*>(this), st.ToString().c_str());
  lever_->Release();  // contract: a failed lever leaves the queue running; make sure of it
  lever_engaged_.store(false, std::memory_order_release);
}

void XQueueImpl::ReleaseLever() {
  std::lock_guard<std::mutex> lock(lever_mu_);
  if (!lever_ || !lever_engaged_.load(std::memory_order_relaxed)) return;
  common::Status st = lever_->Release();
  lever_engaged_.store(false, std::memory_order_release);
  if (!st.ok()) {
    lever_failed_.store(true, std::memory_order_release);
    HP_LOG_ONCE(kError, "xqueue: hardware lever release failed (%s): Level-1 from now on",
                st.ToString().c_str());
  }
}

int XQueueImpl::UnmetDeps(const uint8_t* slot, hsa_signal_t* deps, int max,
                          bool* blocked) const {
  *blocked = false;
  uint16_t header = aql::LoadHeaderAcquire(slot);
  if (!aql::IsBarrierAndOr(header)) return 0;
  bool is_or = aql::HeaderType(header) == HSA_PACKET_TYPE_BARRIER_OR;
  int unmet = 0, any = 0;
  for (int i = 0; i < aql::kDepSignals; ++i) {
    hsa_signal_t s = aql::DepSignal(slot, i);
    if (s.handle == 0) continue;
    ++any;
    // Reading an application signal is allowed; we never write one.
    if (ops_.signal_load_scacquire(s) == 0) {
      if (is_or) return 0;  // one met dependency satisfies a barrier-OR
      continue;
    }
    if (unmet < max) deps[unmet] = s;
    ++unmet;
  }
  *blocked = unmet > 0 && (!is_or || unmet == any);
  return *blocked ? std::min(unmet, max) : 0;
}

bool XQueueImpl::BarrierBlocked(const uint8_t* slot) const {
  bool blocked;
  UnmetDeps(slot, nullptr, 0, &blocked);
  return blocked;
}

const uint8_t* XQueueImpl::HeadPacketLocked(bool* running) const {
  *running = false;
  uint64_t soft_write = ops_.load_write_index_scacquire(soft_);
  uint64_t done = CompletedMarkersLocked();
  uint64_t completed = done > markers_done_ ? marker_covers_[(done - 1) & cover_mask_] : completed_;
  bool held = soft_write > soft_read_;
  bool in_flight = forwarded_ > completed;
  if (!held && !in_flight) return nullptr;
  uint64_t hw_read = ops_.load_read_index_scacquire(hw_);
  if (hw_read < hw_write_) return HwSlot(hw_read);  // the CP's next packet
  if (in_flight) {  // all consumed, still running
    *running = true;
    return nullptr;
  }
  return SoftSlot(soft_read_);  // oldest held packet
}

bool XQueueImpl::HasRunnableWork() const {
  std::lock_guard<std::mutex> lock(mu_);
  bool running;
  const uint8_t* head = HeadPacketLocked(&running);
  if (head == nullptr) return running;
  return !BarrierBlocked(head);
}

int XQueueImpl::BlockingSignals(hsa_signal_t* deps, int max) const {
  if (deps == nullptr || max <= 0) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  bool running, blocked;
  const uint8_t* head = HeadPacketLocked(&running);
  if (head == nullptr) return 0;
  return UnmetDeps(head, deps, max, &blocked);
}

bool XQueueImpl::HoldsSignalProducer(hsa_signal_t signal) const {
  if (signal.handle == 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t soft_write = ops_.load_write_index_scacquire(soft_);
  for (uint64_t i = soft_read_; i < soft_write; ++i) {
    const uint8_t* slot = SoftSlot(i);
    if (aql::HeaderType(aql::LoadHeaderAcquire(slot)) == HSA_PACKET_TYPE_INVALID) break;
    if (aql::CompletionSignal(slot).handle == signal.handle) return true;
  }
  uint64_t hw_read = std::max(ops_.load_read_index_scacquire(hw_), hw_write_ - std::min(hw_write_, hw_size_));
  for (uint64_t i = hw_read; i < hw_write_; ++i) {
    const uint8_t* slot = HwSlot(i);
    if (aql::HeaderType(aql::LoadHeaderAcquire(slot)) == HSA_PACKET_TYPE_INVALID) continue;
    if (aql::CompletionSignal(slot).handle == signal.handle) return true;
  }
  return false;
}

common::Status XQueueImpl::Drain(uint64_t timeout_ns) {
  {
    // The queue is going away: forward everything the hardware ring takes, threshold or not, and
    // ignore later suspensions (a zero-timeout drain at exit must not leave packets behind).
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
  }
  Resume();
  const uint64_t deadline = common::MonotonicRawNs() + timeout_ns;
  for (;;) {
    bool done, wake, sync;
    uint64_t held, in_flight;
    {
      std::lock_guard<std::mutex> lock(mu_);
      PollMarkersLocked();
      ForwardLocked(/*closing=*/true);
      bool was_busy = busy_;
      wake = UpdateBusyLocked(last_soft_write_);
      sync = busy_ != was_busy;
      held = last_soft_write_ - soft_read_;
      in_flight = forwarded_ - completed_;
      done = held == 0 && in_flight == 0;
    }
    ReportThenWake(sync, wake);
    if (done) return common::Status::Ok();
    if (common::MonotonicRawNs() >= deadline) {
      return common::Status::Error(
          common::Status::Code::kBusy,
          "xqueue drain timed out: " + std::to_string(held) + " packets held, " +
              std::to_string(in_flight) + " in flight");
    }
    timespec ts{0, 20'000};
    nanosleep(&ts, nullptr);
  }
}

XQueueStats XQueueImpl::stats() const {
  XQueueStats s;
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t soft_write = ops_.load_write_index_scacquire(soft_);
  s.submitted = soft_write - soft_origin_;
  s.forwarded = forwarded_;
  s.held = soft_write - soft_read_;
  s.in_flight = forwarded_ - completed_;
  s.window = window_;
  s.packet_ns = packet_ns_;
  s.markers = markers_issued_;
  s.suspensions = suspensions_;
  s.suspended = suspended_.load(std::memory_order_relaxed);
  s.lever_engaged = lever_engaged_.load(std::memory_order_relaxed);
  return s;
}

levels::LeverKind XQueueImpl::lever_kind() const {
  if (!lever_ || lever_failed_.load(std::memory_order_acquire)) return levels::LeverKind::kNone;
  return lever_->kind();
}

}  // namespace hsapreempt::xq
