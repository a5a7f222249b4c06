#include "tools/workload/options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace hsapreempt::workload {
namespace {

bool ToDouble(const std::string& s, double lo, double hi, double* out) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno != 0 || !std::isfinite(v) || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool ToInt(const std::string& s, int64_t lo, int64_t hi, int64_t* out) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0 || v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kSpin: return "spin";
    case Mode::kProbe: return "probe";
    case Mode::kReplay: return "replay";
  }
  return "?";
}

const char* UsageText() {
  return "usage: hsapreempt-workload spin|probe|replay [flags]\n"
         "  kernels:  --duration-us D  --workgroup-ns T  --workgroups W  --workgroup-size S\n"
         "            --kernels-per-unit K (spin)\n"
         "  stream:   --queues N  --count N  --seconds S  --rate R  --arrival fixed|poisson\n"
         "            --inflight K  --warmup N  --priority low|normal|high  --seed N\n"
         "            --no-barrier  --queue-size N  --timeout-s S  --wait hsa|yield|sleep\n"
         "  replay:   --traces FILE  --model NAME  --batch B  --scale X  --fill-workgroups W | --fill-rounds R\n"
         "  output:   --samples  --trace  --trace-dump FILE\n"
         "Prints one JSON object on stdout (tools/workload/README.md).\n";
}

bool ParseOptions(const std::vector<std::string>& args, Options* o, bool* help,
                  std::string* error) {
  *help = false;
  if (args.empty()) {
    *error = "missing mode (spin, probe or replay)";
    return false;
  }
  if (args[0] == "--help" || args[0] == "-h") {
    *help = true;
    return true;
  }
  if (args[0] == "spin") o->mode = Mode::kSpin;
  else if (args[0] == "probe") o->mode = Mode::kProbe;
  else if (args[0] == "replay") o->mode = Mode::kReplay;
  else {
    *error = "unknown mode '" + args[0] + "' (spin, probe or replay)";
    return false;
  }
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--help" || flag == "-h") {
      *help = true;
      return true;
    }
    if (flag == "--samples") { o->samples = true; continue; }
    if (flag == "--trace") { o->trace = true; continue; }
    if (flag == "--no-barrier") { o->barrier = false; continue; }
    if (i + 1 >= args.size()) {
      *error = "flag " + flag + " needs a value (or is unknown)";
      return false;
    }
    const std::string& v = args[++i];
    bool ok = true;
    int64_t n = 0;
    double d = 0;
    if (flag == "--duration-us") ok = ToDouble(v, 0, 60e6, &o->duration_us);
    else if (flag == "--workgroup-ns") ok = ToInt(v, 0, 60000000000ll, &o->workgroup_ns);
    else if (flag == "--workgroups") ok = ToInt(v, 1, 1 << 24, &o->workgroups);
    else if (flag == "--kernels-per-unit") ok = ToInt(v, 1, 4096, &o->kernels_per_unit);
    else if (flag == "--workgroup-size") {
      ok = ToInt(v, 1, 1024, &n);
      o->workgroup_size = static_cast<uint32_t>(n);
    } else if (flag == "--queues") {
      ok = ToInt(v, 1, 64, &n);
      o->queues = static_cast<uint32_t>(n);
    } else if (flag == "--count") ok = ToInt(v, 1, 100000000, &o->count);
    else if (flag == "--seconds") ok = ToDouble(v, 0.001, 86400, &o->seconds);
    else if (flag == "--rate") ok = ToDouble(v, 0, 10e6, &o->rate);
    else if (flag == "--arrival") {
      ok = v == "fixed" || v == "poisson";
      o->arrival = v == "poisson" ? Arrival::kPoisson : Arrival::kFixed;
      o->arrival_set = true;
    } else if (flag == "--inflight") ok = ToInt(v, 1, 65536, &o->inflight);
    else if (flag == "--warmup") ok = ToInt(v, 0, 1000000, &o->warmup);
    else if (flag == "--priority") {
      ok = v == "low" || v == "normal" || v == "high";
      o->priority = v;
    } else if (flag == "--seed") {
      ok = ToInt(v, 0, INT64_MAX, &n);
      o->seed = static_cast<uint64_t>(n);
    } else if (flag == "--queue-size") {
      ok = ToInt(v, 64, 1 << 20, &n) && (n & (n - 1)) == 0;
      o->queue_size = static_cast<uint32_t>(n);
    } else if (flag == "--timeout-s") ok = ToDouble(v, 0.1, 86400, &o->timeout_s);
    else if (flag == "--wait") {
      ok = v == "hsa" || v == "yield" || v == "sleep";
      o->wait = v;
    } else if (flag == "--traces") o->traces = v;
    else if (flag == "--trace-dump") o->trace_dump = v;
    else if (flag == "--model") o->model = v;
    else if (flag == "--batch") {
      ok = ToInt(v, 0, 1 << 20, &n);
      o->batch = static_cast<int>(n);
    } else if (flag == "--scale") {
      ok = ToDouble(v, 1e-6, 1e6, &d);
      o->scale = d;
    } else if (flag == "--fill-workgroups") ok = ToInt(v, 1, 1 << 24, &o->fill_workgroups);
    else if (flag == "--fill-rounds") ok = ToInt(v, 1, 4096, &o->fill_rounds);
    else {
      *error = "unknown flag " + flag;
      return false;
    }
    if (!ok) {
      *error = "bad value '" + v + "' for " + flag;
      return false;
    }
  }
  if (o->fill_workgroups > 0 && o->fill_rounds > 0) {
    *error = "--fill-workgroups and --fill-rounds exclude each other";
    return false;
  }
  if (!o->arrival_set && o->mode != Mode::kSpin) o->arrival = Arrival::kPoisson;
  if (o->duration_us < 0) o->duration_us = o->mode == Mode::kProbe ? 10 : 1000;
  if (o->count < 0 && o->seconds == 0) o->count = 100;
  if (o->inflight < 0) o->inflight = (o->mode == Mode::kReplay && o->rate == 0) ? 1 : 64;
  if (o->mode == Mode::kProbe && o->rate == 0) o->rate = 1000;  // probes are sparse by nature
  return true;
}

}  // namespace hsapreempt::workload
