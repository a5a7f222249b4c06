// `hsapreempt bench preempt|two-model --quick --json` on the simulated device: the JSON is
// well-formed, names the simulated device, has every cell of the sweep, and no cell failed (a
// failed cell is marked ok=false with an error, which fails this test with that error).
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/cpu_list.h"
#include "tests/support/process.h"
#include "tools/support/json.h"

namespace hsapreempt {
namespace {

namespace json = tools::json;

// `err`, if given, receives the benchmark's stderr (its progress lines).
json::Value RunBench(const std::vector<std::string>& args, int* exit_code,
                     std::string* err = nullptr) {
  testsupport::RunOptions opts;
  opts.env = {"HSAPREEMPT_DEVICE=sim", "HSA_TOOLS_LIB=", "HSAPREEMPT_LOG_LEVEL=warn"};
  opts.timeout_s = 280;
  std::vector<std::string> argv = {HSAPREEMPT_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  testsupport::RunResult r = testsupport::RunProcess(argv, opts);
  EXPECT_FALSE(r.timed_out) << "the benchmark overran its time-out";
  *exit_code = r.exited ? r.exit_code : -1;
  if (err != nullptr) *err = r.err;
  json::Value v;
  std::string error;
  EXPECT_TRUE(json::Parse(r.out, &v, &error)) << error << "\nstdout: " << r.out.substr(0, 2000)
                                               << "\nstderr: " << r.err.substr(0, 2000);
  return v;
}

// A usage error: exit 2 and one line on stderr containing `message`, before any measurement.
void ExpectUsageError(const std::vector<std::string>& args, const std::string& message) {
  testsupport::RunOptions opts;
  opts.timeout_s = 30;
  std::vector<std::string> argv = {HSAPREEMPT_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  testsupport::RunResult r = testsupport::RunProcess(argv, opts);
  std::string what;
  for (const std::string& a : args) what += " " + a;
  EXPECT_TRUE(r.exited) << what;
  EXPECT_EQ(r.exit_code, 2) << what;
  EXPECT_NE(r.err.find(message), std::string::npos) << what << ": " << r.err;
}

// The host's noise floor, measured before the runs (tools/support/host_noise.h).
void ExpectHostCheck(const json::Value& v) {
  const json::Value& h = v.Get("host");
  ASSERT_TRUE(h.is_object()) << "no host check";
  EXPECT_GT(h.Get("period_ns").AsNumber(), 0);
  EXPECT_GE(h.Get("seconds").AsNumber(), 1.0);
  EXPECT_TRUE(h.Get("steal").is_number() || h.Get("steal").is_null());
}

// --device-cpus auto on the simulated device: with two usable CPUs or more the CP threads get CPUs
// of their own (tools/report/placement.h), else none and why.
void ExpectAutoPlacement(const json::Value& v) {
  const json::Value& p = v.Get("placement");
  ASSERT_TRUE(p.is_object()) << "no placement";
  cpu_set_t usable;
  ASSERT_EQ(sched_getaffinity(0, sizeof(usable), &usable), 0);
  if (CPU_COUNT(&usable) >= 2) {
    ASSERT_TRUE(p.Get("device_cpus").is_string());
    ASSERT_TRUE(p.Get("workload_cpus").is_string());
    EXPECT_NE(p.Get("device_cpus").AsString(), p.Get("workload_cpus").AsString());
    // Placed CP threads poll without sleeping unless the caller said HSAPREEMPT_SIM_CP_SPIN=0.
    const char* spin = std::getenv("HSAPREEMPT_SIM_CP_SPIN");
    EXPECT_EQ(p.Get("cp_spin").AsBool(), spin == nullptr || std::string(spin) != "0");
  } else {
    EXPECT_TRUE(p.Get("device_cpus").is_null());
    EXPECT_FALSE(p.Get("cp_spin").AsBool(true));
    EXPECT_FALSE(p.Get("note").AsString().empty());
  }
}

void ExpectSteal(const json::Value& c, const std::string& where) {
  const json::Value& s = c.Get("host_steal");
  ASSERT_TRUE(s.is_number() || s.is_null()) << where << ": host_steal";
  if (s.is_number()) {
    EXPECT_GE(s.AsNumber(), 0) << where;
    EXPECT_LE(s.AsNumber(), 1) << where;
  }
}

// A 95% interval [lo, hi] around `estimate` (tools/support/stats.h): an unbounded side is null.
void ExpectInterval(const json::Value& ci, double estimate, const std::string& where) {
  ASSERT_TRUE(ci.is_array() && ci.items().size() == 2u) << where << ": interval";
  const json::Value& lo = ci.items()[0];
  const json::Value& hi = ci.items()[1];
  ASSERT_TRUE(lo.is_number() || lo.is_null()) << where;
  ASSERT_TRUE(hi.is_number() || hi.is_null()) << where;
  if (lo.is_number()) {
    EXPECT_LE(lo.AsNumber(), estimate) << where;
  }
  if (hi.is_number()) {
    EXPECT_GE(hi.AsNumber(), estimate) << where;
  }
}

void ExpectSummary(const json::Value& s, const std::string& where) {
  ASSERT_TRUE(s.is_object()) << where;
  for (const char* k : {"count", "mean", "p50", "p90", "p95", "p99", "max", "min"}) {
    EXPECT_TRUE(s.Get(k).is_number()) << where << ": " << k;
  }
  EXPECT_GT(s.Get("count").AsNumber(), 0) << where;
  EXPECT_LE(s.Get("p50").AsNumber(), s.Get("p99").AsNumber()) << where;
  EXPECT_LE(s.Get("p99").AsNumber(), s.Get("max").AsNumber()) << where;
  EXPECT_GE(s.Get("min").AsNumber(), 0) << where;
}

// set_aside_for_steal[] (--max-steal): every run set aside names one of the measurement's rounds
// and, if it succeeded, had at least the steal of the run kept for that round (the least stolen
// is kept). The host rarely steals enough for a run to be set aside, so this usually checks the
// empty list; RemeasureWhileStolen's choices are unit-tested in tools_report_tests.
void ExpectSetAside(const json::Value& m, const std::string& where) {
  ASSERT_TRUE(m.Get("set_aside_for_steal").is_array()) << where;
  const auto& rounds = m.Get("rounds").items();
  for (const auto& a : m.Get("set_aside_for_steal").items()) {
    const size_t round = static_cast<size_t>(a.Get("round").AsNumber());
    ASSERT_TRUE(round >= 1 && round <= rounds.size()) << where << ": round " << round;
    if (a.Get("ok").AsBool()) {
      EXPECT_GE(a.Get("host_steal").AsNumber(), rounds[round - 1].Get("host_steal").AsNumber())
          << where;
    }
    std::printf("note: %s: round %zu measured again (steal %.3f)\n", where.c_str(), round,
                a.Get("host_steal").AsNumber());
  }
}

TEST(BenchTest, PreemptQuickJsonHasEveryCell) {
  int code = -1;
  json::Value v = RunBench({"bench", "preempt", "--quick", "--json"}, &code);
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.Get("bench").AsString(), "preempt");
  ExpectHostCheck(v);
  ExpectAutoPlacement(v);
  ExpectSummary(v.Get("host").Get("late_ns"), "host check");
  EXPECT_NE(v.Get("sim").AsString().find("simulated device"), std::string::npos);
  const auto& durations = v.Get("config").Get("durations_ms").items();
  const auto& levels = v.Get("config").Get("levels").items();
  ASSERT_FALSE(durations.empty());
  ASSERT_EQ(levels.size(), 4u);
  EXPECT_TRUE(v.Get("config").Get("probe_rate").is_null()) << "no --probe-rate: 250/D";
  EXPECT_EQ(v.Get("config").Get("rounds").AsNumber(), 1);
  EXPECT_TRUE(v.Get("config").Get("max_steal").is_null()) << "--quick measures every run once";
  ASSERT_EQ(v.Get("baseline").items().size(), durations.size());
  for (const auto& b : v.Get("baseline").items()) {
    EXPECT_TRUE(b.Get("ok").AsBool()) << "baseline failed: " << b.Get("error").AsString();
    ExpectSteal(b, "baseline");
    EXPECT_GT(b.Get("low_units_per_s").AsNumber(), 0);
  }
  const auto& cells = v.Get("cells").items();
  ASSERT_EQ(cells.size(), durations.size() * levels.size());
  double shortest = durations.front().AsNumber();  // Level-2's reference D for its verdict
  for (const auto& x : durations) shortest = std::min(shortest, x.AsNumber());
  for (const auto& d : durations) {
    for (const auto& l : levels) {
      const json::Value* found = nullptr;
      for (const auto& c : cells) {
        if (c.Get("duration_ms").AsNumber() == d.AsNumber() &&
            c.Get("level").AsString() == l.AsString()) {
          found = &c;
        }
      }
      const std::string where = "D=" + std::to_string(d.AsNumber()) + " " + l.AsString();
      ASSERT_NE(found, nullptr) << where << " missing";
      const json::Value& c = *found;
      EXPECT_TRUE(c.Get("ok").AsBool()) << where << " failed: " << c.Get("error").AsString();
      ASSERT_TRUE(c.Get("retried_after").is_string()) << where;
      if (!c.Get("retried_after").AsString().empty()) {
        std::printf("note: %s measured twice; first attempt: %s\n", where.c_str(),
                    c.Get("retried_after").AsString().c_str());
      }
      ASSERT_TRUE(c.Get("set_aside_for_steal").is_array()) << where;
      EXPECT_TRUE(c.Get("set_aside_for_steal").items().empty()) << where;
      if (!c.Get("ok").AsBool()) continue;
      ExpectSummary(c.Get("preemption_ns"), where);
      ExpectInterval(c.Get("preemption_p50_ci_ns"), c.Get("preemption_ns").Get("p50").AsNumber(),
                     where);
      ExpectInterval(c.Get("preemption_p99_ci_ns"), c.Get("preemption_ns").Get("p99").AsNumber(),
                     where);
      ExpectSummary(c.Get("latency_ns"), where);
      ExpectInterval(c.Get("latency_p50_ci_ns"), c.Get("latency_ns").Get("p50").AsNumber(), where);
      ExpectInterval(c.Get("latency_p99_ci_ns"), c.Get("latency_ns").Get("p99").AsNumber(), where);
      // Each probe's release precedes its submission, so every order statistic of release ->
      // start is at least the same one of submission -> start.
      for (const char* k : {"min", "p50", "p99", "max"}) {
        EXPECT_LE(c.Get("preemption_ns").Get(k).AsNumber(), c.Get("latency_ns").Get(k).AsNumber())
            << where << " " << k;
      }
      EXPECT_EQ(c.Get("submit_to_start_ns").Get("p99").AsNumber(),
                c.Get("preemption_ns").Get("p99").AsNumber()) << where;
      // The verdicts: Level-1 against none at its D, Level-2 against Level-2 at the shortest D.
      ASSERT_TRUE(c.Get("target").is_string()) << where;
      const std::string target = c.Get("target").AsString();
      // The preemption path split by the device trace: for the levels with a lever only; on the
      // simulated device with kernels of 1 ms and more, most probes wait for the low queue's save
      // (85-97% measured; a quarter leaves room for a noisy host, and 0 would mean no match).
      const json::Value& path = c.Get("preemption_path");
      if (l.AsString() == "L2" || l.AsString() == "cumask") {
        ASSERT_TRUE(path.is_object()) << where;
        const double n = path.Get("probes").AsNumber(-1);
        EXPECT_GT(n, 0.25 * c.Get("probes").AsNumber()) << where;
        EXPECT_LE(n, c.Get("probes").AsNumber()) << where;
        for (const char* part : {"reaction_ns", "save_to_start_ns"}) {
          EXPECT_GE(path.Get(part).Get("p50").AsNumber(-1), 0) << where << " " << part;
          EXPECT_LE(path.Get(part).Get("p50").AsNumber(), path.Get(part).Get("p99").AsNumber())
              << where << " " << part;
          // Both parts lie within the probe's submission -> start.
          EXPECT_LE(path.Get(part).Get("p50").AsNumber(),
                    c.Get("preemption_ns").Get("max").AsNumber()) << where << " " << part;
        }
        // Without the CP's late fetch, save -> start per probe can only shrink.
        const json::Value& af = path.Get("after_fetch_ns");
        ASSERT_TRUE(af.is_object()) << where << ": no fetch times for the probes via a save";
        EXPECT_EQ(af.Get("probes").AsNumber(), n) << where;
        EXPECT_GE(af.Get("p50").AsNumber(-1), 0) << where;
        EXPECT_LE(af.Get("p99").AsNumber(), path.Get("save_to_start_ns").Get("p99").AsNumber())
            << where;
      } else {
        EXPECT_TRUE(path.is_null()) << where;
      }
      // When the simulated CP first saw each probe (its device trace), matched to every probe:
      // after the submission and, per probe, no later than its start.
      const json::Value& fetch = c.Get("fetch_ns");
      ASSERT_TRUE(fetch.is_object()) << where << ": the probes' fetch times are missing";
      EXPECT_EQ(fetch.Get("probes").AsNumber(), c.Get("probes").AsNumber()) << where;
      EXPECT_GT(fetch.Get("p50").AsNumber(-1), 0) << where;
      for (const char* k : {"p50", "p99"}) {
        EXPECT_LE(fetch.Get(k).AsNumber(), c.Get("preemption_ns").Get(k).AsNumber())
            << where << " " << k;
      }
      if (l.AsString() == "L1") {
        EXPECT_TRUE(target.rfind("<=1.1x none: met (P50 ", 0) == 0 ||
                    target.rfind("<=1.1x none: missed (P50 ", 0) == 0) << where << ": " << target;
      } else if (l.AsString() == "L2" && d.AsNumber() != shortest) {
        EXPECT_EQ(target.rfind("P99 <=2x D=", 0), 0u) << where << ": " << target;
      } else {
        EXPECT_EQ(target, "") << where;
      }
      // The two parts of the latency: each within the whole, neither missing.
      for (const char* part : {"release_delay_ns", "submit_to_start_ns"}) {
        const json::Value& s = c.Get(part);
        ASSERT_TRUE(s.Get("p50").is_number() && s.Get("p99").is_number()) << where << " " << part;
        EXPECT_GE(s.Get("p50").AsNumber(), 0) << where << " " << part;
        EXPECT_LE(s.Get("p50").AsNumber(), s.Get("p99").AsNumber()) << where << " " << part;
        EXPECT_LE(s.Get("p50").AsNumber(), c.Get("latency_ns").Get("max").AsNumber())
            << where << " " << part;
      }
      EXPECT_GT(c.Get("submit_to_start_ns").Get("p50").AsNumber(), 0) << where;
      EXPECT_EQ(c.Get("probes").AsNumber(), v.Get("config").Get("probes").AsNumber()) << where;
      EXPECT_GT(c.Get("low_units_per_s").AsNumber(), 0) << where;
      EXPECT_TRUE(c.Get("throughput_kept").is_number()) << where;
      EXPECT_GT(c.Get("window_s").AsNumber(), 0) << where;
      ExpectSteal(c, where);
      if (l.AsString() == "none") {
        EXPECT_TRUE(c.Get("overhead").is_null()) << where;
      } else {
        EXPECT_TRUE(c.Get("overhead").Get("ok").AsBool())
            << where << " overhead run failed: " << c.Get("overhead").Get("error").AsString();
        EXPECT_TRUE(c.Get("overhead").Get("overhead").is_number()) << where;
        ExpectSteal(c.Get("overhead"), where + " overhead run");
      }
    }
  }
  EXPECT_TRUE(v.Get("ok").AsBool());
  EXPECT_EQ(code, 0);
}

TEST(BenchTest, TwoModelQuickJsonHasEveryCell) {
  int code = -1;
  json::Value v = RunBench({"bench", "two-model", "--quick", "--json"}, &code);
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.Get("bench").AsString(), "two-model");
  ExpectHostCheck(v);
  ExpectAutoPlacement(v);
  ExpectSummary(v.Get("host").Get("late_ns"), "host check");
  EXPECT_NE(v.Get("sim").AsString().find("simulated device"), std::string::npos);
  EXPECT_DOUBLE_EQ(v.Get("scale").AsNumber(), 3.8);
  EXPECT_TRUE(v.Get("config").Get("max_steal").is_null()) << "--quick measures every run once";
  const auto& batches = v.Get("config").Get("batches").items();
  const auto& rates = v.Get("config").Get("rates").items();
  const auto& levels = v.Get("config").Get("levels").items();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].AsNumber(), 1024);
  ASSERT_EQ(levels.size(), 4u);
  for (const auto& s : v.Get("standalone_small").items()) {
    EXPECT_TRUE(s.Get("ok").AsBool()) << "standalone small: " << s.Get("error").AsString();
    ExpectSummary(s.Get("latency_ns"), "standalone small");
    ExpectInterval(s.Get("latency_p99_ci_ns"), s.Get("latency_ns").Get("p99").AsNumber(),
                   "standalone small");
    ExpectSteal(s, "standalone small");
    ASSERT_TRUE(s.Get("set_aside_for_steal").is_array());
    EXPECT_TRUE(s.Get("set_aside_for_steal").items().empty());
  }
  for (const auto& g : v.Get("standalone_large").items()) {
    EXPECT_TRUE(g.Get("ok").AsBool()) << "standalone large: " << g.Get("error").AsString();
    EXPECT_GT(g.Get("iterations_per_s").AsNumber(), 0);
  }
  const auto& cells = v.Get("cells").items();
  // one policy (priority) by default: batches x rates x levels
  ASSERT_EQ(cells.size(), batches.size() * rates.size() * levels.size());
  for (const auto& r : rates) {
    for (const auto& l : levels) {
      const json::Value* found = nullptr;
      for (const auto& c : cells) {
        if (c.Get("rate").AsNumber() == r.AsNumber() && c.Get("level").AsString() == l.AsString()) {
          found = &c;
        }
      }
      const std::string where = "rate " + std::to_string(r.AsNumber()) + " " + l.AsString();
      ASSERT_NE(found, nullptr) << where << " missing";
      const json::Value& c = *found;
      EXPECT_TRUE(c.Get("ok").AsBool()) << where << " failed: " << c.Get("error").AsString();
      ASSERT_TRUE(c.Get("retried_after").is_string()) << where;
      if (!c.Get("retried_after").AsString().empty()) {
        std::printf("note: %s measured twice; first attempt: %s\n", where.c_str(),
                    c.Get("retried_after").AsString().c_str());
      }
      ASSERT_TRUE(c.Get("set_aside_for_steal").is_array()) << where;
      EXPECT_TRUE(c.Get("set_aside_for_steal").items().empty()) << where;
      if (!c.Get("ok").AsBool()) continue;
      ExpectSummary(c.Get("latency_ns"), where);
      EXPECT_TRUE(c.Get("p99_vs_standalone").is_number()) << where;
      ExpectInterval(c.Get("latency_p99_ci_ns"), c.Get("latency_ns").Get("p99").AsNumber(), where);
      ExpectInterval(c.Get("p99_vs_standalone_ci"), c.Get("p99_vs_standalone").AsNumber(), where);
      EXPECT_GT(c.Get("submit_p99_vs_standalone").AsNumber(), 0) << where;
      EXPECT_GT(c.Get("large_iterations_per_s").AsNumber(), 0) << where;
      EXPECT_TRUE(c.Get("large_kept").is_number()) << where;
      ExpectSteal(c, where);
      EXPECT_EQ(c.Get("policy").AsString(), l.AsString() == "none" ? "-" : "priority") << where;
    }
  }
  EXPECT_TRUE(v.Get("ok").AsBool());
  EXPECT_EQ(code, 0);
}

// Level-1 is measured at each threshold asked for (XSched's knob): one L1 cell per threshold, in
// order, each naming its threshold; the other levels name none.
// --rounds: every measurement (the standalone runs too) once per round, every other round in
// reverse order, so the cell and its standalone reference see the same drift of the host; the
// cell is judged on both rounds' requests.
TEST(BenchTest, TwoModelQuickInterleavesRounds) {
  int code = -1;
  std::string err;
  json::Value v = RunBench({"bench", "two-model", "--quick", "--json", "--levels", "2", "--rates",
                            "20", "--seconds", "2", "--rounds", "2", "--max-steal", "30"},
                           &code, &err);
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.Get("config").Get("rounds").AsNumber(), 2);
  EXPECT_DOUBLE_EQ(v.Get("config").Get("max_steal").AsNumber(), 0.30);
  // Progress: round 1 forwards, round 2 backwards.
  const std::vector<std::string> expected = {
      "round 1/2, small model alone at 20 req/s for 1 s", "round 1/2, large model (batch 1024)",
      "round 1/2, batch 1024, 20 req/s, L2",              "round 2/2, batch 1024, 20 req/s, L2",
      "round 2/2, large model (batch 1024)",              "round 2/2, small model alone at 20"};
  size_t at = 0;
  for (const std::string& line : expected) {
    const size_t found = err.find(line, at);
    ASSERT_NE(found, std::string::npos) << "'" << line << "' not in order in:\n" << err;
    at = found + line.size();
  }
  const json::Value& alone = v.Get("standalone_small").items()[0];
  ASSERT_TRUE(alone.Get("ok").AsBool()) << alone.Get("error").AsString();
  ExpectSummary(alone.Get("latency_ns"), "standalone small");
  EXPECT_GT(v.Get("standalone_large").items()[0].Get("iterations_per_s").AsNumber(), 0);
  const auto& cells = v.Get("cells").items();
  ASSERT_EQ(cells.size(), 1u);
  const json::Value& c = cells[0];
  ASSERT_TRUE(c.Get("ok").AsBool()) << c.Get("error").AsString();
  ExpectSummary(c.Get("latency_ns"), "L2 cell");
  EXPECT_EQ(c.Get("requests").AsNumber(), c.Get("latency_ns").Get("count").AsNumber());
  // Both runs' requests, per round and together.
  for (const json::Value* m : {&alone, &c}) {
    const auto& rounds = m->Get("rounds").items();
    ASSERT_EQ(rounds.size(), 2u);
    double requests = 0;
    for (const auto& f : rounds) {
      EXPECT_TRUE(f.Get("ok").AsBool());
      EXPECT_GT(f.Get("requests").AsNumber(), 0);
      EXPECT_LE(f.Get("latency_p50_ns").AsNumber(), f.Get("latency_p99_ns").AsNumber());
      requests += f.Get("requests").AsNumber();
    }
    EXPECT_EQ(requests, m->Get("requests").AsNumber());
    ExpectSetAside(*m, m == &c ? "L2 cell" : "standalone small");
  }
  EXPECT_TRUE(c.Get("p99_vs_standalone").is_number());
  EXPECT_GT(c.Get("large_kept").AsNumber(), 0);
  EXPECT_GT(c.Get("preemptions").AsNumber(), 0) << "Level-2 never preempted over two rounds";
  EXPECT_EQ(code, 0);
}

TEST(BenchTest, TwoModelRejectsRoundsShorterThanASecond) {
  ExpectUsageError({"bench", "two-model", "--seconds", "3", "--rounds", "4"},
                   "--rounds 4 leaves 0.75 s per run");
}

TEST(BenchTest, PreemptQuickSweepsLevel1Thresholds) {
  int code = -1;
  json::Value v = RunBench({"bench", "preempt", "--quick", "--json", "--durations", "1", "--levels",
                            "none,1", "--threshold", "2,16", "--probes", "10"},
                           &code);
  ASSERT_TRUE(v.is_object());
  const auto& thresholds = v.Get("config").Get("thresholds").items();
  ASSERT_EQ(thresholds.size(), 2u);
  EXPECT_EQ(thresholds[0].AsNumber(), 2);
  EXPECT_EQ(thresholds[1].AsNumber(), 16);
  const auto& cells = v.Get("cells").items();
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[0].Get("level").AsString(), "none");
  EXPECT_TRUE(cells[0].Get("threshold").is_null());
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(cells[i].Get("level").AsString(), "L1");
    EXPECT_EQ(cells[i].Get("threshold").AsNumber(), thresholds[i - 1].AsNumber());
    EXPECT_TRUE(cells[i].Get("ok").AsBool()) << cells[i].Get("error").AsString();
    EXPECT_EQ(cells[i].Get("probes").AsNumber(), 10);
  }
  EXPECT_EQ(code, 0);
}

// --rounds spreads each cell over rounds (interleaved with the other cells): the cell is judged on
// every round's probes together (11 = 6 + 5), and the config says how the figures were taken.
// --probe-rate replaces the rate that falls with D; --max-steal is taken (ExpectSetAside).
TEST(BenchTest, PreemptQuickSpreadsCellsOverRounds) {
  int code = -1;
  json::Value v = RunBench({"bench", "preempt", "--quick", "--json", "--durations", "1", "--levels",
                            "2", "--probes", "11", "--rounds", "2", "--probe-rate", "40",
                            "--max-steal", "30"},
                           &code);
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.Get("config").Get("rounds").AsNumber(), 2);
  EXPECT_DOUBLE_EQ(v.Get("config").Get("max_steal").AsNumber(), 0.30);
  EXPECT_EQ(v.Get("config").Get("probe_rate").AsNumber(), 40);
  EXPECT_EQ(v.Get("config").Get("probes").AsNumber(), 11);
  const auto& cells = v.Get("cells").items();
  ASSERT_EQ(cells.size(), 1u);
  const json::Value& c = cells[0];
  ASSERT_TRUE(c.Get("ok").AsBool()) << c.Get("error").AsString();
  EXPECT_EQ(c.Get("probes").AsNumber(), 11);
  EXPECT_EQ(c.Get("probe_rate").AsNumber(), 40);
  EXPECT_EQ(c.Get("preemption_ns").Get("count").AsNumber(), 11);
  const auto& rounds = c.Get("rounds").items();
  ASSERT_EQ(rounds.size(), 2u);
  for (size_t i = 0; i < rounds.size(); ++i) {
    EXPECT_TRUE(rounds[i].Get("ok").AsBool());
    EXPECT_EQ(rounds[i].Get("probes").AsNumber(), i == 0 ? 6 : 5) << "round " << i + 1;
    EXPECT_GT(rounds[i].Get("preemption_p50_ns").AsNumber(), 0);
    EXPECT_LE(rounds[i].Get("preemption_p50_ns").AsNumber(),
              rounds[i].Get("preemption_p99_ns").AsNumber());
    ExpectSteal(rounds[i], "round " + std::to_string(i + 1));
  }
  const json::Value& path = c.Get("preemption_path");
  ASSERT_TRUE(path.is_object()) << "Level-2's path split is missing over rounds";
  EXPECT_LE(path.Get("probes").AsNumber(), 11);
  ExpectSetAside(c, "L2 cell");
  EXPECT_GT(c.Get("throughput_kept").AsNumber(), 0);
  EXPECT_TRUE(c.Get("overhead").Get("ok").AsBool()) << c.Get("overhead").Get("error").AsString();
  EXPECT_TRUE(v.Get("baseline").items()[0].Get("ok").AsBool());
  EXPECT_EQ(code, 0);
}

TEST(BenchTest, DeviceCpusRejectsUnusableCpusAndAListLeavingNone) {
  ExpectUsageError({"bench", "preempt", "--device-cpus", "1023"}, "is not usable here");
  cpu_set_t usable;
  ASSERT_EQ(sched_getaffinity(0, sizeof(usable), &usable), 0);
  ExpectUsageError({"bench", "two-model", "--device-cpus", common::FormatCpuList(usable)},
                   "leaves no CPU for the workloads");
}

TEST(BenchTest, PreemptRejectsMoreRoundsThanProbes) {
  ExpectUsageError({"bench", "preempt", "--probes", "4", "--rounds", "5"},
                   "--rounds 5 needs at least as many probes");
}

TEST(BenchTest, PreemptRejectsBadFlags) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"bench", "preempt", "--durations", "1,x"},
           {"bench", "preempt", "--levels", "3"},
           {"bench", "preempt", "--threshold", "4,0"},
           {"bench", "preempt", "--probe-rate", "0.5"},
           {"bench", "preempt", "--max-steal", "101"},
           {"bench", "two-model", "--max-steal", "-1"},
           {"bench", "preempt", "--device-cpus", "0,x"},
           {"bench", "two-model", "--batches", "0"},
           {"bench", "two-model", "--policies", "edfx"},
           {"bench", "two-model", "--device-cpus", "1-0"}}) {
    ExpectUsageError(args, args[3].substr(args[3].find(',') + 1));  // names the bad element
  }
}

}  // namespace
}  // namespace hsapreempt
