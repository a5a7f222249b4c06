// Sysfs parsing and the queue-id mapping rules (sysfs diff with ROCr's utility queue, snapshot),
// on a fake sysfs tree and FakeBackend.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "kfd_ctl/queue_id_map.h"
#include "kfd_ctl/sysfs.h"
#include "tests/kfd_ctl/fake_backend.h"
#include "tests/support/fork_child.h"

namespace hsapreempt::kfd {
namespace {

using testing::FakeBackend;

SysfsQueue Q(uint32_t id, uint64_t size) {
  SysfsQueue q;
  q.queue_id = id;
  q.size = size;
  q.gpu_id = 0x1234;
  return q;
}

TEST(SysfsTest, ListsQueuesWithSizeTypeGpuid) {
  FakeBackend fake;
  fake.AddSysfsQueue(4242, 1, 262144, 0xabcd);
  fake.AddSysfsQueue(4242, 0, 65536);
  std::vector<SysfsQueue> qs;
  std::string why;
  ASSERT_TRUE(ListSysfsQueues(fake.SysfsRoot(), 4242, &qs, &why)) << why;
  ASSERT_EQ(qs.size(), 2u);
  EXPECT_EQ(qs[0].queue_id, 0u);
  EXPECT_EQ(qs[0].size, 65536u);
  EXPECT_EQ(qs[1].size, 262144u);
  EXPECT_EQ(qs[1].gpu_id, 0xabcdu);
  EXPECT_EQ(qs[1].type, 2u);
}

TEST(SysfsTest, MissingDirectoryIsEmptyButUnlistableIsAnError) {
  FakeBackend fake;
  std::vector<SysfsQueue> qs;
  std::string why;
  EXPECT_TRUE(ListSysfsQueues(fake.SysfsRoot(), 4242, &qs, &why));
  EXPECT_TRUE(qs.empty());
  EXPECT_NE(why.find("does not exist"), std::string::npos) << why;
  // A file where the directory should be cannot be listed: an error.
  FakeBackend::MkdirP(fake.SysfsRoot() + "/class/kfd/kfd/proc/4243");
  std::ofstream(fake.SysfsRoot() + "/class/kfd/kfd/proc/4243/queues") << "x";
  EXPECT_FALSE(ListSysfsQueues(fake.SysfsRoot(), 4243, &qs, &why));
  EXPECT_NE(why.find("cannot list"), std::string::npos) << why;
  fake.MakeProcDir();
  EXPECT_TRUE(ListSysfsQueues(fake.SysfsRoot(), 4242, &qs, &why));
  EXPECT_TRUE(qs.empty());
  EXPECT_FALSE(ListSysfsQueues("", 1, &qs, &why));
}

TEST(SysfsTest, TopologyAndScheduler) {
  FakeBackend fake;
  fake.AddTopologyGpu(1, 0x1234, 90402, 1216, 4, 2100);  // MI300X: 304 CUs
  fake.AddTopologyGpu(0, 0, 0, 0, 0, 0);                 // CPU node: skipped
  auto gpus = ReadTopologyGpus(fake.SysfsRoot());
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].cu_count, 304u);
  EXPECT_EQ(gpus[0].gpu_id, 0x1234u);
  EXPECT_EQ(gpus[0].max_engine_clk_mhz, 2100u);
  EXPECT_EQ(GfxMajorFromTargetVersion(gpus[0].gfx_target_version), 9u);
  EXPECT_EQ(SchedulerForGfxMajor(9), Scheduler::kHws);
  EXPECT_EQ(SchedulerForGfxMajor(10), Scheduler::kHws);
  EXPECT_EQ(SchedulerForGfxMajor(11), Scheduler::kMes);
  EXPECT_EQ(SchedulerForGfxMajor(12), Scheduler::kMes);
  EXPECT_EQ(GfxMajorFromName("gfx90a"), 9u);
  EXPECT_EQ(GfxMajorFromName("gfx942"), 9u);
  EXPECT_EQ(GfxMajorFromName("gfx1100"), 11u);
  EXPECT_EQ(GfxMajorFromName("amdgcn-amd-amdhsa--gfx90a"), 0u);
  EXPECT_EQ(GfxMajorFromName("gfx90a:sramecc+:xnack-"), 9u);
  EXPECT_TRUE(ReadTopologyGpus("/nonexistent").empty());
}

TEST(QueueIdMapperTest, SysfsDiffSingleNewQueue) {
  QueueMapping m = QueueIdMapper::FromSysfsDiff({Q(0, 4096), Q(1, 8192)},
                                                {Q(0, 4096), Q(1, 8192), Q(2, 65536)}, 65536, false);
  EXPECT_TRUE(m.known);
  EXPECT_EQ(m.queue_id, 2u);
  EXPECT_EQ(m.gpu_id, 0x1234u);
  EXPECT_EQ(m.method, "sysfs");
}

TEST(QueueIdMapperTest, SysfsDiffUtilityQueueToldApartBySize) {
  // First user queue: ROCr's utility queue (256 KiB ring) appears with ours (64 KiB).
  QueueMapping m =
      QueueIdMapper::FromSysfsDiff({}, {Q(0, 262144), Q(1, 65536)}, 65536, false);
  EXPECT_TRUE(m.known);
  EXPECT_EQ(m.queue_id, 1u);
}

TEST(QueueIdMapperTest, SysfsDiffAmbiguousSameSizeIsRefused) {
  QueueMapping m =
      QueueIdMapper::FromSysfsDiff({}, {Q(0, 262144), Q(1, 262144)}, 262144, false);
  EXPECT_FALSE(m.known);
  EXPECT_NE(m.method.find("ambiguous"), std::string::npos) << m.method;
  EXPECT_NE(m.method.find("utility queue"), std::string::npos) << m.method;
  // Opt-in creation order: the higher id is ours, but only when nothing existed before.
  m = QueueIdMapper::FromSysfsDiff({}, {Q(0, 262144), Q(1, 262144)}, 262144, true);
  EXPECT_TRUE(m.known);
  EXPECT_EQ(m.queue_id, 1u);
  EXPECT_EQ(m.method, "sysfs+order");
  m = QueueIdMapper::FromSysfsDiff({Q(5, 4096)}, {Q(5, 4096), Q(0, 262144), Q(1, 262144)}, 262144,
                                   true);
  EXPECT_FALSE(m.known);
}

TEST(QueueIdMapperTest, SysfsDiffNothingNewOrWrongSize) {
  QueueMapping m = QueueIdMapper::FromSysfsDiff({Q(0, 4096)}, {Q(0, 4096)}, 4096, false);
  EXPECT_FALSE(m.known);
  EXPECT_NE(m.method.find("no new queue directory"), std::string::npos);
  m = QueueIdMapper::FromSysfsDiff({}, {Q(0, 8192)}, 4096, false);
  EXPECT_FALSE(m.known);
  EXPECT_NE(m.method.find("4096-byte ring"), std::string::npos) << m.method;
}

TEST(QueueIdMapperTest, SnapshotMatchesRingAddressAndSize) {
  std::vector<abi::QueueSnapshotEntry> e(2);
  e[0].ring_base_address = 0x1000;
  e[0].ring_size = 4096;
  e[0].queue_id = 0;
  e[1].ring_base_address = 0x9000;
  e[1].ring_size = 65536;
  e[1].queue_id = 7;
  e[1].gpu_id = 99;
  QueueMapping m = QueueIdMapper::FromSnapshot(e, 0x9000, 65536);
  EXPECT_TRUE(m.known);
  EXPECT_EQ(m.queue_id, 7u);
  EXPECT_EQ(m.gpu_id, 99u);
  EXPECT_EQ(m.method, "snapshot");
  EXPECT_FALSE(QueueIdMapper::FromSnapshot(e, 0x9000, 4096).known);
  EXPECT_FALSE(QueueIdMapper::FromSnapshot(e, 0x5000, 4096).known);
}

struct MapperFixture {
  explicit MapperFixture(uint32_t minor) {
    auto b = std::make_unique<FakeBackend>(1, minor);
    fake = b.get();
    device = std::make_unique<Device>(std::move(b), "");
    fake->MakeProcDir();
    mapper = std::make_unique<QueueIdMapper>(device.get());
  }
  FakeBackend* fake;
  std::unique_ptr<Device> device;
  std::unique_ptr<QueueIdMapper> mapper;
};

TEST(QueueIdMapperTest, BeginEndBySysfsOnOldKernel) {
  MapperFixture f(11);
  f.mapper->BeginQueueCreate();
  f.fake->AddSysfsQueue(getpid(), 0, 262144);  // utility queue
  f.fake->AddSysfsQueue(getpid(), 1, 16384);   // ours
  QueueMapping m = f.mapper->EndQueueCreate(0xdead000, 16384);
  EXPECT_TRUE(m.known) << m.method;
  EXPECT_EQ(m.queue_id, 1u);
  // Second queue: only one new directory.
  f.mapper->BeginQueueCreate();
  f.fake->AddSysfsQueue(getpid(), 2, 262144);
  m = f.mapper->EndQueueCreate(0xbeef000, 262144);
  EXPECT_TRUE(m.known) << m.method;
  EXPECT_EQ(m.queue_id, 2u);
  // Failed creation just unlocks.
  f.mapper->BeginQueueCreate();
  m = f.mapper->EndQueueCreate(0, 0);
  EXPECT_FALSE(m.known);
  EXPECT_NE(m.method.find("creation failed"), std::string::npos);
}

TEST(QueueIdMapperTest, NoSysfsAndNoSnapshotSaysBoth) {
  auto b = std::make_unique<FakeBackend>(1, 11);  // no proc dir in its tree
  Device device(std::move(b), "");
  QueueIdMapper mapper(&device);
  mapper.BeginQueueCreate();
  QueueMapping m = mapper.EndQueueCreate(0x1000, 4096);
  EXPECT_FALSE(m.known);
  EXPECT_NE(m.method.find("snapshot: needs KFD 1.13+"), std::string::npos) << m.method;
  EXPECT_NE(m.method.find("queues does not exist"), std::string::npos) << m.method;
}

TEST(QueueIdMapperTest, SnapshotPreferredWhenDebugTrapEnabled) {
  MapperFixture f(14);
  ASSERT_TRUE(f.device->DbgTrapEnable().ok());
  f.mapper->BeginQueueCreate();
  // Same-size utility queue: sysfs alone would be ambiguous; the ring address is not.
  f.fake->queues[0].ring_base = 0x100000;
  f.fake->queues[0].ring_size = 262144;
  f.fake->queues[1].ring_base = 0x200000;
  f.fake->queues[1].ring_size = 262144;
  f.fake->AddSysfsQueue(getpid(), 0, 262144);
  f.fake->AddSysfsQueue(getpid(), 1, 262144);
  QueueMapping m = f.mapper->EndQueueCreate(0x200000, 262144);
  EXPECT_TRUE(m.known) << m.method;
  EXPECT_EQ(m.queue_id, 1u);
  EXPECT_EQ(m.method, "snapshot");
}

TEST(QueueIdMapperTest, SuspendModeOptInEnablesDebugTrapForSnapshot) {
  for (uint32_t minor : {11u, 14u}) {
    auto b = std::make_unique<FakeBackend>(1, minor);
    FakeBackend* fake = b.get();
    Device device(std::move(b), "");
    QueueIdMapperOptions options;
    options.enable_debug_trap = true;
    QueueIdMapper mapper(&device, options);
    mapper.BeginQueueCreate();
    fake->queues[0].ring_base = 0x300000;
    fake->queues[0].ring_size = 4096;
    QueueMapping m = mapper.EndQueueCreate(0x300000, 4096);  // no sysfs tree at all
    EXPECT_EQ(m.known, minor >= 13) << m.method;
    EXPECT_EQ(device.dbg_trap_enabled(), minor >= 13);
    EXPECT_EQ(device.runtime_enabled(), minor >= 13);  // before the queue existed
    if (minor < 13) {
      EXPECT_EQ(fake->calls(abi::kIocDbgTrap), 0);
    }
  }
}

TEST(QueueIdMapperTest, ForkWhileAnotherThreadCreatesDoesNotDeadlockTheChild) {
  MapperFixture f(11);
  std::thread creator([&] {
    f.mapper->BeginQueueCreate();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    f.mapper->EndQueueCreate(0, 0);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // The prepare handler waits for the creation in flight.
  pid_t pid = testsupport::ForkWithWatchdog();
  if (pid == 0) {
    f.mapper->BeginQueueCreate();
    f.mapper->EndQueueCreate(0, 0);
    _exit(0);
  }
  creator.join();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(testsupport::ChildOutcome(pid), "");
}

}  // namespace
}  // namespace hsapreempt::kfd
