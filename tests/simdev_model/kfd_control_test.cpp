// The KFD ioctl emulation per kernel profile, with a fake per-process queue directory.
#include "simdev/model/kfd_control.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <string>

#include "simdev/model/kfd_ioctl_ext.h"

namespace simdev {

bool KfdIoctlHeaderChecked();

namespace {

class FakeDirectory : public QueueDirectory {
 public:
  bool Lookup(uint32_t id, QueueInfo* info) override {
    auto it = queues.find(id);
    if (it == queues.end()) return false;
    *info = it->second;
    return true;
  }
  size_t List(QueueInfo* out, size_t max) override {
    size_t i = 0;
    for (auto& [id, q] : queues) {
      if (i < max && out != nullptr) out[i] = q;
      ++i;
    }
    return queues.size();
  }
  void SetPercent(uint32_t id, uint32_t percent) override { queues[id].queue_percent = percent; }
  std::map<uint32_t, QueueInfo> queues;
};

class KfdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = "test-kfd-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    Device::RemoveSegmentForTest(name_);
    params_.cus = 4;
    owner_.reset(Device::CreateForTest(params_, name_));
    device_ = owner_.get();
    ASSERT_NE(device_, nullptr);
    dbg_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  void TearDown() override {
    Device::RemoveSegmentForTest(name_);
    close(dbg_fd_);
  }

  KfdEmulator Make(KernelProfile profile, const std::string& faults = "") {
    Params p = device_->params();
    p.kernel = profile;
    p.faults = faults;
    p.destroy_wait_ms = 50;
    return KfdEmulator(device_, p, &dir_);
  }
  uint32_t AddQueue(uint32_t id) {
    QueueInfo q;
    q.kfd_queue_id = id;
    q.slot = device_->AddQueue(static_cast<uint32_t>(getpid()), id, 0x10000 * id, 4096, 0,
                               NowNs());
    q.ring_base = 0x10000 * id;
    q.ring_bytes = 4096;
    q.type = 2;
    q.gpu_id = params_.gpu_id;
    dir_.queues[id] = q;
    return id;
  }
  int Dbg(KfdEmulator& k, simkfd_dbg_trap_args* a) { return k.Ioctl(SIMKFD_IOC_DBG_TRAP, a); }
  int Enable(KfdEmulator& k) {
    simkfd_runtime_enable_args r{};
    r.mode_mask = SIMKFD_RUNTIME_ENABLE_MODE_ENABLE_MASK;
    int rr = k.Ioctl(SIMKFD_IOC_RUNTIME_ENABLE, &r);
    if (rr != 0) return rr;
    simkfd_dbg_trap_args a{};
    a.pid = static_cast<uint32_t>(getpid());
    a.op = SIMKFD_DBG_TRAP_ENABLE;
    a.enable.dbg_fd = static_cast<uint32_t>(dbg_fd_);
    return Dbg(k, &a);
  }
  int Suspend(KfdEmulator& k, uint32_t* ids, uint32_t n, uint64_t clear = 0) {
    simkfd_dbg_trap_args a{};
    a.pid = static_cast<uint32_t>(getpid());
    a.op = SIMKFD_DBG_TRAP_SUSPEND_QUEUES;
    a.suspend_queues.queue_array_ptr = reinterpret_cast<uint64_t>(ids);
    a.suspend_queues.num_queues = n;
    a.suspend_queues.exception_mask = clear;
    a.suspend_queues.grace_period = 0;
    return Dbg(k, &a);
  }
  int Snapshot(KfdEmulator& k, simkfd_queue_snapshot_entry* buf, uint32_t* n, uint64_t clear) {
    simkfd_dbg_trap_args a{};
    a.pid = static_cast<uint32_t>(getpid());
    a.op = SIMKFD_DBG_TRAP_GET_QUEUE_SNAPSHOT;
    a.queue_snapshot.snapshot_buf_ptr = reinterpret_cast<uint64_t>(buf);
    a.queue_snapshot.num_queues = *n;
    a.queue_snapshot.entry_size = sizeof(simkfd_queue_snapshot_entry);
    a.queue_snapshot.exception_mask = clear;
    int r = Dbg(k, &a);
    *n = a.queue_snapshot.num_queues;
    return r;
  }
  bool Suspended(uint32_t id) {
    DeviceQueueInfo info;
    device_->GetQueueInfo(dir_.queues[id].slot, &info);
    return info.suspended;
  }

  std::string name_;
  Params params_;
  std::unique_ptr<Device> owner_;
  Device* device_ = nullptr;
  FakeDirectory dir_;
  int dbg_fd_ = -1;  // a valid descriptor for DBG_TRAP_ENABLE's dbg_fd
};

TEST_F(KfdTest, VersionPerProfile) {
  simkfd_get_version_args v{};
  KfdEmulator k61 = Make(KernelProfile::kLinux61);
  ASSERT_EQ(k61.Ioctl(SIMKFD_IOC_GET_VERSION, &v), 0);
  EXPECT_EQ(v.major_version, 1u);
  EXPECT_EQ(v.minor_version, 11u);
  KfdEmulator k65 = Make(KernelProfile::kLinux65);
  ASSERT_EQ(k65.Ioctl(SIMKFD_IOC_GET_VERSION, &v), 0);
  EXPECT_EQ(v.minor_version, 13u);
}

TEST_F(KfdTest, Linux61HasNoDebugTrapOrRuntimeEnable) {
  KfdEmulator k = Make(KernelProfile::kLinux61);
  simkfd_dbg_trap_args a{};
  a.pid = static_cast<uint32_t>(getpid());
  EXPECT_EQ(Dbg(k, &a), -ENOTTY);
  simkfd_runtime_enable_args r{};
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_RUNTIME_ENABLE, &r), -ENOTTY);
  EXPECT_EQ(k.RuntimeEnable(true), ENOTTY);
  EXPECT_EQ(k.Ioctl(_IOR('X', 1, int), &r), -ENOTTY);
}

TEST_F(KfdTest, UpdateQueueDeactivatesAndReactivates) {
  KfdEmulator k = Make(KernelProfile::kLinux61);
  uint32_t id = AddQueue(1);
  int slot = dir_.queues[id].slot;
  simkfd_update_queue_args u{};
  u.queue_id = id;
  u.ring_size = 4096;
  u.queue_percentage = 0;
  ASSERT_EQ(k.Ioctl(SIMKFD_IOC_UPDATE_QUEUE, &u), 0);
  EXPECT_FALSE(device_->QueueRunnable(slot));
  EXPECT_EQ(dir_.queues[id].queue_percent, 0u);
  u.queue_percentage = 100;
  u.queue_priority = 7;
  ASSERT_EQ(k.Ioctl(SIMKFD_IOC_UPDATE_QUEUE, &u), 0);
  EXPECT_TRUE(device_->QueueRunnable(slot));
}

TEST_F(KfdTest, UpdateQueueValidatesLikeTheDriver) {
  KfdEmulator k = Make(KernelProfile::kLinux61);
  uint32_t id = AddQueue(1);
  simkfd_update_queue_args u{};
  u.queue_id = id;
  u.queue_percentage = 101;
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_UPDATE_QUEUE, &u), -EINVAL);
  u.queue_percentage = 100;
  u.queue_priority = 16;
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_UPDATE_QUEUE, &u), -EINVAL);
  u.queue_priority = 0;
  u.ring_size = 3000;
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_UPDATE_QUEUE, &u), -EINVAL);
  u.ring_size = 0;
  u.queue_id = 99;
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_UPDATE_QUEUE, &u), -EFAULT);
}

TEST_F(KfdTest, SetCuMask) {
  KfdEmulator k = Make(KernelProfile::kLinux61);
  uint32_t id = AddQueue(1);
  uint32_t mask[1] = {0x3};
  simkfd_set_cu_mask_args m{};
  m.queue_id = id;
  m.num_cu_mask = 32;
  m.cu_mask_ptr = reinterpret_cast<uint64_t>(mask);
  ASSERT_EQ(k.Ioctl(SIMKFD_IOC_SET_CU_MASK, &m), 0);
  DeviceQueueInfo info;
  device_->GetQueueInfo(dir_.queues[id].slot, &info);
  EXPECT_EQ(info.cus_enabled, 2u);
  m.num_cu_mask = 33;
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_SET_CU_MASK, &m), -EINVAL);
  m.num_cu_mask = 0;
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_SET_CU_MASK, &m), -EINVAL);
}

TEST_F(KfdTest, WaveStateNeedsAnUnmappedQueue) {
  KfdEmulator k = Make(KernelProfile::kLinux61);
  uint32_t id = AddQueue(1);
  simkfd_get_queue_wave_state_args w{};
  w.queue_id = id;
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_GET_QUEUE_WAVE_STATE, &w), -EINVAL);
  ASSERT_EQ(k.UpdateQueue(id, 0, 0), 0);
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_GET_QUEUE_WAVE_STATE, &w), 0);
}

TEST_F(KfdTest, DebugTrapNeedsEnableFirstAndRuntimeForSuspend) {
  KfdEmulator k = Make(KernelProfile::kLinux65);
  uint32_t id = AddQueue(1);
  uint32_t ids[1] = {id};
  EXPECT_EQ(Suspend(k, ids, 1), -EINVAL);  // no DBG_TRAP_ENABLE yet
  simkfd_dbg_trap_args a{};
  a.pid = static_cast<uint32_t>(getpid());
  a.op = SIMKFD_DBG_TRAP_ENABLE;
  a.enable.dbg_fd = static_cast<uint32_t>(dbg_fd_);
  ASSERT_EQ(Dbg(k, &a), 0);
  EXPECT_EQ(Dbg(k, &a), -EINVAL);          // already enabled
  EXPECT_EQ(Suspend(k, ids, 1), -EPERM);   // runtime not enabled (ROCr does that at init)
}

TEST_F(KfdTest, DebugTrapOnAnotherProcess) {
  KfdEmulator k = Make(KernelProfile::kLinux65);
  simkfd_dbg_trap_args a{};
  a.pid = 1;  // init: exists, not ptraced by us
  a.op = SIMKFD_DBG_TRAP_ENABLE;
  EXPECT_EQ(Dbg(k, &a), -EPERM);
  a.pid = 0x7ffffff0;  // no such process
  EXPECT_EQ(Dbg(k, &a), -ESRCH);
}

TEST_F(KfdTest, EnableRejectsBadDebugFd) {
  KfdEmulator k = Make(KernelProfile::kLinux65);
  simkfd_dbg_trap_args a{};
  a.pid = static_cast<uint32_t>(getpid());
  a.op = SIMKFD_DBG_TRAP_ENABLE;
  a.enable.dbg_fd = 0x7fffffff;
  EXPECT_EQ(Dbg(k, &a), -EBADF);
}

TEST_F(KfdTest, RuntimeEnableRules) {
  KfdEmulator k = Make(KernelProfile::kLinux65);
  AddQueue(1);
  simkfd_runtime_enable_args r{};
  r.mode_mask = SIMKFD_RUNTIME_ENABLE_MODE_ENABLE_MASK;
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_RUNTIME_ENABLE, &r), -EEXIST);  // queues exist already
  dir_.queues.clear();
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_RUNTIME_ENABLE, &r), 0);
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_RUNTIME_ENABLE, &r), -EBUSY);
}

TEST_F(KfdTest, NewQueueIsNotSuspendedUntilItsFlagIsCleared) {
  KfdEmulator k = Make(KernelProfile::kLinux65);
  ASSERT_EQ(Enable(k), 0);
  uint32_t id = AddQueue(1);
  uint32_t ids[1] = {id};
  EXPECT_EQ(Suspend(k, ids, 1), 0);  // nothing suspended
  EXPECT_EQ(ids[0], id | SIMKFD_DBG_QUEUE_INVALID_MASK);
  EXPECT_FALSE(Suspended(id));
  // A snapshot that clears EC_QUEUE_NEW, as a debugger does.
  simkfd_queue_snapshot_entry snap[4] = {};
  uint32_t n = 4;
  ASSERT_EQ(Snapshot(k, snap, &n, SIMKFD_EC_MASK(SIMKFD_EC_QUEUE_NEW)), 0);
  ASSERT_EQ(n, 1u);
  EXPECT_NE(snap[0].exception_status & SIMKFD_EC_MASK(SIMKFD_EC_QUEUE_NEW), 0u);
  ids[0] = id;
  EXPECT_EQ(Suspend(k, ids, 1), 1);
  EXPECT_EQ(ids[0], id);
  EXPECT_TRUE(Suspended(id));
  EXPECT_EQ(Suspend(k, ids, 1), 1);  // already suspended counts as success
}

TEST_F(KfdTest, SuspendResumeAndSnapshotFields) {
  KfdEmulator k = Make(KernelProfile::kLinux65);
  ASSERT_EQ(Enable(k), 0);
  uint32_t a = AddQueue(1), b = AddQueue(2);
  simkfd_queue_snapshot_entry snap[1] = {};
  uint32_t n = 1;  // smaller than the number of queues: no overflow, count returned
  ASSERT_EQ(Snapshot(k, snap, &n, SIMKFD_EC_MASK(SIMKFD_EC_QUEUE_NEW)), 0);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(snap[0].queue_id, a);
  EXPECT_EQ(snap[0].ring_base_address, 0x10000u * a);
  EXPECT_EQ(snap[0].ring_size, 4096u);
  EXPECT_EQ(snap[0].gpu_id, params_.gpu_id);
  // Only the copied queue had its NEW flag cleared; the suspend clears it for the rest.
  uint32_t ids[3] = {a, b, 77};
  EXPECT_EQ(Suspend(k, ids, 3, SIMKFD_EC_MASK(SIMKFD_EC_QUEUE_NEW)), 1);
  EXPECT_EQ(ids[0], a);
  EXPECT_EQ(ids[1], b | SIMKFD_DBG_QUEUE_INVALID_MASK);
  EXPECT_EQ(ids[2], 77u | SIMKFD_DBG_QUEUE_INVALID_MASK);
  ids[1] = b;
  EXPECT_EQ(Suspend(k, &ids[1], 1), 1);  // its NEW flag was cleared by the previous call
  simkfd_dbg_trap_args r{};
  r.pid = static_cast<uint32_t>(getpid());
  r.op = SIMKFD_DBG_TRAP_RESUME_QUEUES;
  uint32_t rids[2] = {a, b};
  r.resume_queues.queue_array_ptr = reinterpret_cast<uint64_t>(rids);
  r.resume_queues.num_queues = 2;
  EXPECT_EQ(Dbg(k, &r), 2);
  EXPECT_FALSE(Suspended(a));
  EXPECT_FALSE(Suspended(b));
}

TEST_F(KfdTest, DisableResumesSuspendedQueues) {
  KfdEmulator k = Make(KernelProfile::kLinux65);
  ASSERT_EQ(Enable(k), 0);
  uint32_t id = AddQueue(1);
  device_->ClearQueueExceptions(dir_.queues[id].slot, ~0ull);
  uint32_t ids[1] = {id};
  ASSERT_EQ(Suspend(k, ids, 1), 1);
  simkfd_dbg_trap_args a{};
  a.pid = static_cast<uint32_t>(getpid());
  a.op = SIMKFD_DBG_TRAP_DISABLE;
  ASSERT_EQ(Dbg(k, &a), 0);
  EXPECT_FALSE(Suspended(id));
  EXPECT_EQ(Suspend(k, ids, 1), -EINVAL);  // no longer enabled
}

TEST_F(KfdTest, DestroyWaitsWhileSuspended) {
  KfdEmulator k = Make(KernelProfile::kLinux65);
  ASSERT_EQ(Enable(k), 0);
  uint32_t id = AddQueue(1);
  device_->ClearQueueExceptions(dir_.queues[id].slot, ~0ull);
  EXPECT_EQ(k.WaitDestroyable(id), 0);
  uint32_t ids[1] = {id};
  ASSERT_EQ(Suspend(k, ids, 1), 1);
  testing::internal::CaptureStderr();
  uint64_t t0 = NowNs();
  EXPECT_EQ(k.WaitDestroyable(id), ETIMEDOUT);  // destroy_wait_ms = 50 in these tests
  EXPECT_GE(NowNs() - t0, 50000000u);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("suspended"), std::string::npos);
}

TEST_F(KfdTest, FaultInjection) {
  uint32_t id = AddQueue(1);
  KfdEmulator k = Make(KernelProfile::kLinux65, "update_queue:EPERM,set_cu_mask:EINVAL,dbg_trap:EBUSY");
  simkfd_update_queue_args u{};
  u.queue_id = id;
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_UPDATE_QUEUE, &u), -EPERM);
  EXPECT_EQ(k.UpdateQueue(id, 0, 0), 0);  // the thunk's own path is not affected
  uint32_t mask = 1;
  simkfd_set_cu_mask_args m{id, 32, reinterpret_cast<uint64_t>(&mask)};
  EXPECT_EQ(k.Ioctl(SIMKFD_IOC_SET_CU_MASK, &m), -EINVAL);
  simkfd_dbg_trap_args a{};
  a.pid = static_cast<uint32_t>(getpid());
  EXPECT_EQ(Dbg(k, &a), -EBUSY);
  KfdEmulator k2 = Make(KernelProfile::kLinux65, "dbg_suspend:EIO");
  auto saved = dir_.queues;
  dir_.queues.clear();  // runtime enable happens before queues exist
  ASSERT_EQ(Enable(k2), 0);
  dir_.queues = saved;
  uint32_t ids[1] = {id};
  EXPECT_EQ(Suspend(k2, ids, 1), -EIO);
}

TEST_F(KfdTest, SystemHeaderAgreesWithOurAbi) {
  if (!KfdIoctlHeaderChecked()) GTEST_SKIP() << "<linux/kfd_ioctl.h> not compilable here";
  SUCCEED();  // the static_asserts in kfd_ioctl_check.cpp compiled
}

}  // namespace
}  // namespace simdev
