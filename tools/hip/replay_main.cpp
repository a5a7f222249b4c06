// hsapreempt-hip-replay: replays a traced model's forward pass (data/resnet_kernel_traces.json)
// as real HIP kernel launches on one HIP stream, at a request rate or flat out, and prints one
// JSON object in the shape of `hsapreempt-workload replay` (tools/workload/README.md). Built by
// hipcc (tools/hip/CMakeLists.txt); see docs/hip.md.
//
//   hsapreempt-hip-replay --model resnet18 --batch 1 [--rate R] [--seconds S | --count N]
//                         [--scale X] [--fill-workgroups W] [--warmup N] [--priority low|normal|high]
//
// Request latency = host time the pass's completion event was seen - the request's scheduled
// release. By default the host polls a pinned word that the pass's last kernel writes (the cost
// convention's done_ptr); --wait poll|sync use an event recorded after the last kernel instead
// (hipEventQuery / hipEventSynchronize). HIP exposes no absolute device timestamps. With --rate a waiter thread observes completions in stream order while the
// main thread releases requests on schedule (open loop, Poisson by default); flat out is a closed
// loop (one request at a time). Errors: one line on stderr, {"ok":false,...} on stdout, exit 1.
#include <hip/hip_runtime.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hsapreempt/sim_kernel_abi.h"
#include "tools/support/json.h"
#include "tools/support/sim_info.h"
#include "tools/support/stats.h"
#include "tools/workload/trace_model.h"

__global__ void hsapreempt_spin(hsapreempt_kernel_args a) {
  const uint64_t ticks = (a.workgroup_ns + 9) / 10;
  const uint64_t start = __builtin_amdgcn_s_memrealtime();
  while (__builtin_amdgcn_s_memrealtime() - start < ticks) __builtin_amdgcn_s_sleep(1);
  // The cost convention's effect used here: the pass's last kernel publishes its sequence number.
  if (a.done_ptr && blockIdx.x == 0 && threadIdx.x == 0) {
    __atomic_store_n(a.done_ptr, a.done_value, __ATOMIC_RELEASE);
    __threadfence_system();
  }
}

namespace {

using hsapreempt::tools::json::Writer;

struct Options {
  std::string traces = HSAPREEMPT_DEFAULT_TRACES;
  std::string model = "resnet18";
  int batch = 1;
  double rate = 0;  // requests/s; 0 = flat out (closed loop)
  std::string arrival = "poisson";
  double seconds = 0;
  int count = 0;
  int warmup = 1;
  double scale = 1;
  uint32_t fill_workgroups = 0;  // 0: the device's CU count
  std::string priority = "normal";
  uint64_t seed = 1;
  // done: poll the pass's last kernel's done_ptr write in pinned memory (default);
  // poll: hipEventQuery + yield; sync: hipEventSynchronize.
  std::string wait = "done";
};

uint64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

int Fail(const std::string& why) {
  std::fprintf(stderr, "hsapreempt-hip-replay: %s\n", why.c_str());
  Writer w;
  w.BeginObject().Field("mode", "replay").Field("ok", false).Field("error", why).EndObject();
  std::printf("%s\n", w.str().c_str());
  return 1;
}

bool ParseArgs(int argc, char** argv, Options* o, std::string* err) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help") { *err = "usage: see tools/hip/replay_main.cpp"; return false; }
    if (i + 1 >= argc) { *err = "missing value for " + a; return false; }
    std::string v = argv[++i];
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    bool num = end && *end == '\0' && !v.empty();
    if (a == "--traces") o->traces = v;
    else if (a == "--model") o->model = v;
    else if (a == "--arrival" && (v == "poisson" || v == "fixed")) o->arrival = v;
    else if (a == "--priority" && (v == "low" || v == "normal" || v == "high")) o->priority = v;
    else if (a == "--wait" && (v == "done" || v == "poll" || v == "sync")) o->wait = v;
    else if (!num) { *err = "bad option or value: " + a + " " + v; return false; }
    else if (a == "--batch" && d >= 0) o->batch = static_cast<int>(d);
    else if (a == "--rate" && d >= 0 && d <= 1e6) o->rate = d;
    else if (a == "--seconds" && d >= 0 && d <= 86400) o->seconds = d;
    else if (a == "--count" && d >= 0 && d <= 1e8) o->count = static_cast<int>(d);
    else if (a == "--warmup" && d >= 0 && d <= 1e6) o->warmup = static_cast<int>(d);
    else if (a == "--scale" && d > 0 && d <= 1e6) o->scale = d;
    else if (a == "--fill-workgroups" && d >= 1 && d <= 1e7) o->fill_workgroups = static_cast<uint32_t>(d);
    else if (a == "--seed") o->seed = static_cast<uint64_t>(d);
    else { *err = "bad option or value: " + a + " " + v; return false; }
  }
  if (o->count == 0 && o->seconds == 0) o->count = 100;
  return true;
}

void WriteSummary(Writer* w, const std::string& key, const std::vector<double>& v) {
  hsapreempt::tools::Summary s = hsapreempt::tools::Summarize(v);
  w->Key(key).BeginObject();
  w->Field("count", static_cast<uint64_t>(s.count));
  w->Field("mean", s.mean).Field("p50", s.p50).Field("p90", s.p90).Field("p95", s.p95);
  w->Field("p99", s.p99).Field("max", s.max).Field("min", s.min);
  w->EndObject();
}

#define HIP_OR_FAIL(call)                                                                   \
  do {                                                                                      \
    hipError_t e_ = (call);                                                                 \
    if (e_ != hipSuccess) return Fail(std::string(#call) + ": " + hipGetErrorString(e_));   \
  } while (0)

struct Request {
  uint64_t release_ns = 0, submit_ns = 0, launched_ns = 0;
  uint64_t seq = 0;
  hipEvent_t done{};
};

// Waits for request `r`. done: the pass's last kernel stores r.seq into *flag (host-coherent
// memory; the stream is in order, so *flag >= seq means this pass ended) — no HIP call, so HIP's
// event path (which adds ~10-15 ms here, docs/hip.md) is not measured. poll: hipEventQuery +
// yield. sync: HIP's blocking wait. Polls yield, leaving the core to the simulated CP.
hipError_t WaitRequest(const Request& r, const std::string& how, const volatile uint64_t* flag) {
  if (how == "done") {
    while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < r.seq) std::this_thread::yield();
    return hipSuccess;
  }
  hipEvent_t e = r.done;
  if (how == "sync") return hipEventSynchronize(e);
  for (;;) {
    hipError_t r = hipEventQuery(e);
    if (r != hipErrorNotReady) return r;
    std::this_thread::yield();
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string err;
  if (!ParseArgs(argc, argv, &o, &err)) return Fail(err);
  std::vector<hsapreempt::workload::ModelTrace> traces;
  if (!hsapreempt::workload::LoadTraces(o.traces, &traces, &err)) return Fail(err);
  const auto* trace = hsapreempt::workload::FindTrace(traces, o.model, o.batch);
  if (!trace) return Fail("no trace for model " + o.model + " batch " + std::to_string(o.batch));

  hipDeviceProp_t prop;
  HIP_OR_FAIL(hipGetDeviceProperties(&prop, 0));
  const uint32_t cus = prop.multiProcessorCount > 0 ? prop.multiProcessorCount : 1;
  const uint32_t fill = o.fill_workgroups ? o.fill_workgroups : cus;
  auto plan = hsapreempt::workload::PlanReplay(*trace, o.scale, fill, cus);
  uint64_t pass_ns = 0;
  for (const auto& k : plan) pass_ns += k.modelled_ns;

  int lo = 0, hi = 0;
  HIP_OR_FAIL(hipDeviceGetStreamPriorityRange(&lo, &hi));  // lo = least urgent
  const int prio = o.priority == "high" ? hi : o.priority == "low" ? lo : (lo + hi) / 2;
  hipStream_t s;
  HIP_OR_FAIL(hipStreamCreateWithPriority(&s, hipStreamNonBlocking, prio));

  uint64_t* flag = nullptr;
  HIP_OR_FAIL(hipHostMalloc(reinterpret_cast<void**>(&flag), sizeof(uint64_t),
                            hipHostMallocCoherent));
  *flag = 0;
  const bool use_events = o.wait != "done";
  auto submit = [&](Request* r) -> hipError_t {
    r->submit_ns = NowNs();
    for (size_t i = 0; i < plan.size(); ++i) {
      hsapreempt_kernel_args a{};
      a.magic = HSAPREEMPT_KERNEL_MAGIC;
      a.workgroup_ns = plan[i].workgroup_ns;
      a.tag = i;
      if (i + 1 == plan.size()) {
        a.done_ptr = flag;
        a.done_value = r->seq;
      }
      hipLaunchKernelGGL(hsapreempt_spin, dim3(plan[i].workgroups), dim3(64), 0, s, a);
    }
    hipError_t e = hipGetLastError();
    if (e != hipSuccess) return e;
    if (use_events) e = hipEventRecord(r->done, s);
    r->launched_ns = NowNs();
    return e;
  };

  const int total = o.count > 0 ? o.count + o.warmup : 0;  // 0: until --seconds
  std::vector<double> latency, delay, host, launch;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Request> pending;
  bool releasing = true;
  hipError_t wait_error = hipSuccess;
  int seen = 0;
  // Completions in stream order (the stream is in order).
  auto record = [&](const Request& r, uint64_t now) {
    if (seen++ < o.warmup) return;
    latency.push_back(double(now - r.release_ns));
    delay.push_back(double(r.submit_ns - r.release_ns));
    host.push_back(double(now - r.submit_ns));
    launch.push_back(double(r.launched_ns - r.submit_ns));
  };
  std::thread waiter;
  if (o.rate > 0) {
    waiter = std::thread([&] {
      std::unique_lock<std::mutex> l(mu);
      for (;;) {
        cv.wait(l, [&] { return !pending.empty() || !releasing; });
        if (pending.empty()) return;
        Request r = pending.front();
        l.unlock();
        hipError_t e = WaitRequest(r, o.wait, flag);
        uint64_t now = NowNs();
        if (use_events) (void)hipEventDestroy(r.done);
        l.lock();
        if (e != hipSuccess && wait_error == hipSuccess) wait_error = e;
        pending.pop_front();
        record(r, now);
      }
    });
  }
  std::mt19937_64 rng(o.seed);
  std::exponential_distribution<double> gap(o.rate > 0 ? o.rate : 1);
  const uint64_t t0 = NowNs();
  const uint64_t stop = o.seconds > 0 ? t0 + uint64_t(o.seconds * 1e9) : UINT64_MAX;
  uint64_t next = t0;
  int released = 0;
  hipError_t submit_error = hipSuccess;
  while ((total == 0 || released < total) && next < stop) {
    Request r;
    r.seq = static_cast<uint64_t>(released) + 1;
    if (use_events && hipEventCreateWithFlags(&r.done, hipEventDisableTiming) != hipSuccess) break;
    if (o.rate > 0) {
      while (NowNs() < next) {
        uint64_t left = next - NowNs();
        if (left > 200000) std::this_thread::sleep_for(std::chrono::nanoseconds(left - 100000));
      }
      r.release_ns = next;
      next += o.arrival == "fixed" ? uint64_t(1e9 / o.rate) : uint64_t(gap(rng) * 1e9);
    } else {
      r.release_ns = NowNs();
      next = r.release_ns;
    }
    submit_error = submit(&r);
    if (submit_error != hipSuccess) break;
    ++released;
    if (o.rate > 0) {
      std::lock_guard<std::mutex> l(mu);
      pending.push_back(r);
      cv.notify_one();
    } else {
      submit_error = WaitRequest(r, o.wait, flag);
      record(r, NowNs());
      if (use_events) (void)hipEventDestroy(r.done);
      if (submit_error != hipSuccess) break;
    }
  }
  if (waiter.joinable()) {
    {
      std::lock_guard<std::mutex> l(mu);
      releasing = false;
    }
    cv.notify_one();
    waiter.join();
  }
  const double elapsed_s = (NowNs() - t0) / 1e9;
  if (submit_error != hipSuccess) return Fail(std::string("launch: ") + hipGetErrorString(submit_error));
  if (wait_error != hipSuccess) return Fail(std::string("wait: ") + hipGetErrorString(wait_error));
  (void)hipStreamDestroy(s);
  (void)hipHostFree(flag);

  const std::string sim = hsapreempt::tools::SimDescribe();
  const size_t units = latency.size();
  Writer w;
  w.BeginObject().Field("mode", "replay").Field("ok", true).Field("client", "hip");
  w.Key("config").BeginObject();
  w.Field("model", trace->model).Field("batch", trace->batch).Field("trace", o.traces);
  w.Field("scale", o.scale).Field("rate", o.rate).Field("arrival", o.arrival);
  w.Field("seconds", o.seconds).Field("count", o.count).Field("warmup", o.warmup);
  w.Field("priority", o.priority).Field("stream_priority", prio);
  w.Field("kernels_per_unit", static_cast<uint64_t>(plan.size()));
  w.Field("workgroups", fill).Field("unit_modelled_ns", pass_ns);
  w.Field("wait", o.wait);
  w.Field("latency_from", "scheduled release to host-observed completion of the pass's event");
  w.EndObject();
  w.Key("device").BeginObject();
  w.Field("name", prop.gcnArchName).Field("compute_units", cus);
  w.Field("simulated", !sim.empty()).Field("sim", sim);
  w.EndObject();
  w.Field("units", static_cast<uint64_t>(units));
  w.Field("packets", static_cast<uint64_t>(units * plan.size()));
  w.Field("elapsed_s", elapsed_s);
  w.Field("units_per_s", elapsed_s > 0 ? units / elapsed_s : 0.0);
  w.Field("packets_per_s", elapsed_s > 0 ? units * plan.size() / elapsed_s : 0.0);
  WriteSummary(&w, "latency_ns", latency);
  WriteSummary(&w, "release_delay_ns", delay);
  WriteSummary(&w, "host_ns", host);
  WriteSummary(&w, "launch_ns", launch);  // host time to issue one pass's launches
  w.EndObject();
  std::printf("%s\n", w.str().c_str());
  return 0;
}
