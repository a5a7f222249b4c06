// Unit tests of tools/report: CSV quoting, table layout, strict list parsing, throughput over a
// window from per-unit timestamps, the Level-1 fall-back detection from the tool's log, and the
// placement of the simulated device's CP threads (--device-cpus), and which runs --max-steal
// measures again.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/cpu_list.h"
#include "tools/report/bench_args.h"
#include "tools/report/placement.h"
#include "tools/report/rounds.h"
#include "tools/report/table.h"
#include "tools/report/workload_child.h"
#include "tools/support/json.h"

// The report library uses the CLI's path helpers (tools/command.h, defined in tools/main.cpp);
// these tests never start a child, so stubs suffice.
namespace hsapreempt::tools {
std::string BinDir() { return "/nonexistent"; }
std::string ToolLibPath() { return "/nonexistent/libhsapreempt.so"; }
std::string SimLibDir() { return ""; }
bool UseSimulatedDevice() { return true; }
std::vector<std::string> DeviceEnvironment() { return {}; }
}  // namespace hsapreempt::tools

namespace hsapreempt::tools::report {
namespace {

WorkloadRun RunWithSamples(const std::vector<double>& release, const std::vector<double>& end) {
  json::Writer w;
  w.BeginObject().Field("ok", true).Key("samples").BeginObject();
  w.Key("release_ns").BeginArray();
  for (double r : release) w.Number(r);
  w.EndArray().Key("start_ns").BeginArray();
  for (double r : release) w.Number(r);
  w.EndArray().Key("end_ns").BeginArray();
  for (double e : end) w.Number(e);
  w.EndArray().EndObject().EndObject();
  WorkloadRun run;
  std::string error;
  EXPECT_TRUE(json::Parse(w.str(), &run.out, &error)) << error;
  run.ok = true;
  return run;
}

TEST(ReportTest, CsvQuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvCell("plain"), "plain");
  EXPECT_EQ(CsvCell("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvCell("say \"x\""), "\"say \"\"x\"\"\"");
  Table t({"a", "b"});
  t.AddRow({"1", "x,y"});
  t.AddRow({"2"});  // padded
  EXPECT_EQ(t.Csv(), "a,b\n1,\"x,y\"\n2,\n");
}

TEST(ReportTest, TablePrintAlignsColumns) {
  Table t({"level", "P99"});
  t.AddRow({"none", "12.5"});
  t.AddRow({"cumask", "1"});
  char buf[256] = {};
  FILE* f = fmemopen(buf, sizeof(buf), "w");
  ASSERT_NE(f, nullptr);
  t.Print(f, 0);
  std::fclose(f);
  EXPECT_STREQ(buf, "level    P99\nnone    12.5\ncumask     1\n");
}

TEST(ReportTest, ListsAreStrict) {
  std::vector<double> v;
  std::string bad;
  EXPECT_TRUE(ParseNumberList("0.1,1,20", 0.001, 100, &v, &bad));
  EXPECT_EQ(v, (std::vector<double>{0.1, 1, 20}));
  EXPECT_FALSE(ParseNumberList("1,,2", 0.001, 100, &v, &bad));
  EXPECT_EQ(bad, "");
  EXPECT_FALSE(ParseNumberList("1,2x", 0.001, 100, &v, &bad));
  EXPECT_EQ(bad, "2x");
  EXPECT_FALSE(ParseNumberList("1,200", 0.001, 100, &v, &bad));
  EXPECT_EQ(bad, "200");
  EXPECT_FALSE(ParseNumberList("nan", 0, 100, &v, &bad));
  std::vector<Level> levels;
  EXPECT_TRUE(ParseLevelList("none,2,cumask,2", &levels, &bad));
  EXPECT_EQ(levels, (std::vector<Level>{Level::kNoTool, Level::kLevel2, Level::kCuMask}));
  EXPECT_FALSE(ParseLevelList("1,3", &levels, &bad));
  EXPECT_EQ(bad, "3");
}

// FlagReader: common flags, values consumed, and every failure a usage error (exit code 2).
TEST(ReportTest, FlagReaderTakesCommonFlagsAndValuesAndFailsAsUsage) {
  const std::vector<std::string> args = {"--quick", "--csv", "f.csv", "--n", "7", "--list", "1,2"};
  int status = -1;
  FlagReader r("bench x", "usage\n", args, &status);
  CommonFlags common;
  double n = 0;
  std::vector<double> list;
  while (r.Next()) {
    FlagReader::Common c = r.TakeCommon(&common);
    ASSERT_NE(c, FlagReader::Common::kStop);
    if (c == FlagReader::Common::kTaken) continue;
    if (r.Is("--n")) {
      ASSERT_TRUE(r.TakeNumber(1, 10, &n, /*integer=*/true));
    } else if (r.Is("--list")) {
      ASSERT_TRUE(r.TakeList(1, 10, &list, "1..10", /*integers=*/true));
    }
  }
  EXPECT_TRUE(common.quick);
  EXPECT_EQ(common.csv, "f.csv");
  EXPECT_EQ(n, 7);
  EXPECT_EQ(list, (std::vector<double>{1, 2}));
  EXPECT_EQ(status, -1) << "nothing failed";

  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--n", "1.5"}, {"--n"}, {"--n", "11"}, {"--list", "1,2.5"}}) {
    status = -1;
    FlagReader b("bench x", "usage\n", bad, &status);
    ASSERT_TRUE(b.Next());
    const bool ok = b.Is("--n") ? b.TakeNumber(1, 10, &n, true) : b.TakeList(1, 10, &list, "", true);
    EXPECT_FALSE(ok) << bad[0];
    EXPECT_EQ(status, kExitUsage) << bad[0];
  }
  // Without files, --csv is not a common flag (the command reports it unknown).
  CommonFlags no_files;
  no_files.files = false;
  const std::vector<std::string> csv = {"--csv", "f"};
  FlagReader c("calibrate", "usage\n", csv, &status);
  ASSERT_TRUE(c.Next());
  EXPECT_EQ(c.TakeCommon(&no_files), FlagReader::Common::kNo);
}

TEST(ReportTest, ThroughputCountsFractionsOfUnitsInTheWindow) {
  // A closed loop: units back to back, 10 ms each, from t = 0 to 100 ms.
  std::vector<double> rel, end;
  for (int i = 0; i < 10; ++i) {
    rel.push_back(i * 10e6);
    end.push_back((i + 1) * 10e6);
  }
  WorkloadRun run = RunWithSamples(rel, end);
  WindowThroughput w = ThroughputInWindow(run, 25e6, 75e6);  // 5 units in 50 ms
  EXPECT_NEAR(w.units_per_s, 100.0, 1e-9);
  EXPECT_NEAR(w.covered_s, 0.05, 1e-12);
  // The window is cut to what the samples cover.
  w = ThroughputInWindow(run, -50e6, 200e6);
  EXPECT_NEAR(w.units_per_s, 100.0, 1e-9);
  EXPECT_NEAR(w.covered_s, 0.1, 1e-12);
  // A gap (the job stalled 40 ms) lowers the rate over a window containing it.
  rel[5] = 90e6;
  for (int i = 5; i < 10; ++i) end[i] += 40e6;
  run = RunWithSamples(rel, end);
  w = ThroughputInWindow(run, 0, 140e6);
  EXPECT_NEAR(w.units_per_s, 10 / 0.14, 1e-6);
  EXPECT_EQ(ThroughputInWindow(RunWithSamples({}, {}), 0, 1e9).units_per_s, 0);
}

TEST(ReportTest, CoverageRefusesAJobThatDidNotSpanTheWindow) {
  WorkloadRun run = RunWithSamples({10e6, 20e6}, {20e6, 30e6});
  std::string error;
  EXPECT_FALSE(CoverageError(run, 15e6, 25e6, "low", &error));
  EXPECT_TRUE(CoverageError(run, 5e6, 25e6, "low", &error));
  EXPECT_NE(error.find("low did not run through"), std::string::npos) << error;
  EXPECT_TRUE(CoverageError(run, 15e6, 35e6, "low", &error));
  EXPECT_TRUE(CoverageError(RunWithSamples({}, {}), 0, 1, "low", &error));
}

TEST(ReportTest, LevelFallbackFindsTheToolsLine) {
  WorkloadRun run;
  run.err = "hsapreempt[1]: info: loaded\nhsapreempt[1]: info: queues run on Level-1 only: KFD "
            "queue id unknown\nother\n";
  EXPECT_EQ(LevelFallback(run), "hsapreempt[1]: info: queues run on Level-1 only: KFD queue id unknown");
  run.err = "hsapreempt[2]: warn: xqueue: hardware lever failed (x): falling back to Level-1";
  EXPECT_EQ(LevelFallback(run), run.err);
  run.err = "hsapreempt[3]: info: loaded\n";
  EXPECT_EQ(LevelFallback(run), "");
}

TEST(ReportTest, ChildEnvLoadsTheToolOnlyWhenAsked) {
  Stage stage;
  stage.device = "dev1";
  stage.level = Level::kNoTool;
  std::vector<std::string> env = ChildEnv(stage, 90);
  auto has = [&](const std::string& kv) {
    for (const auto& e : env) {
      if (e == kv) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("HSA_TOOLS_LIB="));
  EXPECT_TRUE(has("HSAPREEMPT_SIM_DEVICE=dev1"));
  stage.level = Level::kLevel2;
  stage.threshold = 8;
  env = ChildEnv(stage, 90);
  EXPECT_TRUE(has("HSA_TOOLS_LIB=/nonexistent/libhsapreempt.so"));
  EXPECT_TRUE(has("HSAPREEMPT_LEVEL=2"));
  EXPECT_TRUE(has("HSAPREEMPT_BOARD=dev1"));
  EXPECT_TRUE(has("HSAPREEMPT_PRIORITY=90"));
  EXPECT_TRUE(has("HSAPREEMPT_THRESHOLD=8"));
  EXPECT_TRUE(has("HSAPREEMPT_BATCH=4"));
}

// --max-steal (RemeasureWhileStolen): which runs are measured again, which is kept, and that every
// other run is set aside rather than lost.
struct FakeRun {
  bool ok = true;
  double steal = 0;
  int id = 0;
};

struct Remeasure {
  FakeRun kept;
  std::vector<int> aside;  // ids, in the order set aside
  int measured = 0;        // runs taken after the first
};

Remeasure RemeasureFrom(FakeRun first, std::vector<FakeRun> next, double max_steal = 0.10) {
  Remeasure r;
  std::vector<FakeRun> aside;
  r.kept = RemeasureWhileStolen(
      first, max_steal, 3,
      [&] {
        EXPECT_LT(static_cast<size_t>(r.measured), next.size()) << "measured once too often";
        return next.at(std::min(next.size() - 1, static_cast<size_t>(r.measured++)));
      },
      [](const FakeRun& f) { return f.steal; }, &aside);
  for (const FakeRun& a : aside) r.aside.push_back(a.id);
  return r;
}

TEST(ReportTest, ARunWithTooMuchStealIsMeasuredAgainAndTheLeastStolenKept) {
  // Within the limit, unknown steal (bare metal), a failed run, or the limit off: taken once.
  for (const FakeRun& first : {FakeRun{true, 0.10, 1}, FakeRun{true, NAN, 1},
                               FakeRun{false, 0.5, 1}}) {
    const Remeasure r = RemeasureFrom(first, {{true, 0, 2}});
    EXPECT_EQ(r.measured, 0) << first.steal;
    EXPECT_EQ(r.kept.id, 1);
    EXPECT_TRUE(r.aside.empty());
  }
  EXPECT_EQ(RemeasureFrom({true, 0.9, 1}, {{true, 0, 2}}, /*max_steal=*/1).measured, 0);
  // Stolen, then quiet: the quiet one is kept and the stolen one set aside.
  Remeasure r = RemeasureFrom({true, 0.17, 1}, {{true, 0.02, 2}});
  EXPECT_EQ(r.measured, 1);
  EXPECT_EQ(r.kept.id, 2);
  EXPECT_EQ(r.aside, (std::vector<int>{1}));
  // Stolen every time: three runs in all, the least stolen kept.
  r = RemeasureFrom({true, 0.30, 1}, {{true, 0.15, 2}, {true, 0.20, 3}});
  EXPECT_EQ(r.measured, 2);
  EXPECT_EQ(r.kept.id, 2);
  EXPECT_EQ(r.aside, (std::vector<int>{1, 3}));
  // A failed run is never preferred to a stolen one that succeeded; a run of unknown steal is.
  r = RemeasureFrom({true, 0.20, 1}, {{false, 0.01, 2}, {true, 0.30, 3}});
  EXPECT_EQ(r.kept.id, 1);
  EXPECT_EQ(r.aside, (std::vector<int>{2, 3}));
  r = RemeasureFrom({true, 0.20, 1}, {{true, NAN, 2}});
  EXPECT_EQ(r.measured, 1);
  EXPECT_EQ(r.kept.id, 2);
}

cpu_set_t Cpus(const char* list) {
  cpu_set_t set;
  std::string error;
  EXPECT_TRUE(common::ParseCpuList(list, &set, &error)) << error;
  return set;
}

// "device|workloads", "none: <note>" or "error: <error>".
std::string Plan(const std::string& spec, const char* usable, bool simulated = true,
                 const std::string& env = "") {
  Placement p;
  std::string error;
  if (!PlanPlacement(spec, Cpus(usable), simulated, env, "", &p, &error)) return "error: " + error;
  if (!p.active) return "none: " + p.note;
  return p.device + "|" + p.workloads;
}

TEST(PlacementTest, AutoGivesTheDeviceTheLastCpuOrTwoAndTheRestToTheWorkloads) {
  EXPECT_EQ(Plan("auto", "0-1"), "1|0");
  EXPECT_EQ(Plan("auto", "0-2"), "2|0-1");
  EXPECT_EQ(Plan("auto", "0-3"), "2-3|0-1") << "one per workload process from 4 CPUs on";
  EXPECT_EQ(Plan("auto", "0-15"), "14-15|0-13");
  EXPECT_EQ(Plan("auto", "1,3,5"), "5|1,3") << "only the usable CPUs count";
  EXPECT_EQ(Plan("auto", "4"), "none: one usable CPU");
}

TEST(PlacementTest, NoneAndARealGpuPlaceNothing) {
  EXPECT_EQ(Plan("none", "0-3"), "none: --device-cpus none");
  EXPECT_EQ(Plan("auto", "0-3", /*simulated=*/false), "none: real GPU: its CP is hardware");
  EXPECT_EQ(Plan("1", "0-3", /*simulated=*/false),
            "none: real GPU: its CP is hardware; --device-cpus 1 ignored");
  EXPECT_EQ(Plan("none", "0-3", true, "3"), "none: --device-cpus none") << "none wins over the "
                                                                           "environment";
}

TEST(PlacementTest, AListOrTheEnvironmentNamesTheDevicesCpus) {
  EXPECT_EQ(Plan("0", "0-3"), "0|1-3");
  EXPECT_EQ(Plan("1-2", "0-3"), "1-2|0,3");
  EXPECT_EQ(Plan("auto", "0-3", true, "0"), "0|1-3") << "HSAPREEMPT_SIM_CP_CPUS as the list";
  EXPECT_EQ(Plan("3", "0-3", true, "0"), "3|0-2") << "the flag wins over the environment";
}

TEST(PlacementTest, RefusesUnusableCpusAndAListThatLeavesNothing) {
  EXPECT_EQ(Plan("5", "0-1"), "error: --device-cpus 5: CPU 5 is not usable here (usable: 0-1)");
  EXPECT_EQ(Plan("0-1", "0-1"),
            "error: --device-cpus 0-1 leaves no CPU for the workloads (usable: 0-1)");
  EXPECT_EQ(Plan("auto", "0-1", true, "x"),
            "error: HSAPREEMPT_SIM_CP_CPUS: bad CPU list element 'x' (expected N or N-M, below " +
                std::to_string(CPU_SETSIZE) + ")");
  std::string error;
  EXPECT_TRUE(ValidDeviceCpusSpec("auto", &error));
  EXPECT_TRUE(ValidDeviceCpusSpec("none", &error));
  EXPECT_TRUE(ValidDeviceCpusSpec("0,2-3", &error));
  EXPECT_FALSE(ValidDeviceCpusSpec("Auto", &error));
  EXPECT_FALSE(ValidDeviceCpusSpec("", &error));
}

TEST(PlacementTest, APlacedCpSpinsUnlessTheEnvironmentSaysZero) {
  Placement p;
  std::string error;
  for (const char* env : {"", "1"}) {
    ASSERT_TRUE(PlanPlacement("auto", Cpus("0-1"), true, "", env, &p, &error));
    EXPECT_TRUE(p.cp_spin) << "HSAPREEMPT_SIM_CP_SPIN='" << env << "'";
  }
  ASSERT_TRUE(PlanPlacement("auto", Cpus("0-1"), true, "", "0", &p, &error));
  EXPECT_FALSE(p.cp_spin);
  // Without a CPU of its own a spinning CP would take the workloads' CPU.
  ASSERT_TRUE(PlanPlacement("none", Cpus("0-1"), true, "", "1", &p, &error));
  EXPECT_FALSE(p.cp_spin);
  ASSERT_TRUE(PlanPlacement("auto", Cpus("0"), true, "", "1", &p, &error));
  EXPECT_FALSE(p.cp_spin);
}

TEST(PlacementTest, LineAndJsonSayWhereEverythingRuns) {
  Placement p;
  std::string error;
  ASSERT_TRUE(PlanPlacement("auto", Cpus("0-1"), true, "", "", &p, &error));
  EXPECT_EQ(PlacementLine(p).rfind("placement: simulated CP threads on CPU 1, polling without "
                                   "sleeping, workloads, tool and bench on CPU 0", 0), 0u)
      << PlacementLine(p);
  json::Writer w;
  WritePlacement(p, &w);
  EXPECT_EQ(w.str(), R"({"device_cpus":"1","workload_cpus":"0","cp_spin":true,"note":""})");
  ASSERT_TRUE(PlanPlacement("auto", Cpus("0-1"), true, "", "0", &p, &error));
  EXPECT_NE(PlacementLine(p).find("CPU 1, sleeping between polls,"), std::string::npos)
      << PlacementLine(p);
  ASSERT_TRUE(PlanPlacement("none", Cpus("0-1"), true, "", "", &p, &error));
  EXPECT_EQ(PlacementLine(p), "placement: none (--device-cpus none)");
  json::Writer none;
  WritePlacement(p, &none);
  EXPECT_EQ(none.str(),
            R"({"device_cpus":null,"workload_cpus":null,"cp_spin":false,"note":"--device-cpus none"})");
}

}  // namespace
}  // namespace hsapreempt::tools::report
