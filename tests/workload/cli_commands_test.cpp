// `hsapreempt demo` and `hsapreempt bench sim` end to end: the CLI runs hsapreempt-workload
// children on the simulated device; we check the structure and the figures that do not depend on
// machine load (device-side durations are exact in the model). Host-side performance figures are
// printed by the benchmark, never asserted here.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/process.h"
#include "tools/support/json.h"

namespace hsapreempt::testsupport {
namespace {

namespace json = hsapreempt::tools::json;

class CliCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (SimLibDir().empty()) GTEST_SKIP() << "simulated device not built (no simdev/lib)";
    device_ = UniqueDeviceName("cli");
  }
  void TearDown() override {
    if (!device_.empty()) RemoveSimDevice(device_);
  }
  json::Value RunCli(const std::vector<std::string>& args, RunResult* result) {
    RunOptions opts;
    opts.env = {"HSAPREEMPT_DEVICE=sim", "HSAPREEMPT_SIM_DEVICE=" + device_};
    opts.timeout_s = 240;
    std::vector<std::string> argv = {BuildDir() + "/tools/hsapreempt"};
    argv.insert(argv.end(), args.begin(), args.end());
    *result = RunProcess(argv, opts);
    json::Value v;
    std::string error;
    EXPECT_TRUE(json::Parse(result->out, &v, &error)) << error << "\n" << result->out << result->err;
    return v;
  }
  std::string device_;
};

TEST_F(CliCommandsTest, DemoRunsTwoQueuesAndReadsTheDeviceTrace) {
  RunResult r;
  json::Value v = RunCli({"demo", "--json"}, &r);
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  EXPECT_EQ(v.Get("units").AsNumber(), 100);
  EXPECT_TRUE(v.Get("device").Get("simulated").AsBool());
  const json::Value& t = v.Get("device_trace");
  ASSERT_TRUE(t.Get("available").AsBool());
  int queues_with_50 = 0;
  for (const auto& q : t.Get("queues").items()) {
    if (q.Get("dispatches").AsNumber() == 50) ++queues_with_50;
  }
  EXPECT_EQ(queues_with_50, 2);
  EXPECT_NEAR(t.Get("device_busy_ns").AsNumber(), 100 * 1e6, 0.05 * 100 * 1e6);
}

TEST_F(CliCommandsTest, BenchSimReportsEveryCaseWithTheDeviceDescription) {
  RunResult r;
  json::Value v = RunCli({"bench", "sim", "--quick", "--json"}, &r);
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_NE(v.Get("sim").AsString().find("preset="), std::string::npos);
  ASSERT_EQ(v.Get("throughput").items().size(), 3u);
  for (const auto& row : v.Get("throughput").items()) {
    EXPECT_TRUE(row.Get("ok").AsBool()) << row.Get("error").AsString();
    EXPECT_GT(row.Get("packets_per_s").AsNumber(), 0);
  }
  ASSERT_EQ(v.Get("duration").items().size(), 3u);
  for (const auto& row : v.Get("duration").items()) {
    ASSERT_TRUE(row.Get("ok").AsBool()) << row.Get("error").AsString();
    EXPECT_LE(std::abs(row.Get("device_error").AsNumber()), 0.05) << row.Get("target_us").AsNumber();
    EXPECT_GE(row.Get("host_p50_ns").AsNumber(), row.Get("device_p50_ns").AsNumber() * 0.99);
  }
}

TEST_F(CliCommandsTest, BadArgumentsAreUsageErrors) {
  RunOptions opts;
  opts.timeout_s = 30;
  RunResult r = RunProcess({BuildDir() + "/tools/hsapreempt", "bench", "sim", "--bogus"}, opts);
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  r = RunProcess({BuildDir() + "/tools/hsapreempt", "demo", "--bogus"}, opts);
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
}

}  // namespace
}  // namespace hsapreempt::testsupport
