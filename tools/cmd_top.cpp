// `hsapreempt top`: the board as a live table (or one snapshot, or JSON) for people and scripts.
// Read-only: it never writes the board, so it cannot disturb running programs.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "sched/board.h"
#include "tools/command.h"
#include "tools/sched_cli.h"
#include "tools/support/json.h"

namespace hsapreempt::tools {
namespace {

constexpr const char* kUsage =
    "usage: hsapreempt top [--once] [--json] [--interval MS] [--board NAME]\n"
    "Shows the processes and queues on a scheduling board: priority, weight, deadline, lever,\n"
    "state, packets held and in flight, preemptions and recent scheduling latency.\n"
    "  --once          print one snapshot and exit\n"
    "  --json          machine-readable snapshot(s), one JSON document per line\n"
    "  --interval MS   refresh period, 50..60000 (default 1000)\n"
    "  --board NAME    board to show (default: HSAPREEMPT_BOARD or 'gpu')\n";

struct Snapshot {
  std::string path;
  uint32_t policy = 0;
  bool policy_set = false;
  uint32_t generation = 0;
  struct Proc {
    int32_t pid;
    std::string comm;
    bool alive;
    uint64_t heartbeat_age_ms;
  };
  std::vector<Proc> procs;
  std::vector<sched::BoardQueue> queues;
};

Snapshot Take(sched::Board* board) {
  using sched::Load;
  Snapshot s;
  s.path = board->path();
  s.policy = board->policy();
  s.policy_set = Load(board->header()->policy_set) != 0;
  s.generation = board->generation();
  const uint64_t now = common::MonotonicRawNs();
  for (uint32_t i = 0; i < sched::kBoardMaxProcs; ++i) {
    const sched::BoardProc* p = board->proc(i);
    const int32_t pid = Load(p->pid);
    if (pid <= 0) continue;
    char comm[sizeof(p->comm) + 1] = {};
    for (size_t k = 0; k < sizeof(p->comm); ++k) comm[k] = p->comm[k];
    const uint64_t beat = Load(p->heartbeat_ns);
    s.procs.push_back({pid, comm, kill(pid, 0) == 0 || errno == EPERM,
                       now > beat ? (now - beat) / 1000000 : 0});
  }
  for (uint32_t i = 0; i < sched::kBoardMaxQueues; ++i) {
    sched::BoardQueue q;
    const sched::BoardQueue* e = board->queue(i);
    q.id = Load(e->id);
    if (q.id == 0) continue;
    q.owner_pid = Load(e->owner_pid);
    q.proc_slot = Load(e->proc_slot);
    q.priority = Load(e->priority);
    q.weight = Load(e->weight);
    q.deadline_us = Load(e->deadline_us);
    q.has_work = Load(e->has_work);
    q.suspended = Load(e->suspended);
    q.lever = Load(e->lever);
    q.service_ns = Load(e->service_ns);
    q.held = Load(e->held);
    q.in_flight = Load(e->in_flight);
    q.submitted = Load(e->submitted);
    q.preemptions = Load(e->preemptions);
    q.latency_us = Load(e->latency_us);
    s.queues.push_back(q);
  }
  return s;
}

std::string ToJson(const Snapshot& s) {
  json::Writer w;
  w.BeginObject().Field("board", s.path).Field("policy", PolicyLabel(s.policy));
  w.Field("policy_set", s.policy_set).Field("generation", uint64_t{s.generation});
  w.Key("processes").BeginArray();
  for (const auto& p : s.procs) {
    w.BeginObject().Field("pid", int64_t{p.pid}).Field("comm", p.comm).Field("alive", p.alive);
    w.Field("heartbeat_age_ms", p.heartbeat_age_ms).EndObject();
  }
  w.EndArray().Key("queues").BeginArray();
  for (const auto& q : s.queues) {
    w.BeginObject().Field("id", q.id).Field("pid", int64_t{q.owner_pid});
    w.Field("priority", int64_t{q.priority}).Field("weight", uint64_t{q.weight});
    w.Field("deadline_us", q.deadline_us).Field("lever", LeverLabel(q.lever));
    w.Field("has_work", q.has_work != 0).Field("suspended", q.suspended != 0);
    w.Field("held", q.held).Field("in_flight", q.in_flight).Field("submitted", q.submitted);
    w.Field("preemptions", q.preemptions).Field("latency_us", q.latency_us);
    w.Field("service_ms", static_cast<double>(q.service_ns) / 1e6).EndObject();
  }
  w.EndArray().EndObject();
  return w.str();
}

void PrintTable(const Snapshot& s, FILE* out) {
  std::fprintf(out, "board %s  policy %s%s  generation %u  processes %zu  queues %zu\n\n",
               s.path.c_str(), PolicyLabel(s.policy), s.policy_set ? "" : " (default)",
               s.generation, s.procs.size(), s.queues.size());
  std::fprintf(out, "%8s %-15s %5s %9s\n", "PID", "COMMAND", "ALIVE", "BEAT_MS");
  for (const auto& p : s.procs) {
    std::fprintf(out, "%8d %-15s %5s %9llu\n", p.pid, p.comm.c_str(), p.alive ? "yes" : "NO",
                 static_cast<unsigned long long>(p.heartbeat_age_ms));
  }
  std::fprintf(out, "\n%6s %8s %4s %6s %10s %-10s %-9s %8s %8s %10s %7s %9s\n", "QUEUE", "PID",
               "PRIO", "WEIGHT", "DEADLN_US", "LEVER", "STATE", "HELD", "INFLIGHT", "SUBMITTED",
               "PREEMPT", "LAT_US");
  for (const auto& q : s.queues) {
    const char* state = q.suspended ? (q.has_work ? "held" : "suspended")
                                    : (q.has_work ? "running" : "idle");
    std::fprintf(out, "%6llu %8d %4d %6u %10llu %-10s %-9s %8llu %8llu %10llu %7llu %9llu\n",
                 static_cast<unsigned long long>(q.id), q.owner_pid, q.priority, q.weight,
                 static_cast<unsigned long long>(q.deadline_us), LeverLabel(q.lever), state,
                 static_cast<unsigned long long>(q.held),
                 static_cast<unsigned long long>(q.in_flight),
                 static_cast<unsigned long long>(q.submitted),
                 static_cast<unsigned long long>(q.preemptions),
                 static_cast<unsigned long long>(q.latency_us));
  }
}

int Top(const std::vector<std::string>& args) {
  bool once = false, as_json = false;
  long long interval_ms = 1000;
  std::string board_name = DefaultBoardName();
  for (size_t i = 0; i < args.size(); ++i) {
    std::string v;
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (args[i] == "--once") {
      once = true;
    } else if (args[i] == "--json") {
      as_json = true;
    } else if (TakeFlag(args, &i, "--interval", &v)) {
      if (!ParseIntIn(v, 50, 60000, &interval_ms)) {
        std::fprintf(stderr, "hsapreempt top: bad --interval '%s' (expected 50..60000 ms)\n",
                     v.c_str());
        return kExitUsage;
      }
    } else if (TakeFlag(args, &i, "--board", &v)) {
      board_name = v;
    } else {
      std::fprintf(stderr, "hsapreempt top: unknown argument '%s' (see --help)\n",
                   args[i].c_str());
      return kExitUsage;
    }
  }
  std::unique_ptr<sched::Board> board;
  common::Status st = sched::Board::OpenShared(board_name, /*create=*/false, &board);
  if (!st.ok()) {
    std::fprintf(stderr, "hsapreempt top: %s\n", st.message().c_str());
    return st.code() == common::Status::Code::kInvalidArgument && !sched::Board::ValidName(board_name)
               ? kExitUsage
               : kExitFailed;
  }
  const bool tty = isatty(STDOUT_FILENO) != 0;
  for (;;) {
    Snapshot s = Take(board.get());
    if (as_json) {
      std::printf("%s\n", ToJson(s).c_str());
    } else {
      if (!once && tty) std::fputs("\x1b[H\x1b[2J", stdout);  // home + clear: plain ANSI
      PrintTable(s, stdout);
      if (!once && !tty) std::fputs("\n", stdout);
    }
    std::fflush(stdout);
    if (once) return kExitOk;
    usleep(static_cast<useconds_t>(interval_ms * 1000));
  }
}

}  // namespace

HSAPREEMPT_COMMAND("top", "live table of the scheduling board (--once, --json)", Top);

}  // namespace hsapreempt::tools
