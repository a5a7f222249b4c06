// hsapreempt-workload: a real HSA program that the benchmarks and integration tests run as a child
// process. Modes: spin (kernel streams), probe (latency probes), replay (a model's kernel trace).
// Prints one JSON object on stdout (fields in tools/workload/README.md); errors also go to stderr
// as one line. Exit status: 0 ok, 1 failed, 2 usage.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/hsa_helpers.h"
#include "tools/support/json.h"
#include "tools/support/sim_info.h"
#include "tools/support/stats.h"
#include "tools/workload/calibration.h"
#include "tools/workload/options.h"
#include "tools/workload/stream.h"
#include "tools/workload/trace_model.h"

namespace hsapreempt::workload {
namespace {
namespace ts = hsapreempt::testsupport;
namespace json = hsapreempt::tools::json;

#ifndef HSAPREEMPT_DEFAULT_TRACES
#define HSAPREEMPT_DEFAULT_TRACES "data/resnet_kernel_traces.json"
#endif

int Fail(const Options& o, const std::string& why) {
  std::fprintf(stderr, "hsapreempt-workload: %s\n", why.c_str());
  json::Writer w;
  w.BeginObject().Field("mode", ModeName(o.mode)).Field("ok", false).Field("error", why).EndObject();
  std::printf("%s\n", w.str().c_str());
  return 1;
}

void WriteSummary(json::Writer* w, const std::string& key, const std::vector<double>& v) {
  tools::Summary s = tools::Summarize(v);
  w->Key(key).BeginObject();
  w->Field("count", static_cast<uint64_t>(s.count));
  w->Field("mean", s.mean).Field("p50", s.p50).Field("p90", s.p90).Field("p95", s.p95);
  w->Field("p99", s.p99).Field("max", s.max).Field("min", s.min);
  w->EndObject();
}

void WriteArray(json::Writer* w, const std::string& key, const std::vector<double>& v) {
  w->Key(key).BeginArray();
  for (double d : v) w->Number(d);
  w->EndArray();
}

hsa_amd_queue_priority_t PriorityOf(const std::string& p) {
  if (p == "low") return HSA_AMD_QUEUE_PRIORITY_LOW;
  if (p == "high") return HSA_AMD_QUEUE_PRIORITY_HIGH;
  return HSA_AMD_QUEUE_PRIORITY_NORMAL;
}

int Run(const Options& o) {
  ts::HsaSystem sys;
  if (ts::InitHsa(&sys) != HSA_STATUS_SUCCESS) return Fail(o, "HSA init: " + ts::LastError());
  ts::Kernel kernel;
  if (ts::LoadSpinKernel(sys, &kernel) != HSA_STATUS_SUCCESS) {
    std::string why = ts::LastError();
    ts::ShutdownHsa();
    return Fail(o, why);
  }
  const uint32_t cus = sys.gpu_compute_units ? sys.gpu_compute_units : 1;
  const std::string sim = tools::SimDescribe();

  // The unit of work per mode.
  StreamConfig base;
  std::string replay_desc;
  uint32_t replay_fill = 0;  // replay: workgroups per kernel
  uint64_t unit_modelled_ns = 0;
  if (o.mode == Mode::kReplay) {
    std::vector<ModelTrace> traces;
    std::string error;
    std::string path = o.traces.empty() ? HSAPREEMPT_DEFAULT_TRACES : o.traces;
    if (!LoadTraces(path, &traces, &error)) {
      ts::UnloadKernel(&kernel);
      ts::ShutdownHsa();
      return Fail(o, error);
    }
    const ModelTrace* t = FindTrace(traces, o.model, o.batch);
    if (!t || t->kernels.empty()) {
      ts::UnloadKernel(&kernel);
      ts::ShutdownHsa();
      return Fail(o, "no trace for model " + o.model + " batch " + std::to_string(o.batch));
    }
    replay_fill = o.fill_workgroups > 0 ? static_cast<uint32_t>(o.fill_workgroups)
                    : o.fill_rounds > 0   ? static_cast<uint32_t>(o.fill_rounds) * cus
                                          : cus;
    for (const auto& p : PlanReplay(*t, o.scale, replay_fill, cus)) {
      base.unit.push_back({p.workgroups, p.workgroup_ns});
      unit_modelled_ns += p.modelled_ns;
    }
    replay_desc = t->model + " batch " + std::to_string(t->batch) + " (" + t->device + ")";
  } else {
    UnitKernel k;
    k.workgroups = o.workgroups > 0 ? static_cast<uint32_t>(o.workgroups)
                                    : (o.mode == Mode::kProbe ? 1 : cus);
    uint64_t duration_ns = static_cast<uint64_t>(o.duration_us * 1000.0 + 0.5);
    k.workgroup_ns = o.workgroup_ns >= 0 ? static_cast<uint64_t>(o.workgroup_ns)
                                         : WorkgroupNsFor(duration_ns, k.workgroups, cus);
    const int64_t per_unit = o.mode == Mode::kSpin ? o.kernels_per_unit : 1;
    for (int64_t i = 0; i < per_unit; ++i) base.unit.push_back(k);
    unit_modelled_ns = per_unit * ((k.workgroups + cus - 1) / cus) * k.workgroup_ns;
  }
  base.workgroup_size = static_cast<uint16_t>(o.workgroup_size);
  base.count = o.count;
  base.seconds = o.seconds;
  base.rate = o.rate;
  base.poisson = o.arrival == Arrival::kPoisson;
  base.inflight = static_cast<uint32_t>(o.inflight);
  base.barrier = o.barrier;
  base.timeout_s = o.timeout_s;
  base.wait = o.wait == "yield"   ? ts::WaitStyle::kYield
              : o.wait == "sleep" ? ts::WaitStyle::kSleep
                                  : ts::WaitStyle::kHsaWait;

  // Queues.
  uint32_t qsize = o.queue_size;
  if (sys.gpu_queue_max_size && qsize > sys.gpu_queue_max_size) qsize = sys.gpu_queue_max_size;
  std::vector<hsa_queue_t*> queues;
  std::string error;
  for (uint32_t i = 0; i < o.queues && error.empty(); ++i) {
    hsa_queue_t* q = nullptr;
    if (hsa_queue_create(sys.gpu, qsize, HSA_QUEUE_TYPE_MULTI, nullptr, nullptr, UINT32_MAX,
                         UINT32_MAX, &q) != HSA_STATUS_SUCCESS) {
      error = "hsa_queue_create failed";
      break;
    }
    queues.push_back(q);
    hsa_amd_profiling_set_profiler_enabled(q, 1);
    if (!o.priority.empty() &&
        hsa_amd_queue_set_priority(q, PriorityOf(o.priority)) != HSA_STATUS_SUCCESS) {
      error = "hsa_amd_queue_set_priority failed";
    }
  }

  std::vector<StreamResult> results(queues.size());
  uint64_t t0 = ts::SystemTimestampNs(sys) + 2000000;  // 2 ms for every thread to be ready
  // The device trace ring holds under a second of short kernels: read it as the run goes.
  tools::TraceCollector collector(static_cast<uint32_t>(getpid()), 0);
  std::atomic<bool> streams_done{false};
  std::thread trace_thread;
  if (o.trace) {
    trace_thread = std::thread([&] {
      while (!streams_done.load()) {
        collector.Poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  if (error.empty()) {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < queues.size(); ++i) {
      StreamConfig cfg = base;
      cfg.seed = o.seed + i;
      cfg.t0_ns = t0;
      threads.emplace_back(
          [&, i, cfg]() { results[i] = RunStream(sys, queues[i], kernel, cfg); });
    }
    for (auto& t : threads) t.join();
    for (const auto& r : results) {
      if (!r.ok && error.empty()) error = r.error;
    }
  }
  streams_done.store(true);
  if (trace_thread.joinable()) trace_thread.join();
  tools::TraceSummary trace;
  if (o.trace) trace = collector.Finish();
  if (!o.trace_dump.empty()) {
    std::string dump_error;
    if (!tools::DumpTrace(o.trace_dump, &dump_error)) std::fprintf(stderr, "hsapreempt-workload: %s\n", dump_error.c_str());
  }
  for (auto* q : queues) hsa_queue_destroy(q);
  ts::UnloadKernel(&kernel);
  ts::ShutdownHsa();
  if (!error.empty()) return Fail(o, error);

  // Statistics over every queue's units after warm-up.
  std::vector<double> kernel_ns, start_lat, end_lat, submit_end, release_delay, host_ns;
  std::vector<double> s_release, s_submit, s_published, s_start, s_end, s_done;
  uint64_t first = UINT64_MAX, last = 0, packets = 0, units = 0, clock_violations = 0;
  double max_skew_ns = 0;
  for (const auto& r : results) {
    packets += r.packets;
    for (size_t i = 0; i < r.units.size(); ++i) {
      const UnitRecord& u = r.units[i];
      first = std::min(first, u.submit_ns);
      last = std::max(last, u.done_ns);
      // The device must not start before we submitted nor end after we saw it done.
      double skew = std::max(static_cast<double>(u.submit_ns) - static_cast<double>(u.start_ns),
                             static_cast<double>(u.end_ns) - static_cast<double>(u.done_ns));
      if (skew > 0) ++clock_violations;
      max_skew_ns = std::max(max_skew_ns, skew);
      if (static_cast<int64_t>(i) < o.warmup) continue;
      ++units;
      kernel_ns.push_back(static_cast<double>(u.end_ns) - u.start_ns);
      start_lat.push_back(static_cast<double>(u.start_ns) - u.submit_ns);
      submit_end.push_back(static_cast<double>(u.end_ns) - u.submit_ns);
      end_lat.push_back(static_cast<double>(u.end_ns) - u.release_ns);
      release_delay.push_back(static_cast<double>(u.submit_ns) - u.release_ns);
      host_ns.push_back(static_cast<double>(u.done_ns) - u.submit_ns);
      if (o.samples) {
        s_release.push_back(u.release_ns);
        s_submit.push_back(u.submit_ns);
        s_published.push_back(u.published_ns);
        s_start.push_back(u.start_ns);
        s_end.push_back(u.end_ns);
        s_done.push_back(u.done_ns);
      }
    }
  }
  const double elapsed_s = last > first ? (last - first) * 1e-9 : 0;

  json::Writer w;
  w.BeginObject();
  w.Field("mode", ModeName(o.mode)).Field("ok", true);
  w.Key("config").BeginObject();
  w.Field("queues", o.queues).Field("count", o.count).Field("seconds", o.seconds);
  w.Field("rate", o.rate).Field("arrival", o.arrival == Arrival::kPoisson ? "poisson" : "fixed");
  w.Field("wait", o.wait);
  w.Field("inflight", o.inflight).Field("warmup", o.warmup).Field("barrier", o.barrier);
  w.Field("priority", o.priority.empty() ? "default" : o.priority).Field("seed", o.seed);
  w.Field("queue_size", qsize).Field("kernels_per_unit", static_cast<uint64_t>(base.unit.size()));
  w.Field("workgroups", base.unit[0].workgroups).Field("workgroup_ns", base.unit[0].workgroup_ns);
  w.Field("unit_modelled_ns", unit_modelled_ns);
  if (o.mode == Mode::kReplay) {
    w.Field("trace", replay_desc).Field("scale", o.scale);
    // The stored calibration (tools/workload/calibration.h) this scale is, if any: figures made
    // with it name it (docs/calibration.md). "" when the scale is not a calibrated one.
    std::string calibration;
    const size_t at = sim.find("preset=");
    if (at != std::string::npos) {
      const std::string preset = sim.substr(at + 7, sim.find(' ', at) - at - 7);
      const Calibration* cal = FindCalibration(preset.c_str());
      const double want = CalibratedScaleFor(cal, o.model.c_str(), o.batch, -1);
      if (cal != nullptr && want > 0 && std::fabs(want - o.scale) <= 1e-4 * want) {
        calibration = cal->name;
      }
    }
    w.Field("calibration", calibration);
    w.Field("fill_workgroups", static_cast<double>(replay_fill));
    w.Field("workgroup_rule", "fill the device once: workgroups = fill_workgroups (default CU "
                              "count), workgroup_ns = scaled duration / rounds");
  }
  w.EndObject();
  w.Key("device").BeginObject();
  w.Field("name", sys.gpu_name).Field("isa", sys.gpu_isa).Field("compute_units", cus);
  w.Field("timestamp_hz", sys.timestamp_hz).Field("simulated", !sim.empty());
  w.Field("sim", sim);
  w.EndObject();
  w.Field("units", units).Field("packets", packets).Field("elapsed_s", elapsed_s);
  w.Field("units_per_s", elapsed_s > 0 ? units / elapsed_s : 0.0);
  w.Field("packets_per_s", elapsed_s > 0 ? packets / elapsed_s : 0.0);
  WriteSummary(&w, "kernel_ns", kernel_ns);      // device end - start of the unit's last kernel
  WriteSummary(&w, "start_latency_ns", start_lat);  // device start - host submission
  WriteSummary(&w, "submit_to_end_ns", submit_end);  // device end - host submission
  WriteSummary(&w, "latency_ns", end_lat);       // device end - release (replay: request latency)
  WriteSummary(&w, "release_delay_ns", release_delay);  // host submission - scheduled release
  WriteSummary(&w, "host_ns", host_ns);          // host observed done - host submit
  w.Key("clock_check").BeginObject();
  w.Field("checked", units);
  w.Field("violations", clock_violations).Field("max_skew_ns", max_skew_ns);
  w.EndObject();
  if (o.samples) {
    w.Key("samples").BeginObject();
    WriteArray(&w, "release_ns", s_release);
    WriteArray(&w, "submit_ns", s_submit);
    WriteArray(&w, "published_ns", s_published);
    WriteArray(&w, "start_ns", s_start);
    WriteArray(&w, "end_ns", s_end);
    WriteArray(&w, "done_ns", s_done);
    if (o.trace) {  // when the device saved this process's waves (bench preempt splits the path)
      WriteArray(&w, "preempt_ns", std::vector<double>(trace.preempt_ns.begin(),
                                                       trace.preempt_ns.end()));
      // Per unit, when the simulated CP fetched its last kernel (0: not in the trace read).
      std::vector<double> launch;
      for (double start : s_start) {
        launch.push_back(static_cast<double>(
            tools::LaunchOfStart(trace.launches, static_cast<uint64_t>(start))));
      }
      WriteArray(&w, "launch_ns", launch);
    }
    w.EndObject();
  }
  if (o.trace) {
    w.Key("device_trace");
    tools::WriteTraceSummary(trace, &w);
  }
  w.EndObject();
  std::printf("%s\n", w.str().c_str());
  return 0;
}

}  // namespace
}  // namespace hsapreempt::workload

int main(int argc, char** argv) {
  using namespace hsapreempt::workload;
  Options options;
  bool help = false;
  std::string error;
  if (!ParseOptions(std::vector<std::string>(argv + 1, argv + argc), &options, &help, &error)) {
    std::fprintf(stderr, "hsapreempt-workload: %s\n%s", error.c_str(), UsageText());
    return 2;
  }
  if (help) {
    std::printf("%s", UsageText());
    return 0;
  }
  return Run(options);
}
