// Runs hsa_layer_prog (real ROCr 5.2.3 over the simulated device, each test on its own device
// and board) with libhsapreempt.so loaded through HSA_TOOLS_LIB, and checks what the programs
// verified themselves (exactly-once, in-order, signals, timestamps) plus what the tool printed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace hsapreempt::testsupport {
namespace {

class HsaLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (SimLibDir().empty()) GTEST_SKIP() << "simulated device not built (no simdev/lib)";
    device_ = UniqueDeviceName("hl");
  }
  void TearDown() override {
    if (device_.empty()) return;
    RemoveSimDevice(device_);
    // Each test's board (HSAPREEMPT_BOARD=<device name>) goes too.
    RemoveBoard(device_);
  }
  RunResult Run(const std::vector<std::string>& args, bool with_tool = true,
                std::vector<std::string> extra_env = {}, double timeout_s = 600) {
    RunOptions opts;
    opts.env = SimEnvironment(device_);
    opts.env.push_back("HSAPREEMPT_BOARD=" + device_);
    if (with_tool) opts.env.push_back(std::string("HSA_TOOLS_LIB=") + HSA_LAYER_TOOL);
    for (auto& e : extra_env) opts.env.push_back(e);
    opts.timeout_s = timeout_s;
    std::vector<std::string> argv = {HSA_LAYER_PROG};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, opts);
  }
  static bool Passed(const RunResult& r) {
    const bool pass_line = r.out.rfind("PASS", 0) == 0 || r.out.find("\nPASS") != std::string::npos;
    return r.ok() && pass_line && r.out.find("FAIL") == std::string::npos;
  }
  static std::string Why(const RunResult& r) {
    return r.Describe() + "\nstdout: " + r.out + "\nstderr: " + r.err;
  }
  // Value of `key=` in the program's output line.
  static long Field(const std::string& out, const std::string& key) {
    size_t p = out.find(" " + key + "=");
    return p == std::string::npos ? -999999 : std::strtol(out.c_str() + p + key.size() + 2, nullptr, 10);
  }
  std::string device_;
};

TEST(HsaLayerExports, OnlyToolEntryPointsAndPublicApi) {
  RunOptions opts;
  opts.timeout_s = 30;
  RunResult r = RunProcess({"nm", "-D", "--defined-only", HSA_LAYER_TOOL}, opts);
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::set<std::string> names;
  while (std::getline(lines, line)) {
    std::string name = line.substr(line.rfind(' ') + 1);
    if (size_t at = name.find('@'); at != std::string::npos) name = name.substr(0, at);
    if (name.empty()) continue;
    names.insert(name);
    const bool allowed = name == "OnLoad" || name == "OnUnload" ||
                         name == "HSA_AMD_TOOL_PRIORITY" || name.rfind("hsapreempt_", 0) == 0;
    EXPECT_TRUE(allowed) << "libhsapreempt.so exports " << name;
  }
  EXPECT_TRUE(names.count("OnLoad"));
  EXPECT_TRUE(names.count("OnUnload"));
  EXPECT_TRUE(names.count("hsapreempt_queue_set_priority"));
}

// The checker itself: the same program passes without the tool.
TEST_F(HsaLayerTest, StressPassesWithoutTool) {
  RunResult r = Run({"stress", "--threads", "4", "--packets", "2000", "--queues", "4",
                     "--queue-size", "64", "--dep-every", "20"},
                    /*with_tool=*/false);
  EXPECT_TRUE(Passed(r)) << Why(r);
}

TEST_F(HsaLayerTest, EightThreadsFiftyThousandPacketsFourQueues) {
  RunResult r = Run({"stress", "--threads", "8", "--packets", "50000", "--queues", "4",
                     "--queue-size", "64", "--dep-every", "50"});
  ASSERT_TRUE(Passed(r)) << Why(r);
  EXPECT_GE(Field(r.out, "deps_checked"), 8 * 50000 / 50 - 8);
  EXPECT_EQ(r.err, "") << "the tool must be silent by default";
}

TEST_F(HsaLayerTest, SmallRingsWrapThousandsOfTimes) {
  // 64 slots is the smallest ring ROCr 5.2.3 accepts (GpuAgent minAqlSize_).
  RunResult r = Run({"stress", "--threads", "8", "--packets", "10000", "--queues", "4",
                     "--queue-size", "64", "--dep-every", "25"});
  ASSERT_TRUE(Passed(r)) << Why(r);
  EXPECT_GE(Field(r.out, "ring_wraps"), 1000);  // summed over the four rings
}

TEST_F(HsaLayerTest, StressWithLevelNoneForwardsEverything) {
  RunResult r = Run({"stress", "--threads", "4", "--packets", "3000", "--queues", "2",
                     "--queue-size", "64", "--dep-every", "10"},
                    true, {"HSAPREEMPT_LEVEL=none"});
  EXPECT_TRUE(Passed(r)) << Why(r);
}

TEST_F(HsaLayerTest, ConcurrentQueueCreateUseDestroy) {
  RunResult r = Run({"churn", "--threads", "4", "--rounds", "25"}, true, {}, 300);
  EXPECT_TRUE(Passed(r)) << Why(r);
  EXPECT_EQ(Field(r.out, "ran"), 100) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(HsaLayerTest, DestroyWithHeldPackets) {
  RunResult r = Run({"destroy-held", "--queue-size", "64", "--rounds", "5"}, true, {}, 120);
  EXPECT_TRUE(Passed(r)) << Why(r);
  EXPECT_EQ(r.err, "") << "the tool (and the program) must be silent by default";
}

TEST_F(HsaLayerTest, ForkChildExitsCleanlyParentContinues) {
  RunResult r = Run({"fork"}, true, {}, 120);
  EXPECT_TRUE(Passed(r)) << Why(r);
  EXPECT_EQ(r.err, "") << "the tool (and the program) must be silent by default";
}

TEST_F(HsaLayerTest, ForkExecLoadsToolAfresh) {
  RunResult r = Run({"fork", "--exec", "1"}, true, {}, 240);
  EXPECT_TRUE(Passed(r)) << Why(r);
  EXPECT_NE(r.out.find("PASS threads=2"), std::string::npos) << Why(r);
}

TEST_F(HsaLayerTest, ProgramWithNoGpuWorkIsUntouched) {
  RunResult r = Run({"nogpu"}, true, {"HSAPREEMPT_LOG_LEVEL=warn"}, 60);
  EXPECT_TRUE(Passed(r)) << Why(r);
  EXPECT_EQ(r.err, "");
}

TEST_F(HsaLayerTest, RuntimeThatCannotStartIsHarmless) {
  // The system thunk instead of the simulated one: no /dev/kfd, hsa_init fails before ROCr loads
  // tools. The program must see a clean error, not a crash or a hang.
  RunOptions opts;
  opts.env = {"LD_LIBRARY_PATH=/nonexistent", std::string("HSA_TOOLS_LIB=") + HSA_LAYER_TOOL,
              "HSAPREEMPT_BOARD=" + device_};
  opts.timeout_s = 60;
  RunResult r = RunProcess({HSA_LAYER_PROG, "nogpu"}, opts);
  EXPECT_TRUE(r.exited && r.term_signal == 0) << Why(r);
  EXPECT_TRUE(Passed(r)) << Why(r);
}

TEST_F(HsaLayerTest, PublicApiThroughDlsym) {
  RunResult r = Run({"api"}, true, {}, 120);
  ASSERT_TRUE(Passed(r)) << Why(r);
  EXPECT_NE(r.out.find("api=present"), std::string::npos) << r.out;
  EXPECT_EQ(Field(r.out, "version"), 100);
  EXPECT_EQ(Field(r.out, "prio"), 0);
  EXPECT_EQ(Field(r.out, "prio_bad"), -22);
  EXPECT_EQ(Field(r.out, "prio_unknown"), -2);
  EXPECT_EQ(Field(r.out, "weight"), 0);
  EXPECT_EQ(Field(r.out, "weight_bad"), -22);
  EXPECT_EQ(Field(r.out, "deadline"), 0);
  EXPECT_EQ(Field(r.out, "deadline_bad"), -22);
  EXPECT_EQ(Field(r.out, "cu_mask"), 0);
  EXPECT_EQ(Field(r.out, "set_priority"), 0);
  EXPECT_EQ(r.err, "") << "the tool (and the program) must be silent by default";
}

TEST_F(HsaLayerTest, QueueErrorCallbackSeesTheApplicationsQueue) {
  for (bool tool : {false, true}) {
    RunResult r = Run({"error-callback"}, tool, {}, 120);
    EXPECT_TRUE(Passed(r)) << (tool ? "with" : "without") << " tool: " << Why(r);
  }
}

TEST_F(HsaLayerTest, ShutDownAndInitAgainReloadsTheTool) {
  RunResult r = Run({"reinit"}, true, {}, 120);
  ASSERT_TRUE(Passed(r)) << Why(r);
  EXPECT_NE(r.out.find("life0 prio=0 ran=50"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("life1 prio=0 ran=50"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "") << "the tool (and the program) must be silent by default";
}

TEST_F(HsaLayerTest, ExitOrShutDownWithHeldWorkEndsPromptly) {
  for (const char* how : {"exit", "shutdown"}) {
    RunResult r = Run({"leave-held", "--how", how}, true, {}, 60);
    EXPECT_TRUE(Passed(r)) << how << ": " << Why(r);
    // 8 queues x 64 ms of held work: the tool's exit drain is bounded at 1 s in total.
    EXPECT_LT(r.wall_s, 10) << how;
  }
}

TEST_F(HsaLayerTest, PublicApiAbsentWithoutTool) {
  RunResult r = Run({"api"}, false, {}, 120);
  ASSERT_TRUE(Passed(r)) << Why(r);
  EXPECT_NE(r.out.find("api=absent"), std::string::npos) << r.out;
}

TEST_F(HsaLayerTest, DisabledToolPassesThrough) {
  RunResult r = Run({"api"}, true, {"HSAPREEMPT_ENABLE=0"}, 120);
  ASSERT_TRUE(Passed(r)) << Why(r);
  EXPECT_EQ(Field(r.out, "prio"), -19);  // -ENODEV
}

TEST_F(HsaLayerTest, BadConfigValueWarnsOnceAndRuns) {
  RunResult r = Run({"api"}, true, {"HSAPREEMPT_THRESHOLD=0"}, 120);
  ASSERT_TRUE(Passed(r)) << Why(r);
  size_t first = r.err.find("HSAPREEMPT_THRESHOLD");
  EXPECT_NE(first, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("HSAPREEMPT_THRESHOLD", first + 1), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hsapreempt::testsupport
