// A lock-free set of our doorbell signals: signal handle -> QueueRecord.
//
// Every signal store the application makes passes through a lookup here, so reads take no lock
// and cost a hash, one or two loads and (on a hit) an atomic increment: open addressing over the
// signal handle (a pointer to amd_signal_t) with linear probing. Writers (queue create/destroy)
// serialise on a mutex. Removal leaves a tombstone; when tombstones pile up the table is rebuilt
// and the new one published with a release store: old tables are kept (never freed) because a
// reader may still be probing one, which is harmless since Acquire() re-checks the record.
//
// Acquire() returns the record with `users` incremented, or null; Release() drops it. Remove()
// unpublishes a handle and then waits until no reader holds the record, so after Remove() the
// caller may tear the queue down. Records are pooled, so a stale reader touches valid memory and
// sees that the record's handle no longer matches.
#ifndef HSA_LAYER_DOORBELL_SET_H_
#define HSA_LAYER_DOORBELL_SET_H_

#include <atomic>
#include <cstdint>

#include "hsa_layer/queue_record.h"

namespace hsapreempt::hsa {

class DoorbellSet {
 public:
  // Process-wide, never destroyed.
  static DoorbellSet* Instance();

  // Fast check: is any doorbell registered at all?
  bool empty() const { return live_.load(std::memory_order_relaxed) == 0; }

  QueueRecord* Acquire(uint64_t handle) const;
  static void Release(QueueRecord* record) {
    record->users.fetch_sub(1, std::memory_order_release);
  }

  // False if the set is full (the caller falls back to passthrough).
  bool Insert(uint64_t handle, QueueRecord* record);
  // Unpublishes `handle` and waits for readers of `record` to leave (they are brief: a reader
  // holds a record only for one OnDoorbell call).
  void Remove(uint64_t handle, QueueRecord* record);

  // In a forked child (single-threaded): fresh, unlocked writer and record-pool locks. Readers
  // never lock, so whatever a parent writer was doing leaves a table they can still probe.
  void ResetAfterFork();

 private:
  struct Slot {
    std::atomic<uint64_t> key{0};  // 0 empty, kTombstone removed, else a signal handle
    std::atomic<QueueRecord*> record{nullptr};
  };
  struct Table {
    uint64_t mask = 0;  // capacity - 1 (capacity a power of two)
    int shift = 0;      // 64 - log2(capacity): index = Hash(handle) >> shift
    Slot* slots = nullptr;
  };
  static constexpr uint64_t kTombstone = 1;  // signal handles are aligned pointers, never 1
  static constexpr uint64_t kMaxLive = 1u << 16;

  DoorbellSet();
  static uint64_t Hash(uint64_t handle) { return (handle >> 4) * 0x9E3779B97F4A7C15ull; }
  Table* NewTable(uint64_t capacity);
  void RebuildLocked();

  std::atomic<Table*> table_{nullptr};
  std::atomic<uint64_t> live_{0};
  uint64_t used_ = 0;  // live + tombstones in the current table (writer lock)
};

}  // namespace hsapreempt::hsa

#endif  // HSA_LAYER_DOORBELL_SET_H_
