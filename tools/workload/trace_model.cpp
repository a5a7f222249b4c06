#include "tools/workload/trace_model.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "tools/support/json.h"

namespace hsapreempt::workload {

double ModelTrace::SumUs() const {
  double sum = 0;
  for (const auto& k : kernels) sum += k.us;
  return sum;
}

bool ParseTraces(const std::string& json_text, std::vector<ModelTrace>* out, std::string* error) {
  namespace json = tools::json;
  json::Value root;
  if (!json::Parse(json_text, &root, error)) return false;
  if (!root.is_array()) {
    *error = "traces: top level is not an array";
    return false;
  }
  out->clear();
  for (size_t i = 0; i < root.items().size(); ++i) {
    const json::Value& entry = root.items()[i];
    const std::string where = "traces[" + std::to_string(i) + "]";
    if (!entry.is_object() || !entry.Get("model").is_string() || !entry.Get("kernels").is_array()) {
      *error = where + ": needs \"model\" (string) and \"kernels\" (array)";
      return false;
    }
    ModelTrace trace;
    trace.model = entry.Get("model").AsString();
    trace.batch = static_cast<int>(entry.Get("batch").AsNumber(0));
    trace.device = entry.Get("device").AsString();
    trace.iter_p50_ms = entry.Get("iter_ms").Get("p50").AsNumber(0);
    for (size_t k = 0; k < entry.Get("kernels").items().size(); ++k) {
      const json::Value& kv = entry.Get("kernels").items()[k];
      if (!kv.is_object() || !kv.Get("us").is_number() || !std::isfinite(kv.Get("us").AsNumber())) {
        *error = where + ".kernels[" + std::to_string(k) + "]: needs a numeric \"us\"";
        return false;
      }
      TracedKernel kernel;
      kernel.name = kv.Get("name").AsString();
      kernel.us = kv.Get("us").AsNumber();
      kernel.start_us = kv.Get("start_us").AsNumber(0);
      trace.kernels.push_back(std::move(kernel));
    }
    out->push_back(std::move(trace));
  }
  return true;
}

bool LoadTraces(const std::string& path, std::vector<ModelTrace>* out, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read " + path;
    return false;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  if (!ParseTraces(buf.str(), out, error)) {
    *error = path + ": " + *error;
    return false;
  }
  return true;
}

const ModelTrace* FindTrace(const std::vector<ModelTrace>& traces, const std::string& model,
                            int batch) {
  for (const auto& t : traces) {
    if (t.model == model && (batch <= 0 || t.batch == batch)) return &t;
  }
  return nullptr;
}

uint64_t WorkgroupNsFor(uint64_t duration_ns, uint32_t workgroups, uint32_t slots) {
  if (workgroups == 0) workgroups = 1;
  if (slots == 0) slots = 1;
  uint64_t rounds = (workgroups + slots - 1) / slots;
  return (duration_ns + rounds - 1) / rounds;
}

std::vector<PlannedKernel> PlanReplay(const ModelTrace& trace, double scale,
                                      uint32_t fill_workgroups, uint32_t slots) {
  if (!(scale > 0) || !std::isfinite(scale)) scale = 1;
  if (fill_workgroups == 0) fill_workgroups = 1;
  if (slots == 0) slots = 1;
  const uint64_t rounds = (fill_workgroups + slots - 1) / slots;
  std::vector<PlannedKernel> plan;
  plan.reserve(trace.kernels.size());
  for (const auto& k : trace.kernels) {
    double ns = std::llround(k.us * 1000.0 * scale);
    PlannedKernel p;
    p.workgroups = fill_workgroups;
    uint64_t duration = ns >= 1 ? static_cast<uint64_t>(ns) : 1;
    p.workgroup_ns = WorkgroupNsFor(duration, fill_workgroups, slots);
    p.modelled_ns = rounds * p.workgroup_ns;
    plan.push_back(p);
  }
  return plan;
}

}  // namespace hsapreempt::workload
