// The simulated device's execution model (engine.h states the semantics).
#include "simdev/model/engine.h"

#include <algorithm>
#include <cstring>

namespace simdev {
namespace {

constexpr uint64_t kNever = UINT64_MAX;

uint32_t WordsFor(uint32_t slots) { return (slots + 63) / 64; }

}  // namespace

void Engine::Init(DeviceState* s, const ModelConfig& config) {
  s->config = config;
  s->now = 0;
  s->paused_until = 0;
  s->last_reap_ns = 0;
  s->total_slots = std::min<uint32_t>(config.cus * config.slots_per_cu, kMaxSlots);
  s->free_count = s->total_slots;
  memset(&s->free, 0, sizeof(s->free));
  for (uint32_t i = 0; i < s->total_slots; ++i) s->free.w[i / 64] |= 1ull << (i % 64);
  s->queue_count = 0;
  s->rr_cursor = 0;
  for (uint32_t i = 0; i < kMaxQueues; ++i) {
    s->queues[i].in_use = 0;
    s->queues[i].runnable.store(0, std::memory_order_relaxed);
  }
  s->active_count = 0;
  s->batch_free_head = -1;
  s->batch_hwm = 0;
  s->dispatch_free_head = -1;
  s->dispatch_hwm = 0;
  s->dispatch_seq = 0;
  s->trace_seq = 0;
}

bool Engine::ValidSlot(int slot) const {
  return slot >= 0 && slot < static_cast<int>(kMaxQueues) && s_->queues[slot].in_use;
}

void Engine::Trace(uint32_t kind, int slot, uint64_t dispatch, uint64_t value, uint64_t time_ns) {
  hsapreempt_sim_event& e = s_->trace[s_->trace_seq % kTraceCapacity];
  e.time_ns = time_ns;
  e.kind = kind;
  e.pid = ValidSlot(slot) ? s_->queues[slot].pid : 0;
  e.queue_id = ValidSlot(slot) ? s_->queues[slot].kfd_queue_id : 0;
  e.reserved = 0;
  e.dispatch = dispatch;
  e.value = value;
  ++s_->trace_seq;
}

size_t Engine::TraceRead(uint64_t* cursor, hsapreempt_sim_event* out, size_t max) const {
  uint64_t seq = s_->trace_seq;
  uint64_t c = *cursor;
  uint64_t oldest = seq > kTraceCapacity ? seq - kTraceCapacity : 0;
  if (c > seq || c < oldest) c = oldest;  // fell behind, or a cursor from another segment
  size_t n = static_cast<size_t>(std::min<uint64_t>(max, seq - c));
  for (size_t i = 0; i < n; ++i) out[i] = s_->trace[(c + i) % kTraceCapacity];
  *cursor = c + n;
  return n;
}

// ---- Tables ------------------------------------------------------------------------------

int Engine::NewBatch() {
  int b = s_->batch_free_head;
  if (b >= 0) {
    s_->batch_free_head = s_->batches[b].next;
  } else if (s_->batch_hwm < kMaxBatches) {
    b = static_cast<int>(s_->batch_hwm++);
  } else {
    return -1;
  }
  BatchEntry& x = s_->batches[b];
  x.next = -1;
  x.preempt_at = kNever;
  x.remaining_ns = 0;
  x.lo_word = 1;
  x.hi_word = 0;
  return b;
}

void Engine::FreeBatch(int b) {
  BatchEntry& x = s_->batches[b];
  x.state = kBatchFree;
  x.next = s_->batch_free_head;
  s_->batch_free_head = b;
}

void Engine::Activate(int b) {
  s_->batches[b].active_pos = s_->active_count;
  s_->active_batches[s_->active_count++] = b;
}

void Engine::Deactivate(int b) {
  uint32_t pos = s_->batches[b].active_pos;
  int last = s_->active_batches[--s_->active_count];
  s_->active_batches[pos] = last;
  s_->batches[last].active_pos = pos;
}

void Engine::FreeDispatch(int d) {
  DispatchEntry& x = s_->dispatches[d];
  x.in_use = 0;
  x.next = s_->dispatch_free_head;
  s_->dispatch_free_head = d;
}

uint32_t Engine::AvailableFor(const QueueEntry& q) const {
  if (q.full_mask) return s_->free_count;
  uint32_t n = 0;
  for (uint32_t w = 0, words = WordsFor(s_->total_slots); w < words; ++w) {
    n += __builtin_popcountll(s_->free.w[w] & q.allowed.w[w]);
  }
  return n;
}

uint32_t Engine::TakeSlots(const QueueEntry& q, uint32_t n, BatchEntry* b) {
  // Adds up to n free slots the queue may use to the batch (which may already hold some).
  uint32_t taken = 0;
  for (uint32_t w = 0, words = WordsFor(s_->total_slots); w < words && taken < n; ++w) {
    uint64_t avail = s_->free.w[w] & (q.full_mask ? ~0ull : q.allowed.w[w]);
    if (avail == 0) continue;
    uint32_t want = n - taken;
    uint64_t take = 0;
    if (static_cast<uint32_t>(__builtin_popcountll(avail)) <= want) {
      take = avail;
    } else {
      for (uint32_t k = 0; k < want; ++k) {
        uint64_t low = avail & (~avail + 1);
        take |= low;
        avail ^= low;
      }
    }
    s_->free.w[w] &= ~take;
    b->slots.w[w] |= take;
    taken += __builtin_popcountll(take);
    if (b->lo_word > b->hi_word) {
      b->lo_word = b->hi_word = w;
    } else {
      b->lo_word = std::min(b->lo_word, w);
      b->hi_word = std::max(b->hi_word, w);
    }
  }
  s_->free_count -= taken;
  return taken;
}

void Engine::ReleaseSlots(BatchEntry* b) {
  for (uint32_t w = b->lo_word; w <= b->hi_word && b->lo_word <= b->hi_word; ++w) {
    s_->free.w[w] |= b->slots.w[w];
    s_->free_count += __builtin_popcountll(b->slots.w[w]);
  }
  b->lo_word = 1;
  b->hi_word = 0;
}

// ---- Event replay ------------------------------------------------------------------------

// When the head of the queue's FIFO may start (slots permitting): kNever if it has no head or its
// barrier still waits for an earlier dispatch to end.
uint64_t Engine::HeadReadyAt(const QueueEntry& q) const {
  if (q.fifo_head < 0) return kNever;
  const DispatchEntry& d = s_->dispatches[q.fifo_head];
  if (d.started) return 0;
  if (!d.barrier) return d.ready_ns;
  if (q.started_unended > 0) return kNever;
  return std::max(d.ready_ns, q.last_end_ns + d.gap_ns);
}

uint64_t Engine::EarliestEvent() const {
  uint64_t e = s_->paused_until > s_->now ? s_->paused_until : kNever;
  for (uint32_t i = 0; i < s_->active_count; ++i) {
    const BatchEntry& x = s_->batches[s_->active_batches[i]];
    uint64_t t = x.state == kBatchRunning ? std::min(x.end_ns, x.preempt_at) : x.end_ns;
    e = std::min(e, t);
  }
  // A head that becomes ready later (launched ahead of time, or a barrier's gap after its
  // predecessor's end) is an event when it could start then: its queue runs and a slot is free.
  // A head ready now but without room starts at the next slot-freeing event instead.
  for (uint32_t k = 0; k < s_->queue_count; ++k) {
    const QueueEntry& q = s_->queues[s_->queue_dense[k]];
    if (q.fifo_head < 0 || !q.runnable.load(std::memory_order_relaxed)) continue;
    if (s_->free_count == 0 && !s_->dispatches[q.fifo_head].cp_only) continue;
    uint64_t r = HeadReadyAt(q);
    if (r > s_->now && r < e) e = r;
  }
  return e;
}

void Engine::FinishBatch(int b) {
  BatchEntry& x = s_->batches[b];
  QueueEntry& q = s_->queues[x.queue];
  DispatchEntry& d = s_->dispatches[x.dispatch];
  ReleaseSlots(&x);
  q.running_wgs -= x.wgs;
  d.outstanding_wgs -= x.wgs;
  if (d.pending_wgs == 0 && d.outstanding_wgs == 0) {
    d.ended = 1;
    d.end_ns = x.end_ns;
    --q.started_unended;
    q.last_end_ns = std::max(q.last_end_ns, x.end_ns);
    Trace(HSAPREEMPT_SIM_EV_DISPATCH_END, x.queue, d.packet_index, 0, x.end_ns);
  }
  Deactivate(b);
  FreeBatch(b);
}

void Engine::ProcessEventsAt(uint64_t t) {
  bool again = true;
  while (again) {
    again = false;
    for (uint32_t i = 0; i < s_->active_count;) {
      int b = s_->active_batches[i];
      BatchEntry& x = s_->batches[b];
      if (x.state == kBatchRunning) {
        if (x.preempt_at <= t && x.preempt_at < x.end_ns) {
          QueueEntry& q = s_->queues[x.queue];
          x.remaining_ns = x.end_ns - x.preempt_at;
          x.state = kBatchSaving;
          x.end_ns = x.preempt_at + s_->config.cwsr_save_ns;
          x.preempt_at = kNever;
          q.running_wgs -= x.wgs;
          q.saved_wgs += x.wgs;
          again = true;
          ++i;
          continue;
        }
        if (x.end_ns <= t) {
          FinishBatch(b);  // swaps another batch into position i
          again = true;
          continue;
        }
      } else if (x.state == kBatchSaving && x.end_ns <= t) {
        QueueEntry& q = s_->queues[x.queue];
        ReleaseSlots(&x);
        Deactivate(b);
        x.state = kBatchSaved;
        x.next = q.saved_head;
        q.saved_head = b;
        again = true;
        continue;
      }
      ++i;
    }
  }
  changed_ = true;
}

void Engine::AdvanceTo(uint64_t t) {
  if (t < s_->now) t = s_->now;
  for (;;) {
    uint64_t e = EarliestEvent();
    if (e > t) break;
    s_->now = e;
    ProcessEventsAt(e);
    Refill(e);
  }
  s_->now = t;
}

// One refill round: every runnable queue with work gets at most one batch (its restored saved
// batch, else workgroups of its oldest dispatch with unstarted ones), and the free slots are dealt
// evenly among them (water-filling, so a queue that needs fewer leaves the rest to the others), as
// the hardware's dispatcher interleaves workgroups of the queues it serves. Returns true if any
// batch started.
bool Engine::RefillRound(uint64_t t) {
  struct Item {
    int queue;
    int saved;  // saved batch to restore, or -1: new workgroups of the FIFO head
    uint32_t demand;
    int batch;
    uint32_t granted;
  };
  Item items[kMaxQueues];
  uint32_t count = 0, n = s_->queue_count;
  for (uint32_t k = 0; k < n; ++k) {
    int qi = s_->queue_dense[(s_->rr_cursor + k) % n];
    QueueEntry& q = s_->queues[qi];
    if (!q.runnable.load(std::memory_order_relaxed)) continue;
    if (q.saved_head >= 0) {
      items[count++] = {qi, q.saved_head, s_->batches[q.saved_head].wgs, -1, 0};
    } else if (q.fifo_head >= 0 && !s_->dispatches[q.fifo_head].cp_only && HeadReadyAt(q) <= t) {
      items[count++] = {qi, -1, s_->dispatches[q.fifo_head].pending_wgs, -1, 0};
    }
  }
  if (count == 0) return false;
  uint32_t words = WordsFor(s_->total_slots);
  bool progress = true;
  while (progress && s_->free_count > 0) {
    progress = false;
    uint32_t eligible = 0;
    for (uint32_t i = 0; i < count; ++i) {
      if (items[i].demand > 0 && AvailableFor(s_->queues[items[i].queue]) > 0) ++eligible;
    }
    if (eligible == 0) break;
    uint32_t chunk = std::max<uint32_t>(1, s_->free_count / eligible);
    for (uint32_t i = 0; i < count && s_->free_count > 0; ++i) {
      Item& it = items[i];
      if (it.demand == 0) continue;
      const QueueEntry& q = s_->queues[it.queue];
      uint32_t want = std::min(chunk, it.demand);
      if (it.batch < 0 && it.saved >= 0) {
        // A restore gathers its slots in the saved entry itself, so a full restore never needs a
        // free table entry (saved batches could otherwise fill the table for good).
        if (AvailableFor(q) == 0) continue;
        it.batch = it.saved;
        BatchEntry& sv = s_->batches[it.saved];
        sv.lo_word = 1;
        sv.hi_word = 0;
        memset(sv.slots.w, 0, words * sizeof(uint64_t));
      } else if (it.batch < 0) {
        if (AvailableFor(q) == 0) continue;
        it.batch = NewBatch();
        if (it.batch < 0) {  // batch table full: new work waits; restores need no entry
          it.demand = 0;
          continue;
        }
        memset(s_->batches[it.batch].slots.w, 0, words * sizeof(uint64_t));
      }
      uint32_t got = TakeSlots(q, want, &s_->batches[it.batch]);
      it.demand -= got;
      it.granted += got;
      if (got > 0) progress = true;
    }
  }
  bool started = false;
  for (uint32_t i = 0; i < count; ++i) {
    Item& it = items[i];
    if (it.batch < 0) continue;
    QueueEntry& q = s_->queues[it.queue];
    if (it.saved >= 0) {
      BatchEntry& sv = s_->batches[it.saved];
      if (it.granted == 0) continue;
      if (it.granted < sv.wgs) {
        // Partial restore: the rest stays saved in a new entry; without one, wait for more room.
        int rest = NewBatch();
        if (rest < 0) {
          ReleaseSlots(&sv);
          continue;
        }
        BatchEntry& r = s_->batches[rest];
        r.state = kBatchSaved;
        r.dispatch = sv.dispatch;
        r.queue = sv.queue;
        r.wgs = sv.wgs - it.granted;
        r.remaining_ns = sv.remaining_ns;
        r.next = sv.next;
        q.saved_head = rest;
      } else {
        q.saved_head = sv.next;
      }
      started = true;
      sv.wgs = it.granted;
      sv.state = kBatchRunning;
      sv.preempt_at = kNever;
      sv.next = -1;
      sv.end_ns = t + s_->config.cwsr_restore_ns + sv.remaining_ns;
      q.saved_wgs -= it.granted;
      q.running_wgs += it.granted;
      Activate(it.saved);
      Trace(HSAPREEMPT_SIM_EV_RESTORE, it.queue, s_->dispatches[sv.dispatch].packet_index,
            it.granted, t);
      continue;
    }
    if (it.granted == 0) {
      FreeBatch(it.batch);
      continue;
    }
    started = true;
    BatchEntry& x = s_->batches[it.batch];
    x.queue = it.queue;
    x.wgs = it.granted;
    x.state = kBatchRunning;
    x.preempt_at = kNever;
    x.next = -1;
    q.running_wgs += it.granted;
    int di = q.fifo_head;
    DispatchEntry& d = s_->dispatches[di];
    x.dispatch = di;
    x.end_ns = t + d.workgroup_ns;
    if (!d.started) {
      d.started = 1;
      d.start_ns = t;
      ++q.started_unended;
      Trace(HSAPREEMPT_SIM_EV_DISPATCH_START, it.queue, d.packet_index, d.pending_wgs, t);
    }
    d.pending_wgs -= it.granted;
    d.outstanding_wgs += it.granted;
    if (d.pending_wgs == 0) PopFifoHead(&q);
    Activate(it.batch);
  }
  if (started) changed_ = true;
  return started;
}

// Unlinks the head of the queue's FIFO (it has no unstarted workgroups left).
void Engine::PopFifoHead(QueueEntry* q) {
  DispatchEntry& d = s_->dispatches[q->fifo_head];
  q->fifo_head = d.next;
  if (q->fifo_head < 0) q->fifo_tail = -1;
  d.next = -1;
}

// Completes every cp_only entry at the head of a runnable queue that is ready at t (they need no
// slot). Returns true if any did.
bool Engine::StartCpOnlyHeads(uint64_t t) {
  bool any = false;
  for (uint32_t k = 0; k < s_->queue_count; ++k) {
    QueueEntry& q = s_->queues[s_->queue_dense[k]];
    if (!q.runnable.load(std::memory_order_relaxed)) continue;
    while (q.fifo_head >= 0 && s_->dispatches[q.fifo_head].cp_only && HeadReadyAt(q) <= t) {
      DispatchEntry& d = s_->dispatches[q.fifo_head];
      d.started = d.ended = 1;
      d.start_ns = d.end_ns = t;
      q.last_end_ns = std::max(q.last_end_ns, t);
      PopFifoHead(&q);
      any = true;
    }
  }
  if (any) changed_ = true;
  return any;
}

void Engine::Refill(uint64_t t) {
  if (t < s_->paused_until || s_->queue_count == 0) return;
  // Rounds until nothing more starts (a queue whose head dispatch got all its workgroups started
  // may start its next one in the next round; a cp_only head completes and uncovers the next).
  // The cursor rotates who gets a round's remainder.
  for (;;) {
    bool cp = StartCpOnlyHeads(t);
    if (s_->free_count > 0 && RefillRound(t)) continue;
    if (!cp) break;
  }
  s_->rr_cursor = s_->queue_count > 0 ? (s_->rr_cursor + 1) % s_->queue_count : 0;
}

// ---- Launch and poll --------------------------------------------------------------------

uint64_t Engine::Launch(int slot, const KernelWork& work, uint64_t not_before) {
  if (!ValidSlot(slot)) return 0;
  if (s_->dispatch_free_head < 0 && s_->dispatch_hwm >= kMaxDispatches) return 0;  // full
  uint64_t t = s_->now;
  int di = s_->dispatch_free_head;
  if (di >= 0) {
    s_->dispatch_free_head = s_->dispatches[di].next;
  } else {
    di = static_cast<int>(s_->dispatch_hwm++);
  }
  DispatchEntry& d = s_->dispatches[di];
  if (++s_->dispatch_seq == 0) ++s_->dispatch_seq;
  d.in_use = 1;
  d.seq = s_->dispatch_seq;
  d.queue = slot;
  d.next = -1;
  d.pending_wgs = work.cp_only ? 0 : work.workgroups == 0 ? 1 : work.workgroups;
  d.outstanding_wgs = 0;
  d.started = d.ended = 0;
  d.barrier = work.barrier ? 1 : 0;
  d.cp_only = work.cp_only ? 1 : 0;
  d.ready_ns = std::max(t, not_before);
  d.gap_ns = work.barrier_gap_ns;
  d.workgroup_ns = work.workgroup_ns;
  d.packet_index = work.packet_index;
  d.start_ns = d.end_ns = 0;
  QueueEntry& q = s_->queues[slot];
  if (q.fifo_tail >= 0) {
    s_->dispatches[q.fifo_tail].next = di;
  } else {
    q.fifo_head = di;
  }
  q.fifo_tail = di;
  Trace(HSAPREEMPT_SIM_EV_DISPATCH_LAUNCH, slot, d.packet_index, d.pending_wgs,
        work.seen_ns != 0 ? work.seen_ns : t);
  Refill(t);
  changed_ = true;
  return (static_cast<uint64_t>(d.seq) << 32) | static_cast<uint64_t>(di + 1);
}

bool Engine::Poll(uint64_t handle, uint64_t now, DispatchTimes* times) {
  uint64_t idx = (handle & 0xffffffffull);
  uint32_t seq = static_cast<uint32_t>(handle >> 32);
  if (idx == 0 || idx > s_->dispatch_hwm || !s_->dispatches[idx - 1].in_use ||
      s_->dispatches[idx - 1].seq != seq) {
    if (times != nullptr) *times = DispatchTimes{};
    return true;  // unknown or dropped (its queue was removed): nothing left to wait for
  }
  AdvanceTo(now);
  DispatchEntry& d = s_->dispatches[idx - 1];
  if (!d.ended) return false;
  if (times != nullptr) {
    times->start_ns = d.start_ns;
    times->end_ns = d.end_ns;
  }
  FreeDispatch(static_cast<int>(idx - 1));
  return true;
}

uint64_t Engine::NextEventTime(uint64_t now) {
  AdvanceTo(now);
  return EarliestEvent();
}

}  // namespace simdev
