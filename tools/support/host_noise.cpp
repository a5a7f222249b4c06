#include "tools/support/host_noise.h"

#include <sys/prctl.h>
#include <time.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

namespace hsapreempt::tools {
namespace {

uint64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string Duration(double ns) {
  char buf[32];
  if (ns >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2f ms", ns / 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f us", ns / 1e3);
  }
  return buf;
}

}  // namespace

CpuTimes ParseCpuTimes(const std::string& proc_stat) {
  CpuTimes t;
  std::istringstream in(proc_stat);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, 4, "cpu ") != 0) continue;
    std::istringstream fields(line.substr(4));
    // user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
    uint64_t v = 0;
    int n = 0;
    while (n < 8 && fields >> v) {
      t.total += v;
      if (n == 7) t.steal = v;
      ++n;
    }
    t.ok = n >= 4;
    if (!t.ok) t = CpuTimes{};
    return t;
  }
  return t;
}

CpuTimes ReadCpuTimes() {
  std::ifstream f("/proc/stat");
  if (!f) return {};
  std::string first;
  std::getline(f, first);
  return ParseCpuTimes(first);
}

double StealFraction(const CpuTimes& before, const CpuTimes& after) {
  if (!before.ok || !after.ok || after.total <= before.total || after.steal < before.steal) {
    return NAN;
  }
  return static_cast<double>(after.steal - before.steal) /
         static_cast<double>(after.total - before.total);
}

WakeupCheck CheckWakeups(double seconds, uint64_t period_ns) {
  WakeupCheck c;
  c.period_ns = period_ns;
  if (period_ns == 0 || !(seconds > 0)) return c;
  const int old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);  // the default 50 us would be measured as lateness
  const CpuTimes before = ReadCpuTimes();
  const uint64_t start = MonotonicNs();
  const uint64_t stop = start + static_cast<uint64_t>(seconds * 1e9);
  std::vector<double> late;
  late.reserve(static_cast<size_t>(seconds * 1e9 / static_cast<double>(period_ns)) + 1);
  for (uint64_t now = start; now < stop;) {
    timespec req{static_cast<time_t>(period_ns / 1000000000ull),
                 static_cast<long>(period_ns % 1000000000ull)};
    nanosleep(&req, nullptr);  // an interrupted sleep only adds a short sample
    const uint64_t woke = MonotonicNs();
    const uint64_t due = now + period_ns;
    late.push_back(woke > due ? static_cast<double>(woke - due) : 0.0);
    now = woke;
  }
  c.steal = StealFraction(before, ReadCpuTimes());
  if (old_slack > 0) prctl(PR_SET_TIMERSLACK, old_slack, 0, 0, 0);
  c.seconds = static_cast<double>(MonotonicNs() - start) * 1e-9;
  c.late_ns = Summarize(late);
  c.ok = c.late_ns.count > 0;
  return c;
}

std::string DescribeWakeupCheck(const WakeupCheck& c) {
  if (!c.ok) return "timer wake-up check: not measured";
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "timer wake-ups late by P50 %s, P99 %s, max %s (%.0f s of %g ms sleeps)",
                Duration(c.late_ns.p50).c_str(), Duration(c.late_ns.p99).c_str(),
                Duration(c.late_ns.max).c_str(), c.seconds, static_cast<double>(c.period_ns) / 1e6);
  std::string text = buf;
  if (std::isfinite(c.steal)) text += "; hypervisor steal " + FormatSteal(c.steal);
  return text;
}

void WriteWakeupCheck(const WakeupCheck& c, json::Writer* w) {
  w->BeginObject().Field("period_ns", c.period_ns).Field("seconds", c.seconds);
  WriteSummary(c.late_ns, "late_ns", w);
  w->Field("steal", c.steal).EndObject();  // NaN (unknown) is written as null
}

std::string FormatSteal(double steal) {
  if (!std::isfinite(steal)) return "-";
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%.1f%%", 100 * steal);
  return buf;
}

}  // namespace hsapreempt::tools
