// The shared device: segment attach/refusal, cross-process visibility, dead-process cleanup,
// change notification.
#include "simdev/model/device.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "simdev/model/device_testing.h"
#include "simdev/model/sysfs.h"
#include "tests/support/fork_child.h"

namespace simdev {
namespace {

std::string UniqueName(const char* tag) {
  return std::string("test-") + tag + "-" + std::to_string(getpid());
}

Params TestParams() {
  Params p;
  p.cus = 4;
  p.runlist_update_ns = 100;
  p.cwsr_save_ns = 20;
  p.cwsr_restore_ns = 30;
  return p;
}

class DeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = UniqueName(::testing::UnitTest::GetInstance()->current_test_info()->name());
    Device::RemoveSegmentForTest(name_);
  }
  void TearDown() override { Device::RemoveSegmentForTest(name_); }
  std::string name_;
};

TEST_F(DeviceTest, CreatesAndRunsADispatch) {
  std::unique_ptr<Device> d_owner(Device::CreateForTest(TestParams(), name_));
  Device* d = d_owner.get();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->params().cus, 4u);
  uint32_t pid = static_cast<uint32_t>(getpid());
  int q = d->AddQueue(pid, 1, 0x1000, 4096, 0, 1000);
  ASSERT_GE(q, 0);
  EXPECT_TRUE(d->QueueRunnable(q));
  EXPECT_EQ(d->FindQueue(pid, 1), q);
  KernelWork w;
  w.workgroups = 8;
  w.workgroup_ns = 1000;
  uint64_t h = d->Launch(q, w, 2000);
  ASSERT_NE(h, 0u);
  DispatchTimes t;
  EXPECT_FALSE(d->Poll(h, 3999, &t));
  ASSERT_TRUE(d->Poll(h, 4000, &t));
  EXPECT_EQ(t.start_ns, 2000u);
  EXPECT_EQ(t.end_ns, 4000u);
  EXPECT_EQ(d->NextEventTime(4000), UINT64_MAX);
}

TEST_F(DeviceTest, SecondAttachSeesTheSameDeviceAndAdoptsItsShape) {
  std::unique_ptr<Device> a_owner(Device::CreateForTest(TestParams(), name_));
  Device* a = a_owner.get();
  ASSERT_NE(a, nullptr);
  Params other = TestParams();
  other.cus = 100;  // the existing device's shape wins
  std::unique_ptr<Device> b_owner(Device::CreateForTest(other, name_));
  Device* b = b_owner.get();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->params().cus, 4u);
  int q = a->AddQueue(static_cast<uint32_t>(getpid()), 3, 0, 4096, 0, 1000);
  EXPECT_EQ(b->FindQueue(static_cast<uint32_t>(getpid()), 3), q);
  EXPECT_EQ(b->QueueCount(), 1);
}

TEST_F(DeviceTest, RefusesAnIncompatibleSegment) {
  std::string shm = "/hsapreempt-sim-" + std::to_string(getuid()) + "-" + name_;
  int fd = shm_open(shm.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 4096), 0);  // wrong size: another layout
  close(fd);
  testing::internal::CaptureStderr();
  std::unique_ptr<Device> d_owner(Device::CreateForTest(TestParams(), name_));
  Device* d = d_owner.get();
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(d, nullptr);
  EXPECT_NE(err.find("incompatible"), std::string::npos) << err;
}

TEST_F(DeviceTest, ReplacesAnOldLayoutLeftByADeadCreator) {
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // a pid that is gone
  std::string shm = "/hsapreempt-sim-" + std::to_string(getuid()) + "-" + name_;
  int fd = shm_open(shm.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  unsigned char header[4096] = {};
  uint64_t magic = 0x315645444d495350ull;  // ours ("PSIMDEV1"), layout 1
  uint32_t layout = 1, ready = 1, creator = static_cast<uint32_t>(child);
  memcpy(header, &magic, 8);
  memcpy(header + 8, &layout, 4);
  memcpy(header + 24, &ready, 4);
  memcpy(header + 28, &creator, 4);
  ASSERT_EQ(write(fd, header, sizeof(header)), static_cast<ssize_t>(sizeof(header)));
  close(fd);
  testing::internal::CaptureStderr();
  std::unique_ptr<Device> d(Device::CreateForTest(TestParams(), name_));
  std::string err = testing::internal::GetCapturedStderr();
  ASSERT_NE(d, nullptr) << err;
  EXPECT_NE(err.find("replacing"), std::string::npos) << err;
  EXPECT_GE(d->AddQueue(static_cast<uint32_t>(getpid()), 1, 0, 4096, 0, 1000), 0);
}

TEST_F(DeviceTest, DeadProcessQueuesAreDropped) {
  Params p = TestParams();
  p.sysfs_root = "/tmp/hsapreempt-simtest-" + std::to_string(getpid()) + "/sys";
  std::unique_ptr<Device> d_owner(Device::CreateForTest(p, name_));
  Device* d = d_owner.get();
  ASSERT_NE(d, nullptr);
  int mine = d->AddQueue(static_cast<uint32_t>(getpid()), 1, 0, 4096, 0, NowNs());
  pid_t child = hsapreempt::testsupport::ForkWithWatchdog();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child adds a queue and a long dispatch, keeps its sysfs entry, and dies.
    uint32_t pid = static_cast<uint32_t>(getpid());
    int q = d->AddQueue(pid, 1, 0, 4096, 0, NowNs());
    KernelWork w;
    w.workgroups = 4;
    w.workgroup_ns = 60000000000ull;
    bool ok = q >= 0 && d->Launch(q, w, NowNs()) != 0 && SysfsAddQueue(d->params(), pid, 1, 4096);
    _exit(ok ? 0 : 1);
  }
  ASSERT_EQ(hsapreempt::testsupport::ChildOutcome(child), "");
  ASSERT_EQ(d->QueueCount(), 2);
  EXPECT_EQ(access(SysfsProcessDir(d->params(), child).c_str(), F_OK), 0);
  EXPECT_EQ(d->ReapDeadProcesses(NowNs()), 1);
  EXPECT_EQ(d->QueueCount(), 1);
  EXPECT_EQ(d->FindQueue(static_cast<uint32_t>(child), 1), -1);
  EXPECT_EQ(d->FindQueue(static_cast<uint32_t>(getpid()), 1), mine);
  EXPECT_NE(access(SysfsProcessDir(d->params(), child).c_str(), F_OK), 0);
  // The dead child's workgroups no longer hold the slots: a new dispatch runs at once.
  KernelWork w;
  w.workgroups = 4;
  w.workgroup_ns = 10;
  uint64_t now = NowNs() + 1000000;
  uint64_t h = d->Launch(mine, w, now);
  DispatchTimes t;
  EXPECT_TRUE(d->Poll(h, now + 10 + 2 * p.runlist_update_ns, &t));
  SysfsRemoveProcess(d->params(), static_cast<uint32_t>(getpid()));
}

TEST_F(DeviceTest, PeriodicCheckReapsWithoutAnExplicitCall) {
  std::unique_ptr<Device> d_owner(Device::CreateForTest(TestParams(), name_));
  Device* d = d_owner.get();
  ASSERT_NE(d, nullptr);
  hsapreempt::testsupport::ExpectChildReturnsZero(
      [&] { return d->AddQueue(static_cast<uint32_t>(getpid()), 1, 0, 4096, 0, 1) >= 0 ? 0 : 1; });
  ASSERT_EQ(d->QueueCount(), 1);
  d->NextEventTime(NowNs());  // any locked call with a time past the check interval
  EXPECT_EQ(d->QueueCount(), 0);
}

TEST_F(DeviceTest, WaitForChangeWakesOnNotifyAndTimesOut) {
  std::unique_ptr<Device> d_owner(Device::CreateForTest(TestParams(), name_));
  Device* d = d_owner.get();
  ASSERT_NE(d, nullptr);
  uint64_t g = d->Generation();
  uint64_t t0 = NowNs();
  d->WaitForChange(g, t0 + 20000000);  // nothing happens: returns at the deadline
  EXPECT_GE(NowNs() - t0, 20000000u);
  std::thread notifier([d] {
    usleep(20000);
    d->Notify();
  });
  g = d->Generation();
  t0 = NowNs();
  d->WaitForChange(g, t0 + 5000000000ull);
  EXPECT_NE(d->Generation(), g);
  EXPECT_LT(NowNs() - t0, 2000000000u);
  notifier.join();
}

TEST_F(DeviceTest, NotifyCrossesProcesses) {
  std::unique_ptr<Device> d_owner(Device::CreateForTest(TestParams(), name_));
  Device* d = d_owner.get();
  ASSERT_NE(d, nullptr);
  uint64_t g = d->Generation();
  pid_t child = hsapreempt::testsupport::ForkWithWatchdog();
  ASSERT_GE(child, 0);
  if (child == 0) {
    usleep(20000);
    d->Notify();
    _exit(0);
  }
  uint64_t t0 = NowNs();
  d->WaitForChange(g, t0 + 5000000000ull);
  EXPECT_NE(d->Generation(), g);
  EXPECT_LT(NowNs() - t0, 2000000000u);
  EXPECT_EQ(hsapreempt::testsupport::ChildOutcome(child), "");
}

TEST_F(DeviceTest, LockHeldByADeadProcessIsRecovered) {
  std::unique_ptr<Device> d_owner(Device::CreateForTest(TestParams(), name_));
  Device* d = d_owner.get();
  ASSERT_NE(d, nullptr);
  int q = d->AddQueue(static_cast<uint32_t>(getpid()), 1, 0, 4096, 0, 1000);
  hsapreempt::testsupport::ExpectChildReturnsZero([&] {
    AcquireDeviceLockForTest(d);  // and die holding it
    return 0;
  });
  KernelWork w;
  w.workgroup_ns = 10;
  uint64_t h = d->Launch(q, w, 5000);  // takes the lock: EOWNERDEAD, repaired, consistent
  ASSERT_NE(h, 0u);
  DispatchTimes t;
  EXPECT_TRUE(d->Poll(h, 5010, &t));
  EXPECT_EQ(t.end_ns, 5010u);
  EXPECT_EQ(d->QueueCount(), 1);  // and the lock works normally afterwards
}

}  // namespace
}  // namespace simdev
