// Queue control of the execution model: runlist changes, CWSR preemption, queue create/destroy,
// active/suspend/CU mask/priority, queries, and repair after a process died holding the lock
// (engine.h states the semantics).
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "simdev/model/engine.h"

namespace simdev {
namespace {

constexpr uint64_t kNever = UINT64_MAX;
constexpr uint64_t kEcQueueNew = 1ull << (31 - 1);  // KFD_EC_MASK(EC_QUEUE_NEW)

}  // namespace

// ---- Queue control -----------------------------------------------------------------------

void Engine::RunlistChange(uint64_t t, const bool* preempting, uint64_t grace_ns) {
  uint64_t r = s_->config.runlist_update_ns;
  s_->paused_until = std::max(s_->paused_until, t) + r;
  for (uint32_t i = 0; i < s_->active_count; ++i) {
    BatchEntry& x = s_->batches[s_->active_batches[i]];
    if (x.state != kBatchRunning) continue;
    if (preempting != nullptr && preempting[x.queue]) continue;
    x.end_ns += r;
    if (x.preempt_at != kNever) x.preempt_at += r;
  }
  Trace(HSAPREEMPT_SIM_EV_RUNLIST, -1, 0, r, t);
  if (preempting != nullptr) {
    for (uint32_t q = 0; q < kMaxQueues; ++q) {
      if (preempting[q]) Preempt(static_cast<int>(q), t + grace_ns);
    }
  }
  changed_ = true;
}

void Engine::Preempt(int qi, uint64_t at) {
  uint64_t saved = 0;
  for (uint32_t i = 0; i < s_->active_count; ++i) {
    BatchEntry& x = s_->batches[s_->active_batches[i]];
    if (x.queue != qi || x.state != kBatchRunning) continue;
    if (at < x.preempt_at) x.preempt_at = at;
    if (x.end_ns > x.preempt_at) saved += x.wgs;
  }
  if (saved > 0) Trace(HSAPREEMPT_SIM_EV_PREEMPT, qi, 0, saved, at);
}

void Engine::UpdateRunnable(int qi) {
  QueueEntry& q = s_->queues[qi];
  q.runnable.store(q.active && !q.suspended ? 1 : 0, std::memory_order_release);
}

int Engine::AddQueue(uint32_t pid, uint64_t pid_start_time, uint32_t kfd_queue_id,
                     uint64_t ring_base, uint64_t ring_bytes, uint32_t priority, uint64_t now) {
  int slot = -1;
  for (uint32_t i = 0; i < kMaxQueues; ++i) {
    if (!s_->queues[i].in_use) {
      slot = static_cast<int>(i);
      break;
    }
  }
  if (slot < 0) return -1;
  AdvanceTo(now);
  uint64_t t = s_->now;
  QueueEntry& q = s_->queues[slot];
  q.in_use = 1;
  q.pid = pid;
  q.pid_start_time = pid_start_time;
  q.kfd_queue_id = kfd_queue_id;
  q.priority = priority;
  q.ring_base = ring_base;
  q.ring_bytes = ring_bytes;
  q.active = 1;
  q.suspended = 0;
  q.full_mask = 1;
  q.cus_enabled = s_->config.cus;
  q.exception_status = kEcQueueNew;
  q.fifo_head = q.fifo_tail = q.saved_head = -1;
  q.saved_wgs = q.running_wgs = 0;
  q.started_unended = 0;
  q.last_end_ns = 0;
  q.dense_pos = s_->queue_count;
  s_->queue_dense[s_->queue_count++] = slot;
  UpdateRunnable(slot);
  Trace(HSAPREEMPT_SIM_EV_QUEUE_CREATE, slot, 0, ring_bytes, t);
  RunlistChange(t, nullptr, 0);
  return slot;
}

void Engine::RemoveQueue(int slot, uint64_t now) {
  if (!ValidSlot(slot)) return;
  AdvanceTo(now);
  uint64_t t = s_->now;
  QueueEntry& q = s_->queues[slot];
  Trace(HSAPREEMPT_SIM_EV_QUEUE_DESTROY, slot, 0, 0, t);
  for (uint32_t i = 0; i < s_->active_count;) {
    int b = s_->active_batches[i];
    if (s_->batches[b].queue != slot) {
      ++i;
      continue;
    }
    ReleaseSlots(&s_->batches[b]);
    Deactivate(b);
    FreeBatch(b);
  }
  for (int b = q.saved_head; b >= 0;) {
    int next = s_->batches[b].next;
    FreeBatch(b);
    b = next;
  }
  for (uint32_t d = 0; d < s_->dispatch_hwm; ++d) {
    if (s_->dispatches[d].in_use && s_->dispatches[d].queue == slot) FreeDispatch(d);
  }
  uint32_t pos = q.dense_pos;
  int last = s_->queue_dense[--s_->queue_count];
  s_->queue_dense[pos] = last;
  s_->queues[last].dense_pos = pos;
  if (s_->rr_cursor >= s_->queue_count) s_->rr_cursor = 0;
  q.in_use = 0;
  q.runnable.store(0, std::memory_order_release);
  RunlistChange(t, nullptr, 0);
  Refill(t);
}

int Engine::SetActive(int slot, bool active, uint64_t now) {
  if (!ValidSlot(slot)) return EINVAL;
  AdvanceTo(now);
  uint64_t t = s_->now;
  QueueEntry& q = s_->queues[slot];
  bool was = q.runnable.load(std::memory_order_relaxed);
  q.active = active ? 1 : 0;
  bool preempting[kMaxQueues] = {};
  preempting[slot] = was && !(q.active && !q.suspended);
  Trace(HSAPREEMPT_SIM_EV_QUEUE_ACTIVE, slot, 0, active ? 1 : 0, t);
  RunlistChange(t, preempting, 0);
  UpdateRunnable(slot);
  AdvanceTo(t);
  Refill(t);
  return 0;
}

int Engine::SetSuspended(const int* slots, int count, bool suspended, uint64_t grace_ns,
                         uint64_t now) {
  for (int i = 0; i < count; ++i) {
    if (!ValidSlot(slots[i])) return EINVAL;
  }
  if (count <= 0) return 0;
  AdvanceTo(now);
  uint64_t t = s_->now;
  bool preempting[kMaxQueues] = {};
  for (int i = 0; i < count; ++i) {
    QueueEntry& q = s_->queues[slots[i]];
    bool was = q.runnable.load(std::memory_order_relaxed);
    q.suspended = suspended ? 1 : 0;
    preempting[slots[i]] = was && !(q.active && !q.suspended);
    Trace(HSAPREEMPT_SIM_EV_QUEUE_SUSPEND, slots[i], 0, suspended ? 1 : 0, t);
  }
  RunlistChange(t, preempting, grace_ns);
  for (int i = 0; i < count; ++i) UpdateRunnable(slots[i]);
  AdvanceTo(t);
  Refill(t);
  return 0;
}

int Engine::SetCuMask(int slot, const uint32_t* mask, uint32_t mask_bits, uint64_t now) {
  if (!ValidSlot(slot)) return EINVAL;
  if (mask == nullptr && mask_bits != 0) return EINVAL;
  AdvanceTo(now);
  uint64_t t = s_->now;
  QueueEntry& q = s_->queues[slot];
  memset(&q.allowed, 0, sizeof(q.allowed));
  uint32_t spc = s_->config.slots_per_cu, enabled = 0;
  for (uint32_t cu = 0; cu < s_->config.cus && cu < mask_bits; ++cu) {
    if (!((mask[cu / 32] >> (cu % 32)) & 1u)) continue;
    ++enabled;
    for (uint32_t k = 0; k < spc; ++k) {
      uint32_t sl = cu * spc + k;
      if (sl < s_->total_slots) q.allowed.w[sl / 64] |= 1ull << (sl % 64);
    }
  }
  q.cus_enabled = enabled;
  q.full_mask = enabled == s_->config.cus ? 1 : 0;
  bool preempting[kMaxQueues] = {};
  preempting[slot] = q.runnable.load(std::memory_order_relaxed) != 0;
  Trace(HSAPREEMPT_SIM_EV_CU_MASK, slot, 0, enabled, t);
  // The driver preempts the queue (CWSR) and remaps it: its waves resume on the new CUs.
  RunlistChange(t, preempting, 0);
  AdvanceTo(t);
  Refill(t);
  return 0;
}

int Engine::SetPriority(int slot, uint32_t priority, uint64_t now) {
  if (!ValidSlot(slot)) return EINVAL;
  AdvanceTo(now);
  s_->queues[slot].priority = priority;
  RunlistChange(s_->now, nullptr, 0);
  return 0;
}

bool Engine::GetQueueInfo(int slot, DeviceQueueInfo* info) const {
  if (!ValidSlot(slot)) return false;
  const QueueEntry& q = s_->queues[slot];
  info->pid = q.pid;
  info->kfd_queue_id = q.kfd_queue_id;
  info->ring_base = q.ring_base;
  info->ring_bytes = q.ring_bytes;
  info->priority = q.priority;
  info->active = q.active != 0;
  info->suspended = q.suspended != 0;
  info->cus_enabled = q.cus_enabled;
  info->exception_status = q.exception_status;
  info->saved_workgroups = q.saved_wgs;
  info->running_workgroups = q.running_wgs;
  return true;
}

int Engine::FindQueue(uint32_t pid, uint32_t kfd_queue_id) const {
  for (uint32_t i = 0; i < s_->queue_count; ++i) {
    int slot = s_->queue_dense[i];
    const QueueEntry& q = s_->queues[slot];
    if (q.pid == pid && q.kfd_queue_id == kfd_queue_id) return slot;
  }
  return -1;
}

void Engine::ClearExceptions(int slot, uint64_t mask) {
  if (ValidSlot(slot)) s_->queues[slot].exception_status &= ~mask;
}

// ---- Repair after a process died holding the lock ----------------------------------------

void Engine::Repair() {
  // Queues: rebuild the dense list and counters.
  s_->queue_count = 0;
  for (uint32_t i = 0; i < kMaxQueues; ++i) {
    QueueEntry& q = s_->queues[i];
    if (!q.in_use) continue;
    q.dense_pos = s_->queue_count;
    s_->queue_dense[s_->queue_count++] = static_cast<int>(i);
    q.fifo_head = q.fifo_tail = q.saved_head = -1;
    q.saved_wgs = q.running_wgs = 0;
    q.started_unended = 0;
    UpdateRunnable(static_cast<int>(i));
  }
  s_->rr_cursor = 0;
  // Dispatches: keep those of live queues; outstanding counts are rebuilt from the batches.
  std::vector<int> pending;
  s_->dispatch_hwm = std::min<uint32_t>(s_->dispatch_hwm, kMaxDispatches);
  s_->batch_hwm = std::min<uint32_t>(s_->batch_hwm, kMaxBatches);
  s_->dispatch_free_head = -1;
  for (int d = static_cast<int>(s_->dispatch_hwm) - 1; d >= 0; --d) {
    DispatchEntry& x = s_->dispatches[d];
    if (x.in_use && ValidSlot(x.queue)) {
      x.outstanding_wgs = 0;
      if (x.started && !x.ended) ++s_->queues[x.queue].started_unended;
      if (x.pending_wgs > 0 || (x.cp_only && !x.started)) pending.push_back(d);
    } else {
      FreeDispatch(d);
    }
  }
  // Batches: all slots free, then re-take what running/saving batches hold.
  memset(&s_->free, 0, sizeof(s_->free));
  for (uint32_t i = 0; i < s_->total_slots; ++i) s_->free.w[i / 64] |= 1ull << (i % 64);
  s_->free_count = s_->total_slots;
  s_->active_count = 0;
  s_->batch_free_head = -1;
  for (int b = static_cast<int>(s_->batch_hwm) - 1; b >= 0; --b) {
    BatchEntry& x = s_->batches[b];
    bool live = x.state != kBatchFree && ValidSlot(x.queue) && x.dispatch >= 0 &&
                x.dispatch < static_cast<int>(s_->dispatch_hwm) &&
                s_->dispatches[x.dispatch].in_use && s_->dispatches[x.dispatch].queue == x.queue;
    if (!live) {
      FreeBatch(b);
      continue;
    }
    QueueEntry& q = s_->queues[x.queue];
    s_->dispatches[x.dispatch].outstanding_wgs += x.wgs;
    if (x.state == kBatchSaved) {
      x.next = q.saved_head;
      q.saved_head = b;
      q.saved_wgs += x.wgs;
      continue;
    }
    for (uint32_t w = x.lo_word; w <= x.hi_word && x.lo_word <= x.hi_word; ++w) {
      x.slots.w[w] &= s_->free.w[w];  // a slot claimed twice stays with the first claimant
      s_->free.w[w] &= ~x.slots.w[w];
      s_->free_count -= __builtin_popcountll(x.slots.w[w]);
    }
    (x.state == kBatchRunning ? q.running_wgs : q.saved_wgs) += x.wgs;
    Activate(b);
  }
  // A started dispatch whose batches were all dropped above can never end by itself: end it, so
  // a barrier behind it is not held for good.
  for (uint32_t d = 0; d < s_->dispatch_hwm; ++d) {
    DispatchEntry& x = s_->dispatches[d];
    if (x.in_use && x.started && !x.ended && x.pending_wgs == 0 && x.outstanding_wgs == 0) {
      x.ended = 1;
      x.end_ns = s_->now;
      --s_->queues[x.queue].started_unended;
    }
  }
  // FIFOs in launch order (sequence numbers grow with launches).
  std::sort(pending.begin(), pending.end(),
            [this](int a, int b) { return s_->dispatches[a].seq < s_->dispatches[b].seq; });
  for (int d : pending) {
    QueueEntry& q = s_->queues[s_->dispatches[d].queue];
    s_->dispatches[d].next = -1;
    if (q.fifo_tail >= 0) {
      s_->dispatches[q.fifo_tail].next = d;
    } else {
      q.fifo_head = d;
    }
    q.fifo_tail = d;
  }
  changed_ = true;
}

}  // namespace simdev
