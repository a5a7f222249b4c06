// Runs hip_prog (a real HIP 5.2.3 program over real ROCr and the simulated device) without the
// tool, and under libhsapreempt.so at Level-1 and Level-2, each test on its own device and board.
// The program checks its own results (bytes, order, exactly-once, timing); this driver checks the
// verdict, that nothing hung (the timeout kills and fails), and that the tool really took HIP's
// queues (its debug log names every queue it virtualized).
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.h"
#include "tools/support/json.h"

namespace hsapreempt::testsupport {
namespace {

enum class Config { kNoTool, kLevel1, kLevel2 };

std::string ConfigName(Config c) {
  return c == Config::kNoTool ? "NoTool" : c == Config::kLevel1 ? "Level1" : "Level2";
}

class HipTest : public ::testing::TestWithParam<Config> {
 protected:
  void SetUp() override {
    if (SimLibDir().empty()) GTEST_SKIP() << "simulated device not built (no simdev/lib)";
    device_ = UniqueDeviceName("hip");
  }
  void TearDown() override {
    if (device_.empty()) return;
    RemoveSimDevice(device_);
    RemoveBoard(device_);
  }
  RunResult Run(const std::vector<std::string>& args, double timeout_s = 240) const {
    RunOptions opts;
    opts.env = SimEnvironment(device_);
    opts.env.push_back("HSAPREEMPT_BOARD=" + device_);
    if (GetParam() != Config::kNoTool) {
      opts.env.push_back(std::string("HSA_TOOLS_LIB=") + HIP_TOOL);
      opts.env.push_back(GetParam() == Config::kLevel1 ? "HSAPREEMPT_LEVEL=1"
                                                       : "HSAPREEMPT_LEVEL=2");
      opts.env.push_back("HSAPREEMPT_LOG_LEVEL=debug");
    }
    opts.timeout_s = timeout_s;
    std::vector<std::string> argv = {HIP_PROG};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, opts);
  }
  // PASS line, no FAIL line, exit 0, and under the tool: HIP's queues went through it.
  void ExpectPass(const RunResult& r, const std::string& mode) const {
    EXPECT_TRUE(r.ok()) << Why(r);
    EXPECT_NE(r.out.find("PASS " + mode), std::string::npos) << Why(r);
    EXPECT_EQ(r.out.find("FAIL"), std::string::npos) << Why(r);
    if (GetParam() != Config::kNoTool) {
      EXPECT_NE(r.err.find("queue created"), std::string::npos)
          << "the tool did not virtualize any HIP queue\n" << Why(r);
    }
    // Level-2 on the simulated device: HIP's queues get a hardware lever, not the fallback.
    if (GetParam() == Config::kLevel2) {
      EXPECT_EQ(r.err.find("lever none"), std::string::npos) << Why(r);
    }
  }
  static std::string Why(const RunResult& r) {
    return r.Describe() + "\nstdout: " + r.out + "\nstderr (tail): " +
           (r.err.size() > 4000 ? r.err.substr(r.err.size() - 4000) : r.err);
  }
  std::string device_;
};

TEST_P(HipTest, MemcpyMemsetAcrossEventOrderedStreams) {
  ExpectPass(Run({"memcpy"}), "memcpy");
}

TEST_P(HipTest, FourThreadsFourStreamsKeepOrderExactlyOnce) {
  ExpectPass(Run({"streams", "25"}), "streams");
}

TEST_P(HipTest, DefaultStreamMixedWithOtherStreams) {
  ExpectPass(Run({"mixed"}), "mixed");
}

TEST_P(HipTest, EventElapsedTimeMatchesModelledDuration) {
  ExpectPass(Run({"timing", "20"}), "timing");
}

TEST_P(HipTest, ForkChildWithoutGpu) {
  ExpectPass(Run({"fork"}), "fork");
}

TEST_P(HipTest, ForkChildExecsHipProgram) {
  RunResult r = Run({"fork-exec"});
  ExpectPass(r, "fork-exec");
  EXPECT_NE(r.out.find("PASS memcpy"), std::string::npos) << Why(r);
}

TEST_P(HipTest, DestroyStreamWithWorkPending) {
  ExpectPass(Run({"destroy-pending"}), "destroy-pending");
}

TEST_P(HipTest, ExitWithoutSynchronizing) {
  ExpectPass(Run({"exit-nosync"}, 120), "exit-nosync");
}

TEST_P(HipTest, LaunchIntoFullQueue) {
  ExpectPass(Run({"fullqueue", "5000"}, 300), "fullqueue");
}

// A misbehaving program and a well-behaved one at the same time on one device and board: the
// second is not stuck behind the first (each has its own timeout; a hang fails the test).
TEST_P(HipTest, SecondProgramNotStuckBehindMisbehavingOne) {
  for (const char* bad : {"exit-nosync", "destroy-pending", "fullqueue"}) {
    RunResult rb, rg;
    std::thread t([&] { rb = Run({bad, "3000"}, 300); });
    rg = Run({"memcpy"}, 240);
    t.join();
    ExpectPass(rg, "memcpy");
    ExpectPass(rb, bad);
  }
}

// hsapreempt-hip-replay prints one JSON object in the workload's replay shape, with the
// simulated device's description, and every request of a short closed-loop run is counted.
TEST_P(HipTest, ReplayPrintsWorkloadShapedJson) {
  const std::string replay = BuildDir() + "/tools/hsapreempt-hip-replay";
  if (access(replay.c_str(), X_OK) != 0) GTEST_SKIP() << "no " << replay;
  RunOptions opts;
  opts.env = SimEnvironment(device_);
  opts.env.push_back("HSAPREEMPT_BOARD=" + device_);
  if (GetParam() != Config::kNoTool) {
    opts.env.push_back(std::string("HSA_TOOLS_LIB=") + HIP_TOOL);
    opts.env.push_back(GetParam() == Config::kLevel1 ? "HSAPREEMPT_LEVEL=1" : "HSAPREEMPT_LEVEL=2");
  }
  opts.timeout_s = 240;
  RunResult r = RunProcess({replay, "--model", "resnet18", "--batch", "1", "--count", "4",
                            "--warmup", "1"}, opts);
  ASSERT_TRUE(r.ok()) << Why(r);
  tools::json::Value v;
  std::string err;
  ASSERT_TRUE(tools::json::Parse(r.out, &v, &err)) << err << "\n" << r.out;
  EXPECT_TRUE(v.Get("ok").AsBool());
  EXPECT_EQ(v.Get("mode").AsString(), "replay");
  EXPECT_EQ(v.Get("units").AsNumber(), 4);
  EXPECT_EQ(v.Get("packets").AsNumber(), 4 * v.Get("config").Get("kernels_per_unit").AsNumber());
  EXPECT_EQ(v.Get("latency_ns").Get("count").AsNumber(), 4);
  // A pass cannot end before its modelled duration.
  EXPECT_GE(v.Get("latency_ns").Get("min").AsNumber(),
            v.Get("config").Get("unit_modelled_ns").AsNumber());
  EXPECT_NE(v.Get("device").Get("sim").AsString().find("device=" + device_), std::string::npos)
      << r.out;
}

INSTANTIATE_TEST_SUITE_P(Configs, HipTest,
                         ::testing::Values(Config::kNoTool, Config::kLevel1, Config::kLevel2),
                         [](const ::testing::TestParamInfo<Config>& i) {
                           return ConfigName(i.param);
                         });

}  // namespace
}  // namespace hsapreempt::testsupport
