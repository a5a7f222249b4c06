// DoorbellSet: lookups while other threads insert and remove, removal waiting for readers, and
// rebuilds under churn.
#include "hsa_layer/doorbell_set.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace hsapreempt::hsa {
namespace {

uint64_t Handle(uint64_t i) { return 0x10000000ull + i * 64; }  // aligned like amd_signal_t

TEST(DoorbellSetTest, InsertAcquireRemove) {
  DoorbellSet* set = DoorbellSet::Instance();
  QueueRecord* r = NewRecord();
  ASSERT_TRUE(set->Insert(Handle(1), r));
  EXPECT_FALSE(set->empty());
  QueueRecord* got = set->Acquire(Handle(1));
  EXPECT_EQ(got, r);
  EXPECT_EQ(r->users.load(), 1);
  DoorbellSet::Release(got);
  EXPECT_EQ(set->Acquire(Handle(2)), nullptr);
  set->Remove(Handle(1), r);
  EXPECT_EQ(set->Acquire(Handle(1)), nullptr);
  EXPECT_TRUE(set->empty());
  RecycleRecord(r);
}

TEST(DoorbellSetTest, RemoveWaitsForReader) {
  DoorbellSet* set = DoorbellSet::Instance();
  QueueRecord* r = NewRecord();
  ASSERT_TRUE(set->Insert(Handle(7), r));
  QueueRecord* held = set->Acquire(Handle(7));
  ASSERT_EQ(held, r);
  std::atomic<bool> removed{false};
  std::thread remover([&] {
    set->Remove(Handle(7), r);
    removed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(removed.load()) << "Remove returned while a reader held the record";
  DoorbellSet::Release(held);
  remover.join();
  EXPECT_TRUE(removed.load());
  RecycleRecord(r);
}

TEST(DoorbellSetTest, ChurnWithConcurrentReadersAndRebuilds) {
  DoorbellSet* set = DoorbellSet::Instance();
  // A stable set of live doorbells that readers must always find...
  std::vector<QueueRecord*> stable;
  for (uint64_t i = 0; i < 8; ++i) {
    stable.push_back(NewRecord());
    ASSERT_TRUE(set->Insert(Handle(100 + i), stable.back()));
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> misses{0}, wrong{0}, lookups{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        for (uint64_t i = 0; i < 8; ++i) {
          QueueRecord* r = set->Acquire(Handle(100 + i));
          if (r == nullptr) {
            ++misses;
          } else {
            if (r != stable[i]) ++wrong;
            DoorbellSet::Release(r);
          }
          ++lookups;
        }
        // ...and signals that are not doorbells must miss.
        if (set->Acquire(Handle(999999)) != nullptr) ++wrong;
      }
    });
  }
  // ...while another thread creates and destroys many queues (forcing tombstones and rebuilds).
  while (lookups.load() < 1000) std::this_thread::yield();
  for (uint64_t round = 0; round < 20000 || lookups.load() < 100000; ++round) {
    QueueRecord* r = NewRecord();
    ASSERT_TRUE(set->Insert(Handle(1000 + round), r));
    set->Remove(Handle(1000 + round), r);
    RecycleRecord(r);
  }
  stop = true;
  for (auto& th : readers) th.join();
  EXPECT_EQ(misses.load(), 0u);
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(lookups.load(), 0u);
  for (uint64_t i = 0; i < 8; ++i) {
    set->Remove(Handle(100 + i), stable[i]);
    RecycleRecord(stable[i]);
  }
  EXPECT_TRUE(set->empty());
}

}  // namespace
}  // namespace hsapreempt::hsa
