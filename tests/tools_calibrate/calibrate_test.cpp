// `hsapreempt calibrate --quick --json` on the simulated device: every cell of the users' MI308X
// table is present exactly once with the measured figure, the simulated one and the residual
// (residual = simulated - measured, consistent with both), the scales are named, and the output
// names the preset and the simulated device. Bad flags are refused with exit status 2.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tools/support/json.h"

namespace hsapreempt {
namespace {

namespace json = tools::json;

testsupport::RunResult RunCli(const std::vector<std::string>& args, double timeout_s) {
  testsupport::RunOptions opts;
  opts.env = {"HSAPREEMPT_DEVICE=sim", "HSA_TOOLS_LIB=", "HSAPREEMPT_LOG_LEVEL=warn"};
  opts.timeout_s = timeout_s;
  std::vector<std::string> argv = {HSAPREEMPT_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return testsupport::RunProcess(argv, opts);
}

// (case, model, metric) of every cell of the users' table.
const std::set<std::string>& ExpectedCells() {
  static const std::set<std::string> cells = {
      "small alone|resnet18 b1|p99",
      "10 req/s beside batch 8|resnet18 b1|p50",
      "10 req/s beside batch 8|resnet18 b1|mean",
      "10 req/s beside batch 8|resnet18 b1|p99",
      "10 req/s beside batch 8|resnet50 b8|iterations/s",
      "10 req/s beside batch 8|resnet50 b8|images/s",
      "20 req/s beside batch 1024|resnet18 b1|mean",
      "20 req/s beside batch 1024|resnet18 b1|p50",
      "20 req/s beside batch 1024|resnet18 b1|p95",
      "20 req/s beside batch 1024|resnet18 b1|p99",
      "20 req/s beside batch 1024|resnet18 b1|max",
      "20 req/s beside batch 1024|resnet50 b1024|iterations/s",
      "20 req/s beside batch 1024|resnet50 b1024|images/s",
  };
  return cells;
}

TEST(CalibrateTest, QuickJsonHasEveryCellWithResiduals) {
  // One retry: a replay child occasionally reports a failed run (seen once in 3 fresh CI runs, not
  // reproduced in 3 direct runs; suspected: the workload's clock check with kernels overlapping
  // without the barrier bit, reported in docs/calibration.md). The first failure is printed so it
  // stays visible; two in a row fail the test.
  testsupport::RunResult r;
  json::Value v;
  for (int attempt = 0; attempt < 2; ++attempt) {
    r = RunCli({"calibrate", "--quick", "--json"}, 380);
    ASSERT_FALSE(r.timed_out) << "calibrate overran its time-out";
    std::string error;
    ASSERT_TRUE(json::Parse(r.out, &v, &error)) << error << "\nstdout: " << r.out.substr(0, 2000)
                                                 << "\nstderr: " << r.err.substr(0, 2000);
    if (v.Get("ok").AsBool()) break;
    std::cerr << "calibrate attempt " << attempt + 1 << " failed; stdout: "
              << r.out.substr(0, 3000) << "\n";
  }
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.Get("tool").AsString(), "calibrate");
  EXPECT_EQ(v.Get("preset").AsString(), "mi308x");
  EXPECT_NE(v.Get("sim").AsString().find("preset=mi308x"), std::string::npos) << v.Get("sim").AsString();
  EXPECT_NE(v.Get("sim").AsString().find("cus=80"), std::string::npos);
  EXPECT_TRUE(v.Get("ok").AsBool()) << "stderr: " << r.err.substr(0, 3000);

  const json::Value& cal = v.Get("calibration");
  EXPECT_FALSE(cal.Get("name").AsString().empty());
  EXPECT_EQ(cal.Get("scales").items().size(), 3u);
  for (const auto& s : cal.Get("scales").items()) {
    EXPECT_GT(s.Get("scale").AsNumber(), 0) << s.Get("model").AsString();
    EXPECT_FALSE(s.Get("from").AsString().empty());
  }

  std::set<std::string> seen;
  for (const auto& c : v.Get("cells").items()) {
    const std::string key = c.Get("case").AsString() + "|" + c.Get("model").AsString() + "|" +
                            c.Get("metric").AsString();
    EXPECT_TRUE(ExpectedCells().count(key)) << "unexpected cell " << key;
    EXPECT_TRUE(seen.insert(key).second) << "duplicate cell " << key;
    ASSERT_TRUE(c.Get("measured").is_number()) << key;
    EXPECT_GT(c.Get("measured").AsNumber(), 0) << key;
    EXPECT_LE(c.Get("measured_lo").AsNumber(), c.Get("measured").AsNumber()) << key;
    EXPECT_GE(c.Get("measured_hi").AsNumber(), c.Get("measured").AsNumber()) << key;
    const std::string role = c.Get("role").AsString();
    EXPECT_TRUE(role == "fit-input" || role == "fitted" || role == "predicted") << key << role;
    // Every run of --quick must succeed, so every cell has a simulated figure and residuals.
    ASSERT_TRUE(c.Get("simulated").is_number()) << key << " has no simulated figure";
    ASSERT_TRUE(c.Get("residual").is_number()) << key;
    ASSERT_TRUE(c.Get("residual_rel").is_number()) << key;
    const double sim = c.Get("simulated").AsNumber(), meas = c.Get("measured").AsNumber();
    EXPECT_GT(sim, 0) << key;
    // The JSON writer keeps about 9 significant digits.
    const double rel = (sim - meas) / meas;
    EXPECT_NEAR(c.Get("residual").AsNumber(), sim - meas, 1e-6 * std::max(1.0, std::fabs(sim)))
        << key;
    EXPECT_NEAR(c.Get("residual_rel").AsNumber(), rel, 1e-6 * std::max(1.0, std::fabs(rel))) << key;
  }
  EXPECT_EQ(seen, ExpectedCells());
  // The predicted case is predicted, never fitted.
  for (const auto& c : v.Get("cells").items()) {
    if (c.Get("case").AsString().rfind("20 req/s", 0) == 0 &&
        c.Get("model").AsString() == "resnet18 b1") {
      EXPECT_EQ(c.Get("role").AsString(), "predicted");
    }
  }
  EXPECT_TRUE(v.Get("targets").Get("large_rates_within_10pct").type() == json::Value::Type::kBool);
  EXPECT_TRUE(v.Get("targets").Get("small_p99_predicted_within_30pct").type() ==
              json::Value::Type::kBool);
}

TEST(CalibrateTest, RejectsBadFlags) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"calibrate", "--preset", "h100"},
        std::vector<std::string>{"calibrate", "--rounds", "1.5"},
        std::vector<std::string>{"calibrate", "--seconds", "-1"},
        std::vector<std::string>{"calibrate", "--bogus"}}) {
    testsupport::RunResult r = RunCli(args, 30);
    ASSERT_TRUE(r.exited) << args[1];
    EXPECT_EQ(r.exit_code, 2) << args[1] << " " << args.back() << ": " << r.err;
    EXPECT_NE(r.err.find("hsapreempt calibrate:"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace hsapreempt
