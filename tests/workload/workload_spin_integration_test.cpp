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

TEST_F(WorkloadSpinTest, ReplayRunsEveryKernelOfEachForwardPass) {
  // resnet18 batch 1: 119 kernels, 455 us of kernel time per pass on the traced GPU; at scale 2
  // the modelled pass is ~910 us and no request can finish faster than that.
  json::Value v = Run({"replay", "--model", "resnet18", "--batch", "1", "--scale", "2",
                       "--count", "4", "--warmup", "0", "--samples"});
  ASSERT_TRUE(v.Get("ok").AsBool()) << v.Get("error").AsString();
  EXPECT_EQ(v.Get("config").Get("kernels_per_unit").AsNumber(), 119);
  // Each pass was handed over (last doorbell) after its first packet and before it was seen done.
  const json::Value& samples = v.Get("samples");
  ASSERT_EQ(samples.Get("published_ns").items().size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const double submit = samples.Get("submit_ns").items()[i].AsNumber();
    const double published = samples.Get("published_ns").items()[i].AsNumber();
    const double done = samples.Get("done_ns").items()[i].AsNumber();
    EXPECT_LE(submit, published) << "pass " << i;
    EXPECT_LE(published, done) << "pass " << i;
  }
  EXPECT_EQ(v.Get("packets").AsNumber(), 4 * 119);
  EXPECT_EQ(v.Get("units").AsNumber(), 4);
  EXPECT_EQ(v.Get("config").Get("scale").AsNumber(), 2);
  const double modelled = v.Get("config").Get("unit_modelled_ns").AsNumber();
  EXPECT_NEAR(modelled, 2 * 455.1e3, 2e3);
  EXPECT_GE(v.Get("latency_ns").Get("min").AsNumber(), modelled);
  EXPECT_EQ(v.Get("clock_check").Get("violations").AsNumber(), 0);
}

TEST_F(WorkloadSpinTest, FillRoundsMultipliesTheDeviceCuCount) {
  json::Value v = Run({"replay", "--model", "resnet18", "--batch", "1", "--scale", "1",
                       "--count", "2", "--warmup", "0", "--fill-rounds", "3"});
  ASSERT_TRUE(v.Get("ok").AsBool()) << v.Get("error").AsString();
  EXPECT_EQ(v.Get("config").Get("fill_workgroups").AsNumber(),
            3 * v.Get("device").Get("compute_units").AsNumber());
  RunOptions opts;
  opts.env = SimEnvironment(device_);
  opts.timeout_s = 60;
  RunResult r = RunProcess({WorkloadPath(), "replay", "--fill-rounds", "2", "--fill-workgroups",
                            "8"}, opts);
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("exclude each other"), std::string::npos) << r.err;
}

TEST_F(WorkloadSpinTest, ProbeMeasuresFromSubmission) {
  json::Value v = Run({"probe", "--rate", "500", "--count", "30", "--duration-us", "50"});
  ASSERT_TRUE(v.Get("ok").AsBool()) << v.Get("error").AsString();
  EXPECT_EQ(v.Get("units").AsNumber(), 29);  // one warm-up probe left out
  EXPECT_EQ(v.Get("config").Get("arrival").AsString(), "poisson");
  EXPECT_EQ(v.Get("config").Get("workgroups").AsNumber(), 1);
  // start latency >= 0 (never before submission) and submit->end covers the 50 us kernel.
  EXPECT_GE(v.Get("start_latency_ns").Get("min").AsNumber(), 0);
  EXPECT_GE(v.Get("submit_to_end_ns").Get("min").AsNumber(), 0.99 * 50e3);
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
