// `hsapreempt set` (change a process's or a queue's scheduling attributes on the board) and
// `hsapreempt policy` (show or switch the board-wide policy). Both validate everything before
// writing, so bad input never reaches a running program; the owning scheduler applies a change
// at its next evaluation (woken by the generation bump).
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "sched/board.h"
#include "tools/command.h"
#include "tools/sched_cli.h"

namespace hsapreempt::tools {
namespace {

using sched::Load;
using sched::Store;

constexpr const char* kSetUsage =
    "usage: hsapreempt set PID|qID [--priority N] [--weight W] [--deadline-us D] [--board NAME]\n"
    "Changes the scheduling attributes of every queue of process PID, or of one queue (qID, the\n"
    "QUEUE column of `hsapreempt top`, e.g. q17). The owning process applies the change at once.\n"
    "  --priority N       0..99, higher runs first\n"
    "  --weight W         1..1000 (weighted policy)\n"
    "  --deadline-us D    0..60000000 (edf policy; 0: none)\n"
    "  --board NAME       board (default: HSAPREEMPT_BOARD or 'gpu')\n";

constexpr const char* kPolicyUsage =
    "usage: hsapreempt policy [priority|weighted|edf] [--board NAME]\n"
    "Shows the board's scheduling policy, or switches it for every program on the board (the\n"
    "board is created if no program has used it yet, so the choice holds for the next ones).\n";

int Fail(const char* cmd, const std::string& msg, int code) {
  std::fprintf(stderr, "hsapreempt %s: %s\n", cmd, msg.c_str());
  return code;
}

int OpenBoard(const char* cmd, const std::string& name, bool create,
              std::unique_ptr<sched::Board>* board) {
  if (!sched::Board::ValidName(name)) {
    return Fail(cmd, "bad --board '" + name + "' (expected 1-64 characters of [A-Za-z0-9_.-])",
                kExitUsage);
  }
  common::Status st = sched::Board::OpenShared(name, create, board);
  if (!st.ok()) return Fail(cmd, st.message(), kExitFailed);
  return kExitOk;
}

int Set(const std::vector<std::string>& args) {
  std::string target, board_name = DefaultBoardName();
  long long priority = -1, weight = -1, deadline = -1;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string v;
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kSetUsage, stdout);
      return kExitOk;
    } else if (TakeFlag(args, &i, "--priority", &v)) {
      if (!ParseIntIn(v, 0, 99, &priority)) {
        return Fail("set", "bad --priority '" + v + "' (expected 0..99)", kExitUsage);
      }
    } else if (TakeFlag(args, &i, "--weight", &v)) {
      if (!ParseIntIn(v, 1, 1000, &weight)) {
        return Fail("set", "bad --weight '" + v + "' (expected 1..1000)", kExitUsage);
      }
    } else if (TakeFlag(args, &i, "--deadline-us", &v)) {
      if (!ParseIntIn(v, 0, 60000000, &deadline)) {
        return Fail("set", "bad --deadline-us '" + v + "' (expected 0..60000000)", kExitUsage);
      }
    } else if (TakeFlag(args, &i, "--board", &v)) {
      board_name = v;
    } else if (!args[i].empty() && args[i][0] != '-' && target.empty()) {
      target = args[i];
    } else {
      return Fail("set", "unexpected argument '" + args[i] + "' (see --help)", kExitUsage);
    }
  }
  if (target.empty()) return Fail("set", "which PID or queue? (see --help)", kExitUsage);
  if (priority < 0 && weight < 0 && deadline < 0) {
    return Fail("set", "nothing to set: give --priority, --weight or --deadline-us", kExitUsage);
  }
  long long pid = 0, qid = 0;
  const bool by_queue = target[0] == 'q';
  if (by_queue ? !ParseIntIn(target.substr(1), 1, INT64_MAX, &qid)
               : !ParseIntIn(target, 1, INT32_MAX, &pid)) {
    return Fail("set", "bad target '" + target + "' (expected a PID or qID, e.g. 1234 or q17)",
                kExitUsage);
  }
  std::unique_ptr<sched::Board> board;
  if (int rc = OpenBoard("set", board_name, false, &board); rc != kExitOk) return rc;
  if (!by_queue && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
    return Fail("set", "no process " + target, kExitFailed);
  }
  int changed = 0;
  for (uint32_t i = 0; i < sched::kBoardMaxQueues; ++i) {
    sched::BoardQueue* q = board->queue(i);
    const uint64_t id = Load(q->id);
    if (id == 0) continue;
    if (by_queue ? id != static_cast<uint64_t>(qid) : Load(q->owner_pid) != pid) continue;
    if (priority >= 0) Store(q->priority, static_cast<int32_t>(priority));
    if (weight >= 0) Store(q->weight, static_cast<uint32_t>(weight));
    if (deadline >= 0) Store(q->deadline_us, static_cast<uint64_t>(deadline));
    __atomic_add_fetch(&q->attr_seq, 1u, __ATOMIC_SEQ_CST);
    ++changed;
  }
  if (changed == 0) {
    return Fail("set",
                (by_queue ? "no queue " + target : "process " + target + " has no queue") +
                    " on board " + board->path(),
                kExitFailed);
  }
  board->BumpAndWake();
  std::printf("%s: %d queue%s updated\n", target.c_str(), changed, changed == 1 ? "" : "s");
  return kExitOk;
}

int Policy(const std::vector<std::string>& args) {
  std::string choice, board_name = DefaultBoardName();
  for (size_t i = 0; i < args.size(); ++i) {
    std::string v;
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kPolicyUsage, stdout);
      return kExitOk;
    } else if (TakeFlag(args, &i, "--board", &v)) {
      board_name = v;
    } else if (!args[i].empty() && args[i][0] != '-' && choice.empty()) {
      choice = args[i];
    } else {
      return Fail("policy", "unexpected argument '" + args[i] + "' (see --help)", kExitUsage);
    }
  }
  common::PolicyChoice policy = common::PolicyChoice::kPriority;
  if (!choice.empty() && !common::ParsePolicy(choice, &policy)) {
    return Fail("policy", "unknown policy '" + choice + "' (expected priority|weighted|edf)",
                kExitUsage);
  }
  std::unique_ptr<sched::Board> board;
  if (int rc = OpenBoard("policy", board_name, /*create=*/!choice.empty(), &board); rc != kExitOk) {
    return rc;
  }
  if (!choice.empty()) {
    Store(board->header()->policy_set, 1u);
    Store(board->header()->policy, static_cast<uint32_t>(policy));
    board->BumpAndWake();
  }
  const bool set = Load(board->header()->policy_set) != 0;
  std::printf("%s%s\n", PolicyLabel(board->policy()), set ? "" : " (default)");
  return kExitOk;
}

}  // namespace

HSAPREEMPT_COMMAND("set", "change a process's or queue's priority/weight/deadline on the board",
                   Set);
HSAPREEMPT_COMMAND("policy", "show or switch the board's policy (priority|weighted|edf)", Policy);

}  // namespace hsapreempt::tools
