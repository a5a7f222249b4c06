// Runs the real hsapreempt-workload (real ROCr over the simulated thunk, a private device) and
// checks what it reports: every dispatch ran, durations match the model, clocks agree.
#include <gtest/gtest.h>

#include "tests/support/process.h"
#include "tools/support/json.h"

namespace hsapreempt::testsupport {
namespace {

namespace json = hsapreempt::tools::json;

class WorkloadSpinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (SimLibDir().empty()) GTEST_SKIP() << "simulated device not built (no simdev/lib)";
    device_ = UniqueDeviceName("wl-spin");
  }
  void TearDown() override {
    if (!device_.empty()) RemoveSimDevice(device_);
  }
  json::Value Run(const std::vector<std::string>& args) {
    RunOptions opts;
    opts.env = SimEnvironment(device_);
    opts.timeout_s = 60;
    std::vector<std::string> argv = {WorkloadPath()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = RunProcess(argv, opts);
    EXPECT_TRUE(r.ok()) << r.Describe() << "\nstderr: " << r.err << "\nstdout: " << r.out;
    json::Value v;
    std::string error;
    EXPECT_TRUE(json::Parse(r.out, &v, &error)) << error << "\n" << r.out;
    return v;
  }
  std::string device_;
};

TEST_F(WorkloadSpinTest, EveryDispatchRunsForItsModelledTime) {
  json::Value v = Run({"spin", "--duration-us", "2000", "--count", "20", "--queues", "2",
                       "--inflight", "1", "--warmup", "0", "--trace"});
  ASSERT_TRUE(v.Get("ok").AsBool()) << v.Get("error").AsString();
  EXPECT_EQ(v.Get("units").AsNumber(), 40);
  EXPECT_EQ(v.Get("packets").AsNumber(), 40);
  EXPECT_TRUE(v.Get("device").Get("simulated").AsBool());
  EXPECT_FALSE(v.Get("device").Get("sim").AsString().empty());
  // One round of workgroups: each kernel takes 2 ms, two queues share the device. A kernel of one
  // queue can wait for the other's, but its own run (start..end) is 2 ms exactly in the model; we
  // allow 5% for timestamp conversion.
  const json::Value& k = v.Get("kernel_ns");
  EXPECT_NEAR(k.Get("p50").AsNumber(), 2e6, 0.05 * 2e6);
  EXPECT_GE(k.Get("min").AsNumber(), 0.95 * 2e6);
  EXPECT_LE(k.Get("max").AsNumber(), 2 * 1.05 * 2e6);
  // The device never started before submission nor ended after the host saw it done.
  EXPECT_EQ(v.Get("clock_check").Get("violations").AsNumber(), 0);
  // The device trace saw our dispatches on two queues.
  const json::Value& trace = v.Get("device_trace");
  if (trace.Get("available").AsBool()) {
    double dispatches = 0;
    for (const auto& q : trace.Get("queues").items()) dispatches += q.Get("dispatches").AsNumber();
    EXPECT_GE(dispatches, 40);
    EXPECT_GE(trace.Get("device_busy_ns").AsNumber(), 0.95 * 20 * 2e6);
  }
}

TEST_F(WorkloadSpinTest, ReportsErrorsAsJson) {
  RunOptions opts;
  opts.env = SimEnvironment(device_);
  opts.env.push_back("HSAPREEMPT_KERNELS_DIR=/nonexistent");
  opts.timeout_s = 60;
  // The build-tree fallback would still find the kernel; a bad flag is a cleaner failure.
  RunResult r = RunProcess({WorkloadPath(), "spin", "--queues", "0"}, opts);
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--queues"), std::string::npos);
}

}  // namespace
}  // namespace hsapreempt::testsupport
