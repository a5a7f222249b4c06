// `hsapreempt probe --json` on a private simulated device, per kernel profile and injected fault:
// the real ROCr 5.2.3 over the simulated thunk, the helper child trying each lever for real.
// Checks what the probe reports (levers, mapping, fallback reasons), not only its exit code.
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/process.h"
#include "tools/support/json.h"

namespace hsapreempt {
namespace {

using tools::json::Value;

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The simulated device must keep <sysfs>/class/kfd/kfd/proc/<pid>/queues/ as KFD does; tests that
// need the sysfs mapping skip (loudly) until it does, and start checking on their own once it does.
#define SKIP_IF_SIM_HAS_NO_SYSFS_QUEUES(v)                                                      \
  do {                                                                                         \
    const std::string method_ = (v).Get("mapping").Get("sysfs").Get("method").AsString();     \
    if (Has(method_, "sysfs: cannot list") || Has(method_, "does not exist")) {                  \
      GTEST_SKIP() << "simulated device keeps no sysfs queue directory (simdev gap): " << method_; \
    }                                                                                          \
  } while (0)

class ProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testsupport::SimLibDir().empty()) GTEST_SKIP() << "simulated device not built";
    cli_ = testsupport::BuildDir() + "/tools/hsapreempt";
    if (access(cli_.c_str(), X_OK) != 0) GTEST_SKIP() << "hsapreempt CLI not built";
  }
  void TearDown() override {
    for (const std::string& d : devices_) {
      testsupport::RemoveSimDevice(d);  // segment and sysfs tree
    }
  }

  // Runs the probe with `env` on a fresh device; fails the test unless it reports JSON.
  Value Probe(std::vector<std::string> env) {
    std::string device = testsupport::UniqueDeviceName("probe");
    devices_.push_back(device);
    std::vector<std::string> full = testsupport::SimEnvironment(device);
    full.push_back("HSAPREEMPT_DEVICE=sim");
    full.push_back("HSA_TOOLS_LIB=");
    full.insert(full.end(), env.begin(), env.end());
    testsupport::RunOptions o;
    o.env = full;
    o.timeout_s = 90;
    testsupport::RunResult r = testsupport::RunProcess({cli_, "probe", "--json"}, o);
    EXPECT_TRUE(r.ok()) << r.Describe() << "\n" << r.err;
    Value v;
    std::string err;
    EXPECT_TRUE(tools::json::Parse(r.out, &v, &err)) << err << "\n" << r.out;
    EXPECT_TRUE(v.Get("helper").Get("ok").AsBool()) << r.out;
    return v;
  }

  std::string cli_;
  std::vector<std::string> devices_;
};

TEST_F(ProbeTest, Linux61HasUpdateQueueAndCuMaskButNoDebugTrap) {
  Value v = Probe({"HSAPREEMPT_SIM_KERNEL=linux-6.1"});
  EXPECT_EQ(v.Get("device").Get("kind").AsString(), "simulated");
  EXPECT_TRUE(Has(v.Get("device").Get("describe").AsString(), "linux-6.1"));
  EXPECT_EQ(v.Get("kfd_version").AsString(), "1.11");
  EXPECT_FALSE(v.Get("dbg_trap_abi").AsBool());
  EXPECT_EQ(v.Get("scheduler").AsString(), "HWS");
  SKIP_IF_SIM_HAS_NO_SYSFS_QUEUES(v);
  const Value& m = v.Get("mapping").Get("sysfs");
  EXPECT_TRUE(m.Get("known").AsBool()) << m.Get("method").AsString();
  const Value& l = v.Get("levers");
  EXPECT_TRUE(l.Get("update_queue").Get("ok").AsBool()) << tools::json::Serialize(l);
  EXPECT_TRUE(l.Get("cu_mask").Get("ok").AsBool()) << tools::json::Serialize(l);
  EXPECT_FALSE(l.Get("dbg_suspend").Get("tried").AsBool());
  EXPECT_TRUE(Has(l.Get("dbg_suspend").Get("error").AsString(), "1.13"));
  // The scheduler thread's priority: asked for the default, raised or refused with a reason.
  const Value& t = v.Get("scheduler_thread");
  EXPECT_EQ(t.Get("asked").AsNumber(), -10);
  EXPECT_EQ(t.Get("raised").AsBool(), t.Get("error").AsString().empty() &&
                                          t.Get("inherited").AsNumber() > -10)
      << tools::json::Serialize(t);
  EXPECT_EQ(t.Get("nice").AsNumber(), t.Get("raised").AsBool() ? -10 : t.Get("inherited").AsNumber())
      << tools::json::Serialize(t);
  EXPECT_EQ(v.Get("selection").Get("lever").AsString(), "update_queue")
      << v.Get("selection").Get("why").AsString();
}

TEST_F(ProbeTest, Linux65HasEveryLeverAndSuspendModeUsesIt) {
  Value v = Probe({"HSAPREEMPT_SIM_KERNEL=linux-6.5"});
  EXPECT_TRUE(v.Get("dbg_trap_abi").AsBool());
  EXPECT_TRUE(v.Get("mapping").Get("snapshot").Get("known").AsBool())
      << v.Get("mapping").Get("snapshot").Get("method").AsString();
  const Value& l = v.Get("levers");
  EXPECT_TRUE(l.Get("update_queue").Get("ok").AsBool()) << tools::json::Serialize(l);
  EXPECT_TRUE(l.Get("cu_mask").Get("ok").AsBool()) << tools::json::Serialize(l);
  EXPECT_TRUE(l.Get("dbg_suspend").Get("ok").AsBool()) << tools::json::Serialize(l);
  // The simulated device's trace shows each lever acting on the queue, not just the ioctl's 0.
  for (const char* lever : {"update_queue", "cu_mask", "dbg_suspend"}) {
    const Value& e = v.Get("effects").Get(lever);
    EXPECT_TRUE(e.Get("checked").AsBool() && e.Get("seen").AsBool())
        << lever << ": " << tools::json::Serialize(e);
  }
  // Auto never picks the debug trap on its own (it is opt-in)...
  EXPECT_NE(v.Get("selection").Get("lever").AsString(), "dbg_suspend");
  // ...HSAPREEMPT_L2_MODE=suspend does, with the exact snapshot mapping.
  Value s = Probe({"HSAPREEMPT_SIM_KERNEL=linux-6.5", "HSAPREEMPT_L2_MODE=suspend"});
  EXPECT_EQ(s.Get("selection").Get("lever").AsString(), "dbg_suspend")
      << s.Get("selection").Get("why").AsString();
  EXPECT_TRUE(Has(s.Get("selection").Get("why").AsString(), "snapshot"));
}

TEST_F(ProbeTest, UpdateQueueEpermFallsBackToCuMaskWithReason) {
  Value v = Probe({"HSAPREEMPT_SIM_KERNEL=linux-6.5", "HSAPREEMPT_SIM_FAULTS=update_queue:EPERM"});
  const Value& u = v.Get("levers").Get("update_queue");
  EXPECT_TRUE(u.Get("tried").AsBool());
  EXPECT_FALSE(u.Get("ok").AsBool());
  EXPECT_EQ(static_cast<int>(u.Get("errno").AsNumber()), 1);
  SKIP_IF_SIM_HAS_NO_SYSFS_QUEUES(v);
  EXPECT_EQ(v.Get("selection").Get("lever").AsString(), "cu_mask")
      << v.Get("selection").Get("why").AsString();
  EXPECT_TRUE(Has(v.Get("selection").Get("why").AsString(), "UPDATE_QUEUE refused"));
  // An explicit Level-2 request has no CU-mask fallback: Level-1 with the reason.
  Value l2 = Probe({"HSAPREEMPT_SIM_KERNEL=linux-6.5", "HSAPREEMPT_SIM_FAULTS=update_queue:EPERM",
                    "HSAPREEMPT_LEVEL=2", "HSAPREEMPT_L2_MODE=update"});
  EXPECT_EQ(l2.Get("selection").Get("lever").AsString(), "none");
  EXPECT_TRUE(Has(l2.Get("selection").Get("why").AsString(), "Operation not permitted"));
}

TEST_F(ProbeTest, DebugTrapBusyMeansNoSuspendLever) {
  Value v = Probe({"HSAPREEMPT_SIM_KERNEL=linux-6.5", "HSAPREEMPT_SIM_FAULTS=dbg_trap:EBUSY",
                   "HSAPREEMPT_L2_MODE=suspend"});
  EXPECT_FALSE(v.Get("levers").Get("dbg_suspend").Get("ok").AsBool());
  SKIP_IF_SIM_HAS_NO_SYSFS_QUEUES(v);
  const std::string lever = v.Get("selection").Get("lever").AsString();
  const std::string why = v.Get("selection").Get("why").AsString();
  EXPECT_NE(lever, "dbg_suspend") << why;
  EXPECT_TRUE(Has(why, "busy") || Has(why, "DBG_TRAP")) << why;
}

TEST_F(ProbeTest, SysfsMissingLeavesOnlySnapshotMapping) {
  Value v = Probe({"HSAPREEMPT_SIM_KERNEL=linux-6.1", "HSAPREEMPT_SIM_FAULTS=sysfs:missing"});
  EXPECT_FALSE(v.Get("mapping").Get("sysfs").Get("known").AsBool());
  EXPECT_EQ(v.Get("selection").Get("lever").AsString(), "none");
  EXPECT_TRUE(Has(v.Get("selection").Get("why").AsString(), "queue id unknown"))
      << v.Get("selection").Get("why").AsString();
  // On 6.5 the opt-in snapshot mapping still finds the queue.
  Value s = Probe({"HSAPREEMPT_SIM_KERNEL=linux-6.5", "HSAPREEMPT_SIM_FAULTS=sysfs:missing",
                   "HSAPREEMPT_L2_MODE=suspend"});
  EXPECT_EQ(s.Get("selection").Get("lever").AsString(), "dbg_suspend")
      << s.Get("selection").Get("why").AsString();
}

}  // namespace
}  // namespace hsapreempt
