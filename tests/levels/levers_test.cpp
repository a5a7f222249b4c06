// Lever behaviour on FakeBackend: idempotence, priority preservation, EBUSY retry for NEW queues,
// CU-mask restriction/restore, failure leaves the queue released, stats.
#include <cerrno>
#include <memory>

#include <gtest/gtest.h>

#include "levels/levers.h"
#include "tests/kfd_ctl/fake_backend.h"

namespace hsapreempt::levels {
namespace {

using common::Status;
using kfd::abi::kIocDbgTrap;
using kfd::abi::kIocSetCuMask;
using kfd::abi::kIocUpdateQueue;
using kfd::testing::FakeBackend;

struct Fixture {
  explicit Fixture(uint32_t minor = 11) {
    auto b = std::make_unique<FakeBackend>(1, minor);
    fake = b.get();
    device = std::make_unique<kfd::Device>(std::move(b), "");
    fake->queues[5].ring_base = 0x50000;
    fake->queues[5].ring_size = 65536;
  }
  FakeBackend* fake;
  std::unique_ptr<kfd::Device> device;
  kfd::QueueRef q5{5, 0x50000, 65536};
};

TEST(UpdateQueueLeverTest, EngageReleaseAreIdempotentAndPreservePriority) {
  Fixture f;
  UpdateQueueLever lever(f.device.get(), f.q5);
  EXPECT_EQ(lever.kind(), LeverKind::kUpdateQueue);
  ASSERT_TRUE(lever.Engage().ok());
  ASSERT_TRUE(lever.Engage().ok());
  EXPECT_TRUE(lever.engaged());
  EXPECT_EQ(f.fake->calls(kIocUpdateQueue), 1);
  EXPECT_EQ(f.fake->queues[5].percent, 0u);
  EXPECT_EQ(f.fake->queues[5].priority, 7u);  // NORMAL kept
  EXPECT_EQ(f.fake->queues[5].ring_base, 0x50000u);
  lever.NoteHsaPriority(2);                   // HSA_AMD_QUEUE_PRIORITY_HIGH
  ASSERT_TRUE(lever.Release().ok());
  ASSERT_TRUE(lever.Release().ok());
  EXPECT_FALSE(lever.engaged());
  EXPECT_EQ(f.fake->calls(kIocUpdateQueue), 2);
  EXPECT_EQ(f.fake->queues[5].percent, 100u);
  EXPECT_EQ(f.fake->queues[5].priority, 15u);
  LeverStats s = lever.stats();
  EXPECT_EQ(s.engages, 1u);
  EXPECT_EQ(s.releases, 1u);
  EXPECT_EQ(s.ioctls, 2u);
  EXPECT_EQ(s.failures, 0u);
  EXPECT_GE(s.ioctl_ns_total, s.ioctl_ns_max);
}

TEST(UpdateQueueLeverTest, ReassertReengagesOnlyWhenEngaged) {
  Fixture f;
  UpdateQueueLever lever(f.device.get(), f.q5);
  ASSERT_TRUE(lever.Reassert().ok());
  EXPECT_EQ(f.fake->calls(kIocUpdateQueue), 0);
  ASSERT_TRUE(lever.Engage().ok());
  f.fake->queues[5].percent = 100;  // hsa_amd_queue_set_priority re-activated it behind our back
  ASSERT_TRUE(lever.Reassert().ok());
  EXPECT_EQ(f.fake->queues[5].percent, 0u);
}

TEST(UpdateQueueLeverTest, EpermLeavesQueueRunningAndReportsPermission) {
  Fixture f;
  UpdateQueueLever lever(f.device.get(), f.q5);
  f.fake->FailNext(kIocUpdateQueue, EPERM);
  Status s = lever.Engage();
  EXPECT_EQ(s.code(), Status::Code::kPermission);
  EXPECT_FALSE(lever.engaged());
  EXPECT_EQ(f.fake->queues[5].percent, 100u);
  EXPECT_EQ(lever.stats().failures, 1u);
  EXPECT_EQ(f.device->capabilities().update_queue, kfd::Support::kNo);
}

TEST(UpdateQueueLeverTest, ReleaseRetriesTransientBusyAndStaysEngagedOnHardFailure) {
  Fixture f;
  UpdateQueueLever lever(f.device.get(), f.q5);
  ASSERT_TRUE(lever.Engage().ok());
  f.fake->FailNext(kIocUpdateQueue, EBUSY, 2);
  ASSERT_TRUE(lever.Release().ok());
  EXPECT_EQ(f.fake->queues[5].percent, 100u);
  ASSERT_TRUE(lever.Engage().ok());
  f.fake->FailNext(kIocUpdateQueue, EIO);
  EXPECT_FALSE(lever.Release().ok());
  EXPECT_TRUE(lever.engaged());  // a later Release() tries again
  EXPECT_TRUE(lever.Release().ok());
  EXPECT_EQ(f.fake->queues[5].percent, 100u);
}

TEST(DbgSuspendLeverTest, SuspendResumeWithGracePeriod) {
  Fixture f(14);
  f.fake->runtime_enabled = true;
  ASSERT_TRUE(f.device->DbgTrapEnable().ok());
  DbgSuspendLever lever(f.device.get(), 5, 210, 5, 10);
  ASSERT_TRUE(lever.Engage().ok());
  ASSERT_TRUE(lever.Engage().ok());
  EXPECT_TRUE(f.fake->queues[5].suspended);
  EXPECT_EQ(f.fake->last_dbg.suspend_queues.grace_period, 210u);
  EXPECT_EQ(f.fake->dbg_calls(kfd::abi::kDbgTrapSuspendQueues), 1);
  ASSERT_TRUE(lever.Reassert().ok());
  ASSERT_TRUE(lever.Release().ok());
  EXPECT_FALSE(f.fake->queues[5].suspended);
  EXPECT_EQ(f.fake->dbg_calls(kfd::abi::kDbgTrapResumeQueues), 1);
}

TEST(DbgSuspendLeverTest, NewQueueIsClearedBySnapshotThenSuspended) {
  Fixture f(14);
  f.fake->runtime_enabled = true;
  ASSERT_TRUE(f.device->DbgTrapEnable().ok());
  f.fake->queues[5].is_new = true;
  DbgSuspendLever lever(f.device.get(), 5, 0, 5, 10);
  ASSERT_TRUE(lever.Engage().ok());
  EXPECT_TRUE(f.fake->queues[5].suspended);
  EXPECT_EQ(f.fake->dbg_calls(kfd::abi::kDbgTrapSuspendQueues), 2);
  EXPECT_EQ(f.fake->dbg_calls(kfd::abi::kDbgTrapGetQueueSnapshot), 1);
  ASSERT_TRUE(lever.Release().ok());
}

TEST(DbgSuspendLeverTest, PersistentBusyIsRetriedBrieflyThenFails) {
  Fixture f(14);
  f.fake->runtime_enabled = true;
  ASSERT_TRUE(f.device->DbgTrapEnable().ok());
  f.fake->queues[5].busy_suspends = 100;
  DbgSuspendLever stubborn(f.device.get(), 5, 0, 3, 10);
  Status s = stubborn.Engage();
  EXPECT_EQ(s.code(), Status::Code::kBusy);
  EXPECT_FALSE(stubborn.engaged());
  EXPECT_FALSE(f.fake->queues[5].suspended);
  EXPECT_EQ(f.fake->dbg_calls(kfd::abi::kDbgTrapSuspendQueues), 4);  // 1 + 3 retries
  EXPECT_EQ(stubborn.stats().failures, 1u);
}

TEST(DbgSuspendLeverTest, WithoutDebugEnableFailsWithoutTouchingTheQueue) {
  Fixture f(14);
  DbgSuspendLever lever(f.device.get(), 5, 0, 2, 10);
  EXPECT_EQ(lever.Engage().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(f.fake->calls(kIocDbgTrap), 0);
  Fixture old(11);
  DbgSuspendLever lever2(old.device.get(), 5, 0, 2, 10);
  EXPECT_EQ(lever2.Engage().code(), Status::Code::kUnsupported);
}

TEST(CuMaskLeverTest, RestrictsToFractionAndRestoresFullMask) {
  Fixture f;
  CuMaskLever lever(f.device.get(), 5, 304, 25);  // MI300X: 304 CUs -> keep 76
  ASSERT_EQ(lever.base_mask().size(), 10u);
  ASSERT_TRUE(lever.Engage().ok());
  ASSERT_TRUE(lever.Engage().ok());
  EXPECT_EQ(f.fake->calls(kIocSetCuMask), 1);
  const auto& m = f.fake->queues[5].cu_mask;
  ASSERT_EQ(m.size(), 10u);
  int bits = 0;
  for (uint32_t w : m) bits += __builtin_popcount(w);
  EXPECT_EQ(bits, 76);
  EXPECT_EQ(m[0], 0xffffffffu);
  EXPECT_EQ(m[2], 0xfffu);
  ASSERT_TRUE(lever.Release().ok());
  bits = 0;
  for (uint32_t w : f.fake->queues[5].cu_mask) bits += __builtin_popcount(w);
  EXPECT_EQ(bits, 304);
}

TEST(CuMaskLeverTest, KeepsTheApplicationsMask) {
  Fixture f;
  CuMaskLever lever(f.device.get(), 5, 64, 50);
  const uint32_t app[2] = {0x0000ff00u, 0x0000000fu};  // 12 CUs chosen by the application
  lever.NoteCuMask(app, 64);
  ASSERT_TRUE(lever.Engage().ok());
  // 50% of its 12 CUs: the first 6 of them.
  EXPECT_EQ(f.fake->queues[5].cu_mask, (std::vector<uint32_t>{0x00003f00u, 0u}));
  ASSERT_TRUE(lever.Release().ok());
  EXPECT_EQ(f.fake->queues[5].cu_mask, (std::vector<uint32_t>{0x0000ff00u, 0x0000000fu}));
  EXPECT_EQ(CuMaskLever::Restrict({0x1u}, 1), (std::vector<uint32_t>{0x1u}));  // at least one CU
  EXPECT_EQ(CuMaskLever::Restrict({0xffu}, 50), (std::vector<uint32_t>{0xfu}));
}

TEST(CuMaskLeverTest, FailureLeavesReleased) {
  Fixture f;
  CuMaskLever lever(f.device.get(), 5, 64, 25);
  f.fake->FailNext(kIocSetCuMask, EINVAL);
  EXPECT_EQ(lever.Engage().code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(lever.engaged());
  EXPECT_TRUE(f.fake->queues[5].cu_mask.empty());
}

}  // namespace
}  // namespace hsapreempt::levels
