#include "tools/support/sim_info.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <algorithm>
#include <memory>
#include <tuple>
#include <vector>

#include "hsapreempt/sim_device.h"

namespace hsapreempt::tools {
namespace {

struct Interval {
  uint64_t start, end;
};

uint64_t UnionLength(std::vector<Interval>* intervals) {
  std::sort(intervals->begin(), intervals->end(),
            [](const Interval& a, const Interval& b) { return a.start < b.start; });
  uint64_t total = 0, cur_start = 0, cur_end = 0;
  bool open = false;
  for (const auto& iv : *intervals) {
    if (!open || iv.start > cur_end) {
      if (open) total += cur_end - cur_start;
      cur_start = iv.start;
      cur_end = iv.end;
      open = true;
    } else {
      cur_end = std::max(cur_end, iv.end);
    }
  }
  if (open) total += cur_end - cur_start;
  return total;
}

using TraceReadFn = size_t (*)(uint64_t*, hsapreempt_sim_event*, size_t);

// The simulated thunk's trace reader, or null on a real GPU.
TraceReadFn TraceReader() {
  return reinterpret_cast<TraceReadFn>(dlsym(RTLD_DEFAULT, "hsapreempt_sim_trace_read"));
}

// Reads every event newer than *cursor, a batch at a time into *buf: on_batch(n, skipped), where
// `skipped` counts the events the device dropped before this batch (it moves a reader that fell
// behind to its oldest event). The ring is finite, so the loop is bounded.
template <typename OnBatch>
void ReadTrace(TraceReadFn read, uint64_t* cursor, std::vector<hsapreempt_sim_event>* buf,
               OnBatch on_batch) {
  for (int guard = 0; guard < 100000; ++guard) {
    const uint64_t before = *cursor;
    const size_t n = read(cursor, buf->data(), buf->size());
    if (n == 0) break;
    on_batch(n, *cursor - n - before);
  }
}

}  // namespace

void RemoveSimDeviceFiles(const std::string& device_name) {
  const std::string name = "hsapreempt-sim-" + std::to_string(getuid()) + "-" + device_name;
  unlink(("/dev/shm/" + name).c_str());
  std::error_code ec;  // best effort: a tree another process still writes may resist
  std::filesystem::remove_all("/tmp/" + name, ec);
}

std::string SimDescribe() {
  using Fn = const char* (*)();
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "hsapreempt_sim_describe"));
  const char* text = fn ? fn() : nullptr;
  return text ? text : "";
}

struct TraceCollector::State {
  struct Key {
    uint32_t pid, queue;
    uint64_t dispatch;
    bool operator<(const Key& o) const {
      return std::tie(pid, queue, dispatch) < std::tie(o.pid, o.queue, o.dispatch);
    }
  };
  uint32_t pid = 0;
  uint64_t since_ns = 0;
  TraceReadFn read = nullptr;
  uint64_t cursor = 0;
  bool started = false;
  TraceSummary s;
  std::map<Key, uint64_t> starts;
  std::map<Key, uint64_t> launched;  // kernel dispatches launched, not yet started
  std::map<std::pair<uint32_t, uint32_t>, std::vector<Interval>> per_queue;
  std::vector<Interval> all;
  std::vector<hsapreempt_sim_event> buf = std::vector<hsapreempt_sim_event>(4096);
};

TraceCollector::TraceCollector(uint32_t pid, uint64_t since_ns) : st_(std::make_unique<State>()) {
  st_->pid = pid;
  st_->since_ns = since_ns;
  st_->read = TraceReader();
  st_->s.available = st_->read != nullptr;
}

TraceCollector::~TraceCollector() = default;

void TraceCollector::Poll() {
  State& st = *st_;
  if (!st.read) return;
  TraceSummary& s = st.s;
  ReadTrace(st.read, &st.cursor, &st.buf, [&](size_t n, uint64_t skipped) {
    // What the device skipped was lost, except before the very first read, which starts at the
    // oldest event on purpose.
    if (st.started) s.lost_events += skipped;
    st.started = true;
    for (size_t i = 0; i < n; ++i) {
      const auto& e = st.buf[i];
      if ((st.pid && e.pid != st.pid) || e.time_ns < st.since_ns) continue;
      if (s.events == 0) s.first_ns = e.time_ns;
      s.last_ns = std::max(s.last_ns, e.time_ns);
      ++s.events;
      State::Key key{e.pid, e.queue_id, e.dispatch};
      switch (e.kind) {
        case HSAPREEMPT_SIM_EV_DISPATCH_LAUNCH:
          if (e.value > 0) st.launched[key] = e.time_ns;
          break;
        case HSAPREEMPT_SIM_EV_DISPATCH_START: {
          st.starts[key] = e.time_ns;
          auto it = st.launched.find(key);
          if (it != st.launched.end()) {
            s.launches.emplace_back(e.time_ns, it->second);
            st.launched.erase(it);
          }
          break;
        }
        case HSAPREEMPT_SIM_EV_DISPATCH_END: {
          auto& q = s.queues[{e.pid, e.queue_id}];
          ++q.dispatches;
          auto it = st.starts.find(key);
          if (it != st.starts.end()) {
            Interval iv{it->second, std::max(it->second, e.time_ns)};
            st.per_queue[{e.pid, e.queue_id}].push_back(iv);
            st.all.push_back(iv);
            st.starts.erase(it);
          }
          break;
        }
        case HSAPREEMPT_SIM_EV_RUNLIST: ++s.runlist_updates; break;
        case HSAPREEMPT_SIM_EV_PREEMPT:
          ++s.preemptions;
          s.preempt_ns.push_back(e.time_ns);
          break;
        case HSAPREEMPT_SIM_EV_RESTORE: ++s.restores; break;
        case HSAPREEMPT_SIM_EV_QUEUE_ERROR: ++s.queue_errors; break;
        default: break;
      }
    }
  });
  st.started = true;
}

TraceSummary TraceCollector::Finish() {
  Poll();
  State& st = *st_;
  for (auto& [key, intervals] : st.per_queue) st.s.queues[key].busy_ns = UnionLength(&intervals);
  st.s.device_busy_ns = UnionLength(&st.all);
  std::sort(st.s.launches.begin(), st.s.launches.end());  // for LaunchOfStart
  return st.s;
}

uint64_t LaunchOfStart(const std::vector<std::pair<uint64_t, uint64_t>>& launches, uint64_t start_ns,
                       uint64_t tolerance_ns) {
  // Sorted by start (the device traces starts in time order); the nearest start within tolerance.
  auto it = std::lower_bound(launches.begin(), launches.end(),
                             std::make_pair(start_ns > tolerance_ns ? start_ns - tolerance_ns : 0,
                                            uint64_t{0}));
  uint64_t best = 0, best_gap = UINT64_MAX;
  for (; it != launches.end() && it->first <= start_ns + tolerance_ns; ++it) {
    const uint64_t gap = it->first > start_ns ? it->first - start_ns : start_ns - it->first;
    if (gap < best_gap) {
      best_gap = gap;
      best = it->second;
    }
  }
  return best;
}

TraceSummary ReadTraceSummary(uint32_t pid, uint64_t since_ns) {
  TraceCollector c(pid, since_ns);
  return c.Finish();
}

bool DumpTrace(const std::string& path, std::string* error) {
  TraceReadFn read = TraceReader();
  if (!read) {
    *error = "no device trace (not the simulated device)";
    return false;
  }
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    *error = "cannot write " + path;
    return false;
  }
  static const char* const kNames[] = {"?",           "DISPATCH_START", "DISPATCH_END", "QUEUE_ACTIVE",
                                       "QUEUE_SUSPEND", "PREEMPT",       "RESTORE",      "RUNLIST",
                                       "CU_MASK",     "QUEUE_CREATE",   "QUEUE_DESTROY", "QUEUE_ERROR",
                                       "DISPATCH_LAUNCH"};
  std::vector<hsapreempt_sim_event> buf(4096);
  uint64_t cursor = 0;
  ReadTrace(read, &cursor, &buf, [&](size_t n, uint64_t /*skipped*/) {
    for (size_t i = 0; i < n; ++i) {
      const auto& e = buf[i];
      const char* kind = e.kind < sizeof(kNames) / sizeof(kNames[0]) ? kNames[e.kind] : "?";
      std::fprintf(f, "%llu %u %u %s %llu %llu\n", static_cast<unsigned long long>(e.time_ns), e.pid,
                   e.queue_id, kind, static_cast<unsigned long long>(e.dispatch),
                   static_cast<unsigned long long>(e.value));
    }
  });
  const bool ok = std::fclose(f) == 0;
  if (!ok) *error = "cannot write " + path;
  return ok;
}

void WriteTraceSummary(const TraceSummary& s, json::Writer* w) {
  w->BeginObject();
  w->Field("available", s.available);
  w->Field("events", s.events);
  w->Field("span_ns", s.last_ns - s.first_ns);
  w->Field("device_busy_ns", s.device_busy_ns);
  w->Field("runlist_updates", s.runlist_updates);
  w->Field("preemptions", s.preemptions);
  w->Field("restores", s.restores);
  w->Field("queue_errors", s.queue_errors);
  w->Field("lost_events", s.lost_events);
  w->Key("queues").BeginArray();
  for (const auto& [key, q] : s.queues) {
    w->BeginObject();
    w->Field("pid", key.first).Field("queue", key.second);
    w->Field("dispatches", q.dispatches).Field("busy_ns", q.busy_ns);
    w->EndObject();
  }
  w->EndArray();
  w->EndObject();
}

}  // namespace hsapreempt::tools
