// The exported simulator entry points over the real thunk core (queues made with hsaKmtCreateQueue,
// served by the thunk's command processor): the KFD ioctl path the product's kfd_ctl uses on the
// simulated device, end to end.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hsa/amd_hsa_signal.h>
#include <hsa/hsa.h>
#include <hsakmt.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "hsapreempt/sim_device.h"
#include "simdev/model/device.h"
#include "simdev/model/kfd_control.h"
#include "simdev/model/kfd_ioctl_ext.h"

namespace {

// A hand-made AQL queue on which empty barrier-AND packets are submitted.
struct MiniQueue {
  void* ring = nullptr;
  alignas(64) volatile uint64_t read = 0;
  alignas(64) volatile uint64_t write = 0;
  HsaQueueResource rsrc{};
  amd_signal_t* signal = nullptr;

  bool Create() {
    HsaMemFlags f{};
    f.ui32.HostAccess = 1;
    if (hsaKmtAllocMemory(0, 4096, f, &ring) != HSAKMT_STATUS_SUCCESS) return false;
    if (hsaKmtAllocMemory(0, 4096, f, reinterpret_cast<void**>(&signal)) != HSAKMT_STATUS_SUCCESS) {
      return false;
    }
    for (int i = 0; i < 64; ++i) static_cast<uint16_t*>(ring)[i * 32] = HSA_PACKET_TYPE_INVALID;
    rsrc.Queue_read_ptr_aql = const_cast<uint64_t*>(&read);
    rsrc.Queue_write_ptr_aql = const_cast<uint64_t*>(&write);
    return hsaKmtCreateQueue(1, HSA_QUEUE_COMPUTE_AQL, 100, HSA_QUEUE_PRIORITY_NORMAL, ring, 4096,
                             nullptr, &rsrc) == HSAKMT_STATUS_SUCCESS;
  }
  void Submit() {
    signal->kind = AMD_SIGNAL_KIND_USER;
    signal->value = 1;
    uint64_t idx = write;
    auto* p = static_cast<hsa_barrier_and_packet_t*>(ring) + (idx % 64);
    memset(reinterpret_cast<uint8_t*>(p) + 2, 0, sizeof(*p) - 2);
    p->completion_signal.handle = reinterpret_cast<uint64_t>(signal);
    __atomic_store_n(&p->header, uint16_t(HSA_PACKET_TYPE_BARRIER_AND), __ATOMIC_RELEASE);
    __atomic_store_n(&write, idx + 1, __ATOMIC_RELEASE);
    *rsrc.Queue_DoorBell_aql = idx;
  }
  bool Completes(int ms) {
    for (int i = 0; i < ms; ++i) {
      if (__atomic_load_n(&signal->value, __ATOMIC_ACQUIRE) == 0) return true;
      usleep(1000);
    }
    return false;
  }
  uint32_t id() const { return static_cast<uint32_t>(rsrc.QueueId); }
};

class KfdThunkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A fresh device per test (ctest gives each test its own device name): drop a leftover
    // segment before the thunk first attaches (once per process).
    static bool removed = false;
    if (const char* name = getenv("HSAPREEMPT_SIM_DEVICE"); name != nullptr && !removed) {
      simdev::Device::RemoveSegmentForTest(name);
    }
    removed = true;
    ASSERT_EQ(hsaKmtOpenKFD(), HSAKMT_STATUS_SUCCESS);
    dbg_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  void TearDown() override {
    simkfd_dbg_trap_args a{};  // end any debug session so the next test can enable again
    a.pid = static_cast<uint32_t>(getpid());
    a.op = SIMKFD_DBG_TRAP_DISABLE;
    hsapreempt_sim_kfd_ioctl(SIMKFD_IOC_DBG_TRAP, &a);
    close(dbg_fd_);
    hsaKmtCloseKFD();
    // Unlink the segment (this process keeps its mapping), so runs leave nothing in /dev/shm.
    if (const char* name = getenv("HSAPREEMPT_SIM_DEVICE")) {
      simdev::Device::RemoveSegmentForTest(name);
    }
  }
  int Ioctl(unsigned long req, void* arg) {
    errno = 0;
    return hsapreempt_sim_kfd_ioctl(req, arg);
  }
  int DbgEnable() {
    simkfd_dbg_trap_args a{};
    a.pid = static_cast<uint32_t>(getpid());
    a.op = SIMKFD_DBG_TRAP_ENABLE;
    a.enable.dbg_fd = static_cast<uint32_t>(dbg_fd_);
    return Ioctl(SIMKFD_IOC_DBG_TRAP, &a);
  }
  int dbg_fd_ = -1;
};

TEST_F(KfdThunkTest, EntryPointsAnswer) {
  std::string d = hsapreempt_sim_describe();
  EXPECT_NE(d.find("preset=mi300x"), std::string::npos) << d;
  EXPECT_NE(d.find("kernel=linux-6.5"), std::string::npos) << d;
  EXPECT_EQ(hsapreempt_sim_sysfs_root()[0], '/');
  simkfd_get_version_args v{};
  ASSERT_EQ(Ioctl(SIMKFD_IOC_GET_VERSION, &v), 0);
  EXPECT_EQ(v.major_version, 1u);
  EXPECT_EQ(v.minor_version, 13u);
  EXPECT_EQ(Ioctl(_IOR('X', 1, int), &v), -1);
  EXPECT_EQ(errno, ENOTTY);
}

TEST_F(KfdThunkTest, UpdateQueueStopsAndRestartsTheQueue) {
  MiniQueue q;
  ASSERT_TRUE(q.Create());
  simkfd_update_queue_args u{};
  u.queue_id = q.id();
  u.ring_size = 4096;
  u.queue_percentage = 0;
  ASSERT_EQ(Ioctl(SIMKFD_IOC_UPDATE_QUEUE, &u), 0) << strerror(errno);
  q.Submit();
  EXPECT_FALSE(q.Completes(50));  // the CP fetches nothing from an inactive queue
  u.queue_percentage = 100;
  ASSERT_EQ(Ioctl(SIMKFD_IOC_UPDATE_QUEUE, &u), 0);
  EXPECT_TRUE(q.Completes(2000));
  u.queue_id = 999;
  EXPECT_EQ(Ioctl(SIMKFD_IOC_UPDATE_QUEUE, &u), -1);
  EXPECT_EQ(errno, EFAULT);
  // The trace saw the queue go inactive and active again.
  hsapreempt_sim_event ev[256];
  uint64_t cursor = 0;
  int off = 0, on = 0;
  size_t n;
  while ((n = hsapreempt_sim_trace_read(&cursor, ev, 256)) > 0) {
    for (size_t i = 0; i < n; ++i) {
      if (ev[i].kind == HSAPREEMPT_SIM_EV_QUEUE_ACTIVE && ev[i].queue_id == q.id() &&
          ev[i].pid == static_cast<uint32_t>(getpid())) {
        (ev[i].value ? on : off)++;
      }
    }
  }
  EXPECT_EQ(off, 1);
  EXPECT_EQ(on, 1);
  hsaKmtDestroyQueue(q.rsrc.QueueId);
}

TEST_F(KfdThunkTest, SnapshotMapsRingToQueueId) {
  MiniQueue a, b;
  ASSERT_TRUE(a.Create());
  ASSERT_TRUE(b.Create());
  simkfd_dbg_trap_args s{};
  s.pid = static_cast<uint32_t>(getpid());
  s.op = SIMKFD_DBG_TRAP_GET_QUEUE_SNAPSHOT;
  EXPECT_EQ(Ioctl(SIMKFD_IOC_DBG_TRAP, &s), -1);  // before DBG_TRAP_ENABLE
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(DbgEnable(), 0) << strerror(errno);
  simkfd_queue_snapshot_entry e[8] = {};
  s.queue_snapshot.snapshot_buf_ptr = reinterpret_cast<uint64_t>(e);
  s.queue_snapshot.num_queues = 8;
  s.queue_snapshot.entry_size = sizeof(e[0]);
  ASSERT_EQ(Ioctl(SIMKFD_IOC_DBG_TRAP, &s), 0);
  ASSERT_EQ(s.queue_snapshot.num_queues, 2u);
  for (uint32_t i = 0; i < 2; ++i) {
    const MiniQueue& m = e[i].ring_base_address == reinterpret_cast<uint64_t>(a.ring) ? a : b;
    EXPECT_EQ(e[i].ring_base_address, reinterpret_cast<uint64_t>(m.ring));
    EXPECT_EQ(e[i].queue_id, m.id());
    EXPECT_EQ(e[i].ring_size, 4096u);
  }
  hsaKmtDestroyQueue(a.rsrc.QueueId);
  hsaKmtDestroyQueue(b.rsrc.QueueId);
}

TEST_F(KfdThunkTest, DebugTrapSuspendStopsTheQueueUntilResumed) {
  // ROCr enables the runtime at start-up, before any queue (the thunk's hsaKmtRuntimeEnable).
  int re = simdev::KfdRuntimeEnable(true);
  ASSERT_TRUE(re == 0 || re == EBUSY) << re;
  MiniQueue q;
  ASSERT_TRUE(q.Create());
  ASSERT_EQ(DbgEnable(), 0) << strerror(errno);
  uint32_t ids[1] = {q.id()};
  simkfd_dbg_trap_args s{};
  s.pid = static_cast<uint32_t>(getpid());
  s.op = SIMKFD_DBG_TRAP_SUSPEND_QUEUES;
  s.suspend_queues.queue_array_ptr = reinterpret_cast<uint64_t>(ids);
  s.suspend_queues.num_queues = 1;
  s.suspend_queues.exception_mask = SIMKFD_EC_MASK(SIMKFD_EC_QUEUE_NEW);
  EXPECT_EQ(Ioctl(SIMKFD_IOC_DBG_TRAP, &s), 0);  // still NEW: skipped, flag cleared
  EXPECT_EQ(ids[0], q.id() | SIMKFD_DBG_QUEUE_INVALID_MASK);
  ids[0] = q.id();
  // The first call suspended nothing, so it cleared nothing either (as upstream): clear by snapshot.
  simkfd_dbg_trap_args snap{};
  snap.pid = s.pid;
  snap.op = SIMKFD_DBG_TRAP_GET_QUEUE_SNAPSHOT;
  simkfd_queue_snapshot_entry e[4] = {};
  snap.queue_snapshot.snapshot_buf_ptr = reinterpret_cast<uint64_t>(e);
  snap.queue_snapshot.num_queues = 4;
  snap.queue_snapshot.entry_size = sizeof(e[0]);
  snap.queue_snapshot.exception_mask = SIMKFD_EC_MASK(SIMKFD_EC_QUEUE_NEW);
  ASSERT_EQ(Ioctl(SIMKFD_IOC_DBG_TRAP, &snap), 0);
  EXPECT_EQ(Ioctl(SIMKFD_IOC_DBG_TRAP, &s), 1);
  q.Submit();
  EXPECT_FALSE(q.Completes(50));
  simkfd_dbg_trap_args r{};
  r.pid = s.pid;
  r.op = SIMKFD_DBG_TRAP_RESUME_QUEUES;
  r.resume_queues.queue_array_ptr = reinterpret_cast<uint64_t>(ids);
  r.resume_queues.num_queues = 1;
  EXPECT_EQ(Ioctl(SIMKFD_IOC_DBG_TRAP, &r), 1);
  EXPECT_TRUE(q.Completes(2000));
  hsaKmtDestroyQueue(q.rsrc.QueueId);
}

}  // namespace
