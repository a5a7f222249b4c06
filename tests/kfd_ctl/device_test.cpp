// kfd::Backend retry rules, kfd::Device errno mapping, version gating and learned support, and
// backend selection — against FakeBackend (no KFD needed).
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "kfd_ctl/device.h"
#include "tests/kfd_ctl/fake_backend.h"
#include "tests/support/fork_child.h"

namespace hsapreempt::kfd {
namespace {

using common::Status;
using testing::FakeBackend;

struct Fixture {
  explicit Fixture(uint32_t major = 1, uint32_t minor = 11) {
    auto b = std::make_unique<FakeBackend>(major, minor);
    fake = b.get();
    device = std::make_unique<Device>(std::move(b), "");
    fake->queues[3].ring_base = 0x7000;
    fake->queues[3].ring_size = 4096;
  }
  FakeBackend* fake;
  std::unique_ptr<Device> device;
  QueueRef q3{3, 0x7000, 4096};
};

TEST(BackendTest, RetriesEintrAndEagainThenSucceeds) {
  FakeBackend fake;
  fake.FailNext(abi::kIocGetVersion, EINTR, 3);
  fake.FailNext(abi::kIocGetVersion, EAGAIN, 2);
  abi::GetVersionArgs v{};
  EXPECT_EQ(fake.Ioctl(abi::kIocGetVersion, &v), 0);
  EXPECT_EQ(fake.calls(abi::kIocGetVersion), 6);
  EXPECT_EQ(v.minor_version, 11u);
}

TEST(BackendTest, GivesUpOnEndlessEagainAndDoesNotRetryOtherErrors) {
  FakeBackend fake;
  fake.FailAlways(abi::kIocGetVersion, EAGAIN);
  abi::GetVersionArgs v{};
  EXPECT_EQ(fake.Ioctl(abi::kIocGetVersion, &v), -EAGAIN);
  EXPECT_EQ(fake.calls(abi::kIocGetVersion), Backend::kMaxRetries + 1);
  fake.FailAlways(abi::kIocGetVersion, 0);
  fake.FailNext(abi::kIocGetVersion, EPERM);
  EXPECT_EQ(fake.Ioctl(abi::kIocGetVersion, &v), -EPERM);
  EXPECT_EQ(fake.calls(abi::kIocGetVersion), Backend::kMaxRetries + 2);
}

TEST(DeviceTest, ReadsVersionOnce) {
  Fixture f(1, 14);
  EXPECT_TRUE(f.device->available());
  EXPECT_EQ(f.device->version().ToString(), "1.14");
  EXPECT_TRUE(f.device->HasDbgTrapAbi());
  EXPECT_EQ(f.fake->calls(abi::kIocGetVersion), 1);
  Capabilities c = f.device->capabilities();
  EXPECT_EQ(c.backend, "fake");
  EXPECT_TRUE(c.dbg_trap_abi);
}

TEST(DeviceTest, UnavailableWhenGetVersionFailsOrNoBackend) {
  auto b = std::make_unique<FakeBackend>();
  b->FailAlways(abi::kIocGetVersion, ENODEV);
  Device d(std::move(b), "");
  EXPECT_FALSE(d.available());
  EXPECT_NE(d.capabilities().why_unavailable.find("GET_VERSION"), std::string::npos);
  Status s = d.UpdateQueue(QueueRef{1, 0x1000, 4096}, 0, 7);
  EXPECT_EQ(s.code(), Status::Code::kUnsupported);

  Device none(nullptr, "no /dev/kfd and no simulated thunk");
  EXPECT_FALSE(none.available());
  EXPECT_EQ(none.capabilities().why_unavailable, "no /dev/kfd and no simulated thunk");
  EXPECT_EQ(none.SetCuMask(1, {1}).code(), Status::Code::kUnsupported);
}

TEST(DeviceTest, UpdateQueuePassesRingPercentAndPriority) {
  Fixture f;
  ASSERT_TRUE(f.device->UpdateQueue(f.q3, 0, 11).ok());
  EXPECT_EQ(f.fake->queues[3].percent, 0u);
  EXPECT_EQ(f.fake->queues[3].priority, 11u);
  EXPECT_EQ(f.fake->queues[3].ring_base, 0x7000u);
  EXPECT_EQ(f.fake->queues[3].ring_size, 4096u);
  EXPECT_EQ(f.device->capabilities().update_queue, Support::kYes);
  // A ref without its ring would make KFD overwrite the ring address: refused before the ioctl.
  EXPECT_EQ(f.device->UpdateQueue(QueueRef{3, 0, 0}, 0, 7).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(f.fake->calls(abi::kIocUpdateQueue), 1);
}

TEST(DeviceTest, MapsErrnoToStatusAndLearnsOnlyProcessWideAnswers) {
  const std::map<int, Status::Code> cases = {
      {EPERM, Status::Code::kPermission},   {EACCES, Status::Code::kPermission},
      {EBUSY, Status::Code::kBusy},         {ENOTTY, Status::Code::kUnsupported},
      {EINVAL, Status::Code::kInvalidArgument}, {ENOENT, Status::Code::kNotFound},
      {EIO, Status::Code::kIoError}};
  for (const auto& [err, code] : cases) {
    Fixture f;
    f.fake->FailNext(abi::kIocUpdateQueue, err);
    Status s = f.device->UpdateQueue(f.q3, 0, 7);
    EXPECT_EQ(s.code(), code) << err;
    EXPECT_EQ(s.err(), err);
    EXPECT_NE(s.message().find("UPDATE_QUEUE(queue 3, 0%)"), std::string::npos) << s.message();
    const bool process_wide = code == Status::Code::kPermission || code == Status::Code::kUnsupported;
    EXPECT_EQ(f.device->capabilities().update_queue,
              process_wide ? Support::kNo : Support::kUnknown) << err;
  }
}

TEST(DeviceTest, SetCuMaskSendsBitsInMultiplesOf32) {
  Fixture f;
  ASSERT_TRUE(f.device->SetCuMask(3, {0xffffffffu, 0x0000ffffu}).ok());
  EXPECT_EQ(f.fake->queues[3].cu_mask, (std::vector<uint32_t>{0xffffffffu, 0xffffu}));
  EXPECT_EQ(f.device->SetCuMask(9, {1}).code(), Status::Code::kInvalidArgument);  // no queue 9
  f.fake->FailNext(abi::kIocSetCuMask, EPERM);
  EXPECT_EQ(f.device->SetCuMask(3, {1}).code(), Status::Code::kPermission);
  EXPECT_EQ(f.device->capabilities().cu_mask, Support::kNo);
}

TEST(DeviceTest, DebugTrapStructsAreNeverSentBelow113) {
  Fixture f(1, 11);
  EXPECT_EQ(f.device->DbgTrapEnable().code(), Status::Code::kUnsupported);
  std::vector<abi::QueueSnapshotEntry> snap;
  EXPECT_EQ(f.device->QueueSnapshot(&snap).code(), Status::Code::kUnsupported);
  EXPECT_EQ(f.device->SuspendQueues({3}, 0, nullptr, nullptr).code(), Status::Code::kUnsupported);
  EXPECT_EQ(f.fake->calls(abi::kIocDbgTrap), 0);
  Fixture g(1, 12);
  EXPECT_EQ(g.device->DbgTrapEnable().code(), Status::Code::kUnsupported);
  EXPECT_EQ(g.fake->calls(abi::kIocDbgTrap), 0);
}

TEST(DeviceTest, RuntimeEnableRules) {
  Fixture old(1, 11);
  EXPECT_EQ(old.device->RuntimeEnable().code(), Status::Code::kUnsupported);
  EXPECT_EQ(old.fake->calls(abi::kIocRuntimeEnable), 0);
  Fixture f(1, 14);  // has queue 3 already
  Status s = f.device->RuntimeEnable();
  EXPECT_EQ(s.code(), Status::Code::kBusy);
  EXPECT_EQ(s.err(), EEXIST);
  EXPECT_FALSE(f.device->runtime_enabled());
  f.fake->runtime_enabled = true;  // the runtime did it: EBUSY counts as enabled
  EXPECT_TRUE(f.device->RuntimeEnable().ok());
  EXPECT_TRUE(f.device->runtime_enabled());
  Fixture g(1, 14);
  g.fake->queues.clear();
  ASSERT_TRUE(g.device->DbgTrapEnable().ok());
  // After the debug-trap enable KFD would block waiting for a debugger: refused locally.
  EXPECT_EQ(g.device->RuntimeEnable().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(g.fake->calls(abi::kIocRuntimeEnable), 0);
  Fixture h(1, 14);
  h.fake->queues.clear();
  EXPECT_TRUE(h.device->RuntimeEnable().ok());
  EXPECT_TRUE(h.fake->runtime_enabled);
}

TEST(DeviceTest, SuspendWithoutRuntimeEnableIsPermissionDenied) {
  Fixture f(1, 14);
  ASSERT_TRUE(f.device->DbgTrapEnable().ok());
  Status s = f.device->SuspendQueues({3}, 0, nullptr, nullptr);
  EXPECT_EQ(s.code(), Status::Code::kPermission);
  EXPECT_EQ(f.device->capabilities().dbg_suspend, Support::kNo);
}

TEST(DeviceTest, DebugTrapEnableOnSelfOnceThenSuspendResumeSnapshot) {
  Fixture f(1, 14);
  f.fake->runtime_enabled = true;
  // Without enable, suspend is refused locally (KFD would say EINVAL).
  EXPECT_EQ(f.device->SuspendQueues({3}, 0, nullptr, nullptr).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(f.fake->calls(abi::kIocDbgTrap), 0);
  ASSERT_TRUE(f.device->DbgTrapEnable().ok());
  ASSERT_TRUE(f.device->DbgTrapEnable().ok());  // idempotent
  EXPECT_EQ(f.fake->dbg_calls(abi::kDbgTrapEnable), 1);
  EXPECT_EQ(f.fake->last_dbg.pid, static_cast<uint32_t>(getpid()));
  EXPECT_EQ(f.fake->last_dbg.enable.exception_mask, 0u);
  EXPECT_TRUE(f.device->capabilities().dbg_enabled);

  std::vector<uint32_t> status;
  int count = -1;
  ASSERT_TRUE(f.device->SuspendQueues({3}, 42, &status, &count).ok());
  EXPECT_EQ(count, 1);
  EXPECT_TRUE(f.fake->queues[3].suspended);
  EXPECT_EQ(f.fake->last_dbg.suspend_queues.grace_period, 42u);
  EXPECT_EQ(f.fake->last_dbg.suspend_queues.exception_mask, abi::EcMask(abi::kEcQueueNew));
  ASSERT_TRUE(f.device->ResumeQueues({3}, &status, &count).ok());
  EXPECT_FALSE(f.fake->queues[3].suspended);

  for (uint32_t id = 10; id < 40; ++id) f.fake->queues[id].ring_base = 0x100000 + id;
  std::vector<abi::QueueSnapshotEntry> snap;
  ASSERT_TRUE(f.device->QueueSnapshot(&snap).ok());  // more queues than the first guess
  EXPECT_EQ(snap.size(), 31u);
  EXPECT_EQ(snap[0].queue_id, 3u);
  EXPECT_EQ(snap[0].ring_base_address, 0x7000u);
}

TEST(DeviceTest, DebugTrapEnableFailureIsReported) {
  Fixture f(1, 14);
  f.fake->FailNext(abi::kIocDbgTrap, EBUSY);
  Status s = f.device->DbgTrapEnable();
  EXPECT_EQ(s.code(), Status::Code::kBusy);
  EXPECT_FALSE(f.device->dbg_trap_enabled());
}

const char* NoEnv(const char*) { return nullptr; }
const char* ForceSim(const char* name) {
  return std::string(name) == "HSAPREEMPT_DEVICE" ? "sim" : nullptr;
}
const char* ForceReal(const char* name) {
  return std::string(name) == "HSAPREEMPT_DEVICE" ? "real" : nullptr;
}

TEST(SelectBackendTest, SimForcedWithoutThunkIsUnavailableWithReason) {
  std::string why;
  auto b = SelectBackend(&why, &ForceSim);
  EXPECT_EQ(b, nullptr);  // this test binary does not load the simulated thunk
  EXPECT_NE(why.find("simulated thunk is not loaded"), std::string::npos) << why;
}

TEST(SelectBackendTest, RealForcedOpensDevKfdLazily) {
  std::string why;
  auto b = SelectBackend(&why, &ForceReal);
  ASSERT_NE(b, nullptr);
  EXPECT_STREQ(b->name(), "real");
  EXPECT_EQ(b->SysfsRoot(), "/sys");
  if (access("/dev/kfd", F_OK) != 0) {
    abi::GetVersionArgs v{};
    EXPECT_EQ(b->Ioctl(abi::kIocGetVersion, &v), -ENOENT);
  }
}

TEST(SelectBackendTest, AutomaticWithoutKfdOrThunk) {
  if (access("/dev/kfd", F_OK) == 0) GTEST_SKIP() << "machine has /dev/kfd";
  std::string why;
  EXPECT_EQ(SelectBackend(&why, &NoEnv), nullptr);
  EXPECT_NE(why.find("no /dev/kfd"), std::string::npos) << why;
}

TEST(RealBackendTest, ChildOfForkOpensItsOwnDescriptor) {
  // /dev/null stands in for /dev/kfd (ioctl answers ENOTTY): the child must get a working
  // descriptor of its own, not an error, after the parent opened one.
  RealBackend b("/dev/null");
  EXPECT_EQ(b.Ioctl(abi::kIocGetVersion, nullptr), -ENOTTY);
  testsupport::ExpectChildReturnsZero(
      [&] { return b.Ioctl(abi::kIocGetVersion, nullptr) == -ENOTTY ? 0 : 1; });
  RealBackend missing("/nonexistent/kfd");
  EXPECT_EQ(missing.Ioctl(abi::kIocGetVersion, nullptr), -ENOENT);
}

}  // namespace
}  // namespace hsapreempt::kfd
