#include "tools/workload/stream.h"

#include <sched.h>
#include <time.h>

#include <deque>
#include <random>

namespace hsapreempt::workload {
namespace ts = hsapreempt::testsupport;
namespace {

// Sleeps until system timestamp `target_ns` (coarse sleep, then a short spin for precision).
void SleepUntil(const ts::HsaSystem& sys, uint64_t target_ns) {
  for (;;) {
    uint64_t now = ts::SystemTimestampNs(sys);
    if (now >= target_ns) return;
    uint64_t left = target_ns - now;
    if (left > 200000) {
      uint64_t nap = left - 100000;
      timespec req{static_cast<time_t>(nap / 1000000000ull), static_cast<long>(nap % 1000000000ull)};
      nanosleep(&req, nullptr);
    } else if (left > 20000) {
      sched_yield();  // on a small machine, leave the core to the simulated CP while we wait
    }
  }
}

struct Outstanding {
  size_t unit;
  size_t signal;
};

}  // namespace

StreamResult RunStream(const ts::HsaSystem& sys, hsa_queue_t* queue, const ts::Kernel& kernel,
                       const StreamConfig& cfg) {
  StreamResult result;
  if (cfg.unit.empty() || cfg.inflight == 0) {
    result.error = "empty unit or inflight 0";
    return result;
  }
  const size_t per_unit = cfg.unit.size();
  ts::KernargRing kernargs;
  const size_t kernarg_bytes = kernel.kernarg_size > 64 ? kernel.kernarg_size : 64;
  // Every kernel of the window's units, twice over: a block is reused only after the unit that
  // used it was harvested (complete), so a kernel never sees its arguments overwritten.
  const size_t slots = (cfg.inflight + 1) * per_unit * 2;
  if (slots > (size_t{1} << 22)) {
    result.error = "inflight x kernels per unit too large (kernarg blocks > 4M)";
    return result;
  }
  if (!kernargs.Init(sys, slots, kernarg_bytes)) {
    result.error = "kernarg ring: " + ts::LastError();
    return result;
  }
  std::vector<hsa_signal_t> signals(cfg.inflight);
  for (auto& s : signals) {
    if (hsa_signal_create(1, 0, nullptr, &s) != HSA_STATUS_SUCCESS) {
      result.error = "hsa_signal_create failed";
      for (auto& c : signals) {
        if (c.handle) hsa_signal_destroy(c);
      }
      return result;
    }
  }
  std::deque<Outstanding> window;
  std::vector<size_t> free_signals;
  for (size_t i = cfg.inflight; i > 0; --i) free_signals.push_back(i - 1);

  auto harvest_oldest = [&]() -> bool {
    Outstanding o = window.front();
    window.pop_front();
    hsa_signal_t sig = signals[o.signal];
    if (!ts::WaitSignalBelow(sig, 1, cfg.timeout_s, cfg.wait)) {
      result.error = "unit " + std::to_string(o.unit) + " did not complete: " + ts::LastError();
      return false;
    }
    UnitRecord& r = result.units[o.unit];
    r.done_ns = ts::SystemTimestampNs(sys);
    if (!ts::DispatchTimeNs(sys, sig, &r.start_ns, &r.end_ns)) {
      result.error = ts::LastError();
      return false;
    }
    hsa_signal_store_relaxed(sig, 1);
    free_signals.push_back(o.signal);
    return true;
  };

  std::mt19937_64 rng(cfg.seed);
  std::exponential_distribution<double> gap(cfg.rate > 0 ? cfg.rate : 1.0);
  double next_release_s = 0;  // offset from t0
  const uint64_t t0 = cfg.t0_ns ? cfg.t0_ns : ts::SystemTimestampNs(sys);
  const uint64_t stop_ns = cfg.seconds > 0 ? t0 + static_cast<uint64_t>(cfg.seconds * 1e9) : 0;
  bool ok = true;
  for (int64_t i = 0; ok && (cfg.count <= 0 || i < cfg.count); ++i) {
    uint64_t release = 0;
    if (cfg.rate > 0) {
      release = t0 + static_cast<uint64_t>(next_release_s * 1e9);
      next_release_s += cfg.poisson ? gap(rng) : 1.0 / cfg.rate;
      if (stop_ns && release >= stop_ns) break;
    }
    while (ok && window.size() >= cfg.inflight) ok = harvest_oldest();
    if (!ok) break;
    if (cfg.rate > 0) {
      SleepUntil(sys, release);
    } else {
      release = ts::SystemTimestampNs(sys);
      if (stop_ns && release >= stop_ns) break;
    }
    UnitRecord record;
    record.release_ns = release;
    record.submit_ns = ts::SystemTimestampNs(sys);
    result.units.push_back(record);
    size_t sig = free_signals.back();
    free_signals.pop_back();
    for (size_t k = 0; k < per_unit; ++k) {
      void* args = kernargs.Next();
      ts::FillSpinArgs(args, kernel.kernarg_size, cfg.unit[k].workgroup_ns,
                       (static_cast<uint64_t>(i) << 16) | k);
      ts::DispatchConfig d;
      d.workgroups = cfg.unit[k].workgroups;
      d.workgroup_size = cfg.workgroup_size;
      d.barrier = cfg.barrier;
      d.completion = k + 1 == per_unit ? signals[sig] : hsa_signal_t{0};
      d.full_timeout_s = cfg.timeout_s;
      if (ts::SubmitDispatch(queue, kernel, args, d) == UINT64_MAX) {
        result.error = "submit: " + ts::LastError();
        ok = false;
        break;
      }
      ++result.packets;
    }
    if (ok) {
      result.units.back().published_ns = ts::SystemTimestampNs(sys);
      window.push_back({result.units.size() - 1, sig});
    }
  }
  while (ok && !window.empty()) ok = harvest_oldest();
  // On failure, outstanding packets may still reference the signals: leave them (the process is
  // about to report the error and exit; destroying signals the CP still writes would be worse).
  if (ok) {
    for (auto& s : signals) hsa_signal_destroy(s);
  }
  result.ok = ok;
  return result;
}

}  // namespace hsapreempt::workload
