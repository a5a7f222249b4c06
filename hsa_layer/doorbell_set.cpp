#include "hsa_layer/doorbell_set.h"

#include <sched.h>

#include <mutex>
#include <new>

namespace hsapreempt::hsa {
namespace {

std::mutex& WriterLock() {
  static auto* mu = new std::mutex();  // never destroyed
  return *mu;
}

std::mutex& PoolLock() {
  static auto* mu = new std::mutex();
  return *mu;
}
QueueRecord* g_free_records = nullptr;  // intrusive free list through app_data (PoolLock)

}  // namespace

QueueRecord* NewRecord() {
  {
    std::lock_guard<std::mutex> lock(PoolLock());
    if (g_free_records != nullptr) {
      QueueRecord* r = g_free_records;
      g_free_records = static_cast<QueueRecord*>(r->app_data);
      r->app_data = nullptr;
      return r;
    }
  }
  return new (std::nothrow) QueueRecord();
}

void RecycleRecord(QueueRecord* r) {
  r->xqueue.reset();
  r->lever = nullptr;
  r->app_queue = r->soft = r->hw = nullptr;
  r->doorbell.handle = 0;
  r->scheduled = false;
  r->errored.store(false);
  r->attrs = sched::QueueAttrs();
  r->app_callback = nullptr;
  r->doorbell_handle.store(0, std::memory_order_release);
  std::lock_guard<std::mutex> lock(PoolLock());
  r->app_data = g_free_records;
  g_free_records = r;
}

DoorbellSet* DoorbellSet::Instance() {
  static DoorbellSet* set = new DoorbellSet();  // never destroyed
  return set;
}

DoorbellSet::DoorbellSet() { table_.store(NewTable(1024), std::memory_order_release); }

DoorbellSet::Table* DoorbellSet::NewTable(uint64_t capacity) {
  auto* t = new (std::nothrow) Table();
  if (t == nullptr) return nullptr;
  t->slots = new (std::nothrow) Slot[capacity];
  if (t->slots == nullptr) {
    delete t;
    return nullptr;
  }
  t->mask = capacity - 1;
  int bits = 0;
  while ((1ull << bits) < capacity) ++bits;
  t->shift = 64 - bits;
  return t;
}

QueueRecord* DoorbellSet::Acquire(uint64_t handle) const {
  const Table* t = table_.load(std::memory_order_acquire);
  uint64_t i = Hash(handle) >> t->shift;
  for (uint64_t n = 0; n <= t->mask; ++n, i = (i + 1) & t->mask) {
    const uint64_t key = t->slots[i].key.load(std::memory_order_acquire);
    if (key == 0) return nullptr;
    if (key != handle) continue;
    QueueRecord* r = t->slots[i].record.load(std::memory_order_acquire);
    if (r == nullptr) return nullptr;
    // Dekker pairing with Remove(): either we see the handle cleared, or Remove sees users > 0.
    r->users.fetch_add(1, std::memory_order_seq_cst);
    if (r->doorbell_handle.load(std::memory_order_seq_cst) != handle) {
      Release(r);
      return nullptr;
    }
    return r;
  }
  return nullptr;
}

bool DoorbellSet::Insert(uint64_t handle, QueueRecord* record) {
  std::lock_guard<std::mutex> lock(WriterLock());
  if (live_.load(std::memory_order_relaxed) >= kMaxLive) return false;
  Table* t = table_.load(std::memory_order_relaxed);
  if ((used_ + 1) * 2 > t->mask + 1) {
    RebuildLocked();
    t = table_.load(std::memory_order_relaxed);
  }
  if (used_ + 1 > t->mask) return false;  // rebuild failed (no memory) and the table is full
  record->doorbell_handle.store(handle, std::memory_order_seq_cst);
  uint64_t i = Hash(handle) >> t->shift;
  for (;; i = (i + 1) & t->mask) {
    const uint64_t key = t->slots[i].key.load(std::memory_order_relaxed);
    if (key == 0 || key == kTombstone) {
      if (key == 0) ++used_;
      t->slots[i].record.store(record, std::memory_order_release);
      t->slots[i].key.store(handle, std::memory_order_release);
      live_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
}

void DoorbellSet::Remove(uint64_t handle, QueueRecord* record) {
  {
    std::lock_guard<std::mutex> lock(WriterLock());
    Table* t = table_.load(std::memory_order_relaxed);
    uint64_t i = Hash(handle) >> t->shift;
    for (uint64_t n = 0; n <= t->mask; ++n, i = (i + 1) & t->mask) {
      const uint64_t key = t->slots[i].key.load(std::memory_order_relaxed);
      if (key == 0) break;
      if (key == handle && t->slots[i].record.load(std::memory_order_relaxed) == record) {
        t->slots[i].record.store(nullptr, std::memory_order_release);
        t->slots[i].key.store(kTombstone, std::memory_order_release);
        live_.fetch_sub(1, std::memory_order_relaxed);
        break;
      }
    }
    record->doorbell_handle.store(0, std::memory_order_seq_cst);
  }
  // Readers hold a record for one OnDoorbell call, which never waits for the GPU.
  while (record->users.load(std::memory_order_seq_cst) != 0) sched_yield();
}

void DoorbellSet::RebuildLocked() {
  Table* old = table_.load(std::memory_order_relaxed);
  const uint64_t live = live_.load(std::memory_order_relaxed);
  uint64_t capacity = old->mask + 1;
  while (capacity < (live + 1) * 4) capacity *= 2;
  Table* t = NewTable(capacity);
  if (t == nullptr) return;  // keep probing the old table: slower, still correct
  uint64_t used = 0;
  for (uint64_t j = 0; j <= old->mask; ++j) {
    const uint64_t key = old->slots[j].key.load(std::memory_order_relaxed);
    if (key == 0 || key == kTombstone) continue;
    uint64_t i = Hash(key) >> t->shift;
    while (t->slots[i].key.load(std::memory_order_relaxed) != 0) i = (i + 1) & t->mask;
    t->slots[i].record.store(old->slots[j].record.load(std::memory_order_relaxed),
                             std::memory_order_relaxed);
    t->slots[i].key.store(key, std::memory_order_relaxed);
    ++used;
  }
  used_ = used;
  // The old table stays allocated: a reader may still be probing it.
  table_.store(t, std::memory_order_release);
}

void DoorbellSet::ResetAfterFork() {
  new (&WriterLock()) std::mutex();
  new (&PoolLock()) std::mutex();
}

}  // namespace hsapreempt::hsa
