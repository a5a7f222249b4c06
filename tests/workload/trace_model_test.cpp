#include "tools/workload/trace_model.h"

#include <gtest/gtest.h>

#include "tools/workload/options.h"

namespace hsapreempt::workload {
namespace {

constexpr char kTwoModels[] = R"([
  {"model": "small", "batch": 1, "device": "X", "iter_ms": {"p50": 1.5},
   "kernels": [{"name": "a", "us": 10.0, "start_us": 0}, {"name": "b", "us": 2.5, "start_us": 12}]},
  {"model": "big", "batch": 8, "device": "X", "kernels": [{"name": "c", "us": 1000}]},
  {"model": "big", "batch": 64, "device": "X", "kernels": [{"name": "d", "us": 0}]}
])";

TEST(TraceModelTest, ParsesEntries) {
  std::vector<ModelTrace> traces;
  std::string error;
  ASSERT_TRUE(ParseTraces(kTwoModels, &traces, &error)) << error;
  ASSERT_EQ(traces.size(), 3u);
  EXPECT_EQ(traces[0].model, "small");
  EXPECT_EQ(traces[0].kernels.size(), 2u);
  EXPECT_DOUBLE_EQ(traces[0].SumUs(), 12.5);
  EXPECT_DOUBLE_EQ(traces[0].iter_p50_ms, 1.5);
  EXPECT_EQ(FindTrace(traces, "big", 64)->kernels[0].name, "d");
  EXPECT_EQ(FindTrace(traces, "big", 0)->batch, 8);
  EXPECT_EQ(FindTrace(traces, "none", 0), nullptr);
}

TEST(TraceModelTest, RejectsBadShapes) {
  std::vector<ModelTrace> traces;
  std::string error;
  EXPECT_FALSE(ParseTraces("{}", &traces, &error));
  EXPECT_FALSE(ParseTraces(R"([{"model": "m"}])", &traces, &error));
  EXPECT_FALSE(ParseTraces(R"([{"model": "m", "kernels": [{"us": "x"}]}])", &traces, &error));
  EXPECT_NE(error.find("kernels[0]"), std::string::npos) << error;
}

TEST(TraceModelTest, PlanFillsDeviceOnceAndScales) {
  std::vector<ModelTrace> traces;
  std::string error;
  ASSERT_TRUE(ParseTraces(kTwoModels, &traces, &error));
  auto plan = PlanReplay(traces[0], 3.0, 304, 304);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].workgroups, 304u);
  EXPECT_EQ(plan[0].workgroup_ns, 30000u);  // 10 us * 3, one round
  EXPECT_EQ(plan[1].workgroup_ns, 7500u);
  EXPECT_EQ(plan[1].modelled_ns, 7500u);
  // Two rounds: each workgroup takes half the kernel's time.
  auto two = PlanReplay(traces[0], 1.0, 600, 304);
  EXPECT_EQ(two[0].workgroup_ns, 5000u);
  EXPECT_EQ(two[0].modelled_ns, 10000u);
  // A zero-length kernel still costs 1 ns; bad scale means 1.
  EXPECT_EQ(PlanReplay(traces[2], 1.0, 4, 4)[0].workgroup_ns, 1u);
  EXPECT_EQ(PlanReplay(traces[1], -2.0, 1, 1)[0].workgroup_ns, 1000000u);
}

TEST(TraceModelTest, RepositoryTraceFileLoads) {
  std::vector<ModelTrace> traces;
  std::string error;
  ASSERT_TRUE(LoadTraces(HSAPREEMPT_TRACES_FILE, &traces, &error)) << error;
  const ModelTrace* r18 = FindTrace(traces, "resnet18", 1);
  ASSERT_NE(r18, nullptr);
  EXPECT_EQ(r18->kernels.size(), 119u);           // README: 119 kernels, 455 us
  EXPECT_NEAR(r18->SumUs(), 455.1, 1.0);
  const ModelTrace* big = FindTrace(traces, "resnet50", 1024);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->kernels.size(), 293u);
}

TEST(WorkloadOptionsTest, DefaultsPerMode) {
  Options o;
  bool help = false;
  std::string error;
  ASSERT_TRUE(ParseOptions({"probe"}, &o, &help, &error)) << error;
  EXPECT_EQ(o.duration_us, 10);
  EXPECT_EQ(o.arrival, Arrival::kPoisson);
  EXPECT_GT(o.rate, 0);
  Options r;
  ASSERT_TRUE(ParseOptions({"replay", "--model", "resnet50", "--batch", "8"}, &r, &help, &error));
  EXPECT_EQ(r.inflight, 1);  // flat-out replay is closed loop
  Options s;
  ASSERT_TRUE(ParseOptions({"spin", "--duration-us", "100", "--queues", "2", "--rate", "50",
                            "--priority", "high"}, &s, &help, &error));
  EXPECT_EQ(s.queues, 2u);
  EXPECT_EQ(s.count, 100);
  EXPECT_EQ(s.priority, "high");
}

TEST(WorkloadOptionsTest, RejectsBadInput) {
  bool help = false;
  std::string error;
  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{
           {}, {"walk"}, {"spin", "--queues", "0"}, {"spin", "--rate", "-1"},
           {"spin", "--priority", "urgent"}, {"spin", "--queue-size", "1000"},
           {"spin", "--count"}, {"spin", "--bogus", "1"}, {"spin", "--duration-us", "1e400"}}) {
    Options o;
    EXPECT_FALSE(ParseOptions(bad, &o, &help, &error)) << (bad.empty() ? "" : bad.back());
    EXPECT_FALSE(error.empty());
  }
}

TEST(WorkloadOptionsTest, WorkgroupNsForRounds) {
  EXPECT_EQ(WorkgroupNsFor(1000, 304, 304), 1000u);
  EXPECT_EQ(WorkgroupNsFor(1000, 305, 304), 500u);
  EXPECT_EQ(WorkgroupNsFor(1001, 608, 304), 501u);  // rounded up: never shorter than asked
  EXPECT_EQ(WorkgroupNsFor(1000, 0, 0), 1000u);
}

}  // namespace
}  // namespace hsapreempt::workload
