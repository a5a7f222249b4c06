// The three policies (contracts in policy.h). Everything here is pure: no clocks, no board.
#include "sched/policy.h"

#include <algorithm>
#include <limits>

namespace hsapreempt::sched {
namespace {

using common::PolicyChoice;

class PriorityPolicy : public Policy {
 public:
  PolicyChoice kind() const override { return PolicyChoice::kPriority; }

  void Decide(const std::vector<QueueView>& queues, uint64_t, Decision* out) const override {
    out->suspend.assign(queues.size(), false);
    out->reevaluate_at_ns = 0;
    int top = -1, highest = -1;
    for (const QueueView& q : queues) {
      if (q.has_work) top = std::max(top, q.priority);
      highest = std::max(highest, q.priority);
    }
    out->throttle.resize(queues.size());
    for (size_t i = 0; i < queues.size(); ++i) out->throttle[i] = queues[i].priority < highest;
    if (top < 0) return;  // nothing to protect: everyone may run
    for (size_t i = 0; i < queues.size(); ++i) out->suspend[i] = queues[i].priority < top;
  }

  bool BusyMayPreempt(const std::vector<QueueView>& queues, uint64_t self_id) const override {
    int self = -1;
    for (const QueueView& q : queues) {
      if (q.id == self_id) self = q.priority;
    }
    if (self < 0) return true;  // unknown: be safe
    for (const QueueView& q : queues) {
      if (q.id != self_id && q.priority < self) return true;
    }
    return false;
  }
};

double VirtualTime(const QueueView& q) {
  return static_cast<double>(q.service_ns) / static_cast<double>(std::max<uint32_t>(q.weight, 1));
}

// True if a should be preferred over b (smaller virtual time, then smaller id).
bool Before(const QueueView& a, const QueueView& b) {
  double va = VirtualTime(a), vb = VirtualTime(b);
  if (va != vb) return va < vb;
  return a.id < b.id;
}

class WeightedPolicy : public Policy {
 public:
  PolicyChoice kind() const override { return PolicyChoice::kWeighted; }

  void Decide(const std::vector<QueueView>& queues, uint64_t now_ns,
              Decision* out) const override {
    out->suspend.assign(queues.size(), false);
    out->throttle.assign(queues.size(), queues.size() > 1);
    out->reevaluate_at_ns = 0;
    constexpr size_t kNone = std::numeric_limits<size_t>::max();
    size_t busy = 0, best = kNone, cur = kNone;
    for (size_t i = 0; i < queues.size(); ++i) {
      const QueueView& q = queues[i];
      if (!q.has_work) continue;
      ++busy;
      if (best == kNone || Before(q, queues[best])) best = i;
      if (!q.suspended && (cur == kNone || Before(q, queues[cur]))) cur = i;
    }
    if (busy <= 1) return;  // work-conserving: a queue alone runs freely
    size_t run = best;
    if (cur != kNone && cur != best) {
      // The running queue keeps its slice until it is a quantum ahead of the best other one.
      const double w = std::max<uint32_t>(queues[cur].weight, 1);
      const double limit = VirtualTime(queues[best]) + kWeightedQuantumNs / w;
      const double vt = VirtualTime(queues[cur]);
      if (vt < limit) {
        run = cur;
        out->reevaluate_at_ns = now_ns + static_cast<uint64_t>((limit - vt) * w) + 1;
      }
    } else {
      // Running the best queue: it stays best until it passes the second best (plus a quantum).
      size_t second = kNone;
      for (size_t i = 0; i < queues.size(); ++i) {
        if (i == best || !queues[i].has_work) continue;
        if (second == kNone || Before(queues[i], queues[second])) second = i;
      }
      const double w = std::max<uint32_t>(queues[best].weight, 1);
      const double limit = VirtualTime(queues[second]) + kWeightedQuantumNs / w;
      out->reevaluate_at_ns =
          now_ns + static_cast<uint64_t>(std::max(0.0, limit - VirtualTime(queues[best])) * w) + 1;
    }
    for (size_t i = 0; i < queues.size(); ++i) {
      out->suspend[i] = queues[i].has_work && i != run;
    }
  }

  bool BusyMayPreempt(const std::vector<QueueView>& queues, uint64_t self_id) const override {
    for (const QueueView& q : queues) {
      if (q.id != self_id && q.has_work) return true;
    }
    return false;
  }
};

class EdfPolicy : public Policy {
 public:
  PolicyChoice kind() const override { return PolicyChoice::kEdf; }

  static uint64_t AbsoluteDeadline(const QueueView& q) {
    return q.busy_since_ns + q.deadline_us * 1000;
  }

  void Decide(const std::vector<QueueView>& queues, uint64_t, Decision* out) const override {
    out->suspend.assign(queues.size(), false);
    out->reevaluate_at_ns = 0;
    size_t with_deadline = 0;
    for (const QueueView& q : queues) with_deadline += q.deadline_us > 0;
    out->throttle.resize(queues.size());
    for (size_t i = 0; i < queues.size(); ++i) {
      out->throttle[i] = with_deadline > (queues[i].deadline_us > 0 ? 1u : 0u);
    }
    bool any = false;
    uint64_t earliest = std::numeric_limits<uint64_t>::max();
    for (const QueueView& q : queues) {
      if (q.has_work && q.deadline_us > 0) {
        any = true;
        earliest = std::min(earliest, AbsoluteDeadline(q));
      }
    }
    if (!any) return;
    for (size_t i = 0; i < queues.size(); ++i) {
      const QueueView& q = queues[i];
      const bool winner = q.has_work && q.deadline_us > 0 && AbsoluteDeadline(q) == earliest;
      out->suspend[i] = !winner;
    }
  }

  bool BusyMayPreempt(const std::vector<QueueView>& queues, uint64_t self_id) const override {
    for (const QueueView& q : queues) {
      if (q.id == self_id) return q.deadline_us > 0 && queues.size() > 1;
    }
    return true;
  }
};

}  // namespace

std::unique_ptr<Policy> MakePolicy(common::PolicyChoice choice) {
  switch (choice) {
    case PolicyChoice::kWeighted: return std::make_unique<WeightedPolicy>();
    case PolicyChoice::kEdf: return std::make_unique<EdfPolicy>();
    case PolicyChoice::kPriority: break;
  }
  return std::make_unique<PriorityPolicy>();
}

uint64_t CatchUpService(const std::vector<QueueView>& queues, size_t index) {
  bool found = false;
  double min_vt = 0;
  for (size_t i = 0; i < queues.size(); ++i) {
    if (i == index || !queues[i].has_work) continue;
    double vt = VirtualTime(queues[i]);
    if (!found || vt < min_vt) min_vt = vt;
    found = true;
  }
  const uint64_t own = queues[index].service_ns;
  if (!found) return own;
  // Keep at most one quantum of credit: a queue that idles briefly between kernels keeps what it
  // earned, one that idled for long does not come back with a claim on the GPU for all that time.
  const double target =
      min_vt * std::max<uint32_t>(queues[index].weight, 1) - static_cast<double>(kWeightedQuantumNs);
  if (target <= static_cast<double>(own)) return own;
  return static_cast<uint64_t>(target);
}

}  // namespace hsapreempt::sched
