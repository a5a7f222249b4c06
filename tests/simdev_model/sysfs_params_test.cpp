// Simulated sysfs queue directory, parameters from the environment, Describe().
#include <gtest/gtest.h>
#include <cerrno>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "simdev/model/params.h"
#include "simdev/model/sysfs.h"

namespace simdev {
namespace {

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(SysfsTest, QueueDirectoryAppearsAndDisappears) {
  Params p;
  p.sysfs_root = "/tmp/hsapreempt-simtest-sysfs-" + std::to_string(getpid()) + "/sys";
  const uint32_t pid = 4242;
  ASSERT_TRUE(SysfsAddQueue(p, pid, 3, 65536));
  std::string dir = p.sysfs_root + "/class/kfd/kfd/proc/4242/queues/3";
  EXPECT_EQ(Read(dir + "/size"), "65536");
  EXPECT_EQ(Read(dir + "/type"), "0");
  EXPECT_EQ(Read(dir + "/gpuid"), std::to_string(p.gpu_id));
  ASSERT_TRUE(SysfsAddQueue(p, pid, 4, 4096));
  SysfsRemoveQueue(p, pid, 3);
  EXPECT_NE(access(dir.c_str(), F_OK), 0);
  EXPECT_EQ(access((p.sysfs_root + "/class/kfd/kfd/proc/4242/queues/4").c_str(), F_OK), 0);
  SysfsRemoveProcess(p, pid);
  EXPECT_NE(access(SysfsProcessDir(p, pid).c_str(), F_OK), 0);
}

TEST(SysfsTest, MissingFaultKeepsNoDirectory) {
  Params p;
  p.sysfs_root = "/tmp/hsapreempt-simtest-sysfs-missing-" + std::to_string(getpid()) + "/sys";
  p.faults = "sysfs:missing";
  EXPECT_FALSE(SysfsAddQueue(p, 1, 1, 4096));
  EXPECT_NE(access(p.sysfs_root.c_str(), F_OK), 0);
}

TEST(SysfsTest, DefaultRootIsPerUserAndDevice) {
  Params p;
  p.device_name = "abc";
  EXPECT_EQ(p.SysfsRoot(), "/tmp/hsapreempt-sim-" + std::to_string(getuid()) + "-abc/sys");
}

class ParamsEnvTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const char* v : {"HSAPREEMPT_SIM_PRESET", "HSAPREEMPT_SIM_CUS", "HSAPREEMPT_SIM_KERNEL",
                          "HSAPREEMPT_SIM_RUNLIST_UPDATE_NS", "HSAPREEMPT_SIM_DEVICE",
                          "HSAPREEMPT_SIM_SLOTS_PER_CU", "HSAPREEMPT_SIM_FAULTS"}) {
      unsetenv(v);
    }
  }
};

TEST_F(ParamsEnvTest, DefaultsAreMi300x) {
  Params p = Params::FromEnvironment();
  EXPECT_EQ(p.preset, "mi300x");
  EXPECT_EQ(p.cus, 304u);
  EXPECT_EQ(p.xcc, 8u);
  EXPECT_EQ(p.engine_clock_mhz, 2100u);
  EXPECT_EQ(p.vram_bytes, 192ull << 30);
  EXPECT_EQ(p.kernel, KernelProfile::kLinux65);
}

TEST_F(ParamsEnvTest, Mi308xPresetAndOverrides) {
  setenv("HSAPREEMPT_SIM_PRESET", "mi308x", 1);
  setenv("HSAPREEMPT_SIM_RUNLIST_UPDATE_NS", "30000", 1);
  setenv("HSAPREEMPT_SIM_KERNEL", "linux-6.1", 1);
  Params p = Params::FromEnvironment();
  EXPECT_EQ(p.preset, "mi308x");
  EXPECT_EQ(p.cus, 80u);
  EXPECT_EQ(p.xcc, 4u);
  EXPECT_EQ(p.runlist_update_ns, 30000u);
  EXPECT_EQ(p.kernel, KernelProfile::kLinux61);
  std::string d = p.Describe();
  EXPECT_NE(d.find("preset=mi308x"), std::string::npos) << d;
  EXPECT_NE(d.find("kernel=linux-6.1"), std::string::npos) << d;
  EXPECT_NE(d.find("runlist_update_ns=30000"), std::string::npos) << d;
  EXPECT_EQ(d.find('\n'), std::string::npos);
}

TEST_F(ParamsEnvTest, BadValuesKeepPresetWithOneLine) {
  setenv("HSAPREEMPT_SIM_CUS", "lots", 1);
  setenv("HSAPREEMPT_SIM_KERNEL", "linux-9", 1);
  setenv("HSAPREEMPT_SIM_DEVICE", "../evil", 1);
  setenv("HSAPREEMPT_SIM_SLOTS_PER_CU", "64", 1);  // 304 x 64 > slot table
  testing::internal::CaptureStderr();
  Params p = Params::FromEnvironment();
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(p.cus, 304u);
  EXPECT_EQ(p.kernel, KernelProfile::kLinux65);
  EXPECT_EQ(p.device_name, "default");
  EXPECT_EQ(p.slots_per_cu, 1u);
  EXPECT_NE(err.find("HSAPREEMPT_SIM_CUS=lots"), std::string::npos) << err;
  int lines = 0;
  for (char c : err) lines += c == '\n';
  EXPECT_EQ(lines, 4) << err;
}

TEST_F(ParamsEnvTest, OutOfRangeIsRejected) {
  setenv("HSAPREEMPT_SIM_CUS", "0", 1);
  testing::internal::CaptureStderr();
  EXPECT_EQ(Params::FromEnvironment().cus, 304u);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("[1, 4096]"), std::string::npos);
}

TEST_F(ParamsEnvTest, FaultsParse) {
  Params p;
  p.faults = "update_queue:EPERM,dbg_trap:EBUSY,sysfs:missing";
  EXPECT_EQ(p.FaultFor("update_queue"), EPERM);
  EXPECT_EQ(p.FaultFor("dbg_trap"), EBUSY);
  EXPECT_EQ(p.FaultFor("set_cu_mask"), 0);
  EXPECT_TRUE(p.SysfsMissing());
  setenv("HSAPREEMPT_SIM_FAULTS", "update_queue:EWHAT", 1);
  testing::internal::CaptureStderr();
  Params::FromEnvironment();
  EXPECT_NE(testing::internal::GetCapturedStderr().find("EWHAT"), std::string::npos);
}

}  // namespace
}  // namespace simdev
