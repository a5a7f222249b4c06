// The scheduler's CLI commands (run, top, set, policy) against a live scheduler in this process
// (fake queues) and against broken input: exit codes, messages, and what reaches the programs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "sched/board.h"
#include "sched/scheduler_internal.h"
#include "sched/testing/fake_xqueue.h"
#include "tests/sched/test_util.h"
#include "tools/support/json.h"
#include "tools/support/subprocess.h"

namespace hsapreempt::sched {
namespace {

using testing::FakeXQueue;
using testing::ScopedBoardName;
using testing::WaitFor;
using tools::RunResult;

RunResult Cli(std::vector<std::string> args) {
  args.insert(args.begin(), HSAPREEMPT_CLI);
  tools::RunOptions o;
  o.timeout_s = 30;
  return tools::RunProcess(args, o);
}

TEST(CliRunTest, PassesOptionsToTheProgramsEnvironment) {
  RunResult r = Cli({"run", "--priority", "70", "--weight=3", "--deadline-us", "500", "--policy",
                     "edf", "--level", "1", "--board", "bx", "--", "/usr/bin/env"});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  for (const char* want : {"HSAPREEMPT_PRIORITY=70\n", "HSAPREEMPT_WEIGHT=3\n",
                           "HSAPREEMPT_DEADLINE_US=500\n", "HSAPREEMPT_POLICY=edf\n",
                           "HSAPREEMPT_LEVEL=1\n", "HSAPREEMPT_BOARD=bx\n"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want;
  }
  const size_t lib = r.out.find("HSA_TOOLS_LIB=");
  ASSERT_NE(lib, std::string::npos);
  EXPECT_NE(r.out.find("libhsapreempt.so", lib), std::string::npos);
}

TEST(CliRunTest, BadValuesAreRejectedBeforeAnythingRuns) {
  const std::string marker = "/tmp/hsapreempt-cli-test-" + std::to_string(getpid());
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"--priority", "100"}, {"--priority", "x"}, {"--priority"},
        {"--weight", "0"}, {"--deadline-us", "-1"}, {"--policy", "fifo"}, {"--level", "3"},
        {"--board", "a/b"}, {"--bogus"}}) {
    std::vector<std::string> args{"run"};
    args.insert(args.end(), bad.begin(), bad.end());
    args.insert(args.end(), {"--", "/usr/bin/touch", marker});
    RunResult r = Cli(args);
    EXPECT_TRUE(r.exited && r.exit_code == 2) << bad[0] << ": " << r.Describe();
    EXPECT_NE(r.err.find("hsapreempt run:"), std::string::npos) << r.err;
    EXPECT_NE(access(marker.c_str(), F_OK), 0) << "the program ran despite " << bad[0];
  }
  RunResult r = Cli({"run", "--priority", "5"});
  EXPECT_TRUE(r.exited && r.exit_code == 2) << r.Describe();
  r = Cli({"run", "--", "/nonexistent/program"});
  EXPECT_TRUE(r.exited && r.exit_code == 1) << r.Describe();
  EXPECT_NE(r.err.find("cannot run"), std::string::npos) << r.err;
  unlink(marker.c_str());
}

class CliBoardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    common::Config c;
    c.board = board_.name();
    c.l2_hysteresis_us = 0;
    ASSERT_TRUE(sched_->Start(c, 0).ok());
    ASSERT_TRUE(sched_->board_shared());
    QueueAttrs pa, pb;
    pa.priority = 50;
    pb.priority = 40;
    sched_->AddQueue(&a_, pa);
    sched_->AddQueue(&b_, pb);
    sched_->OnBusy(&a_);
    sched_->OnBusy(&b_);
    ASSERT_TRUE(WaitFor([&] { return b_.suspended() && !a_.suspended(); }));
  }
  void TearDown() override { sched_->Stop(); }

  tools::json::Value TopJson() {
    RunResult r = Cli({"top", "--once", "--json", "--board", board_.name()});
    EXPECT_TRUE(r.ok()) << r.Describe() << r.err;
    tools::json::Value v;
    std::string err;
    EXPECT_TRUE(tools::json::Parse(r.out, &v, &err)) << err << r.out;
    return v;
  }

  ScopedBoardName board_;
  std::unique_ptr<InspectableScheduler> sched_ = NewScheduler();
  FakeXQueue a_, b_;
};

TEST_F(CliBoardTest, TopShowsProcessesAndQueues) {
  tools::json::Value v = TopJson();
  EXPECT_EQ(v.Get("policy").AsString(), "priority");
  ASSERT_EQ(v.Get("processes").items().size(), 1u);
  EXPECT_EQ(v.Get("processes").items()[0].Get("pid").AsNumber(), getpid());
  const auto& queues = v.Get("queues").items();
  ASSERT_EQ(queues.size(), 2u);
  for (const auto& q : queues) {
    const bool low = q.Get("priority").AsNumber() == 40;
    EXPECT_EQ(q.Get("suspended").AsBool(), low);
    EXPECT_TRUE(q.Get("has_work").AsBool());
    EXPECT_EQ(q.Get("preemptions").AsNumber(), low ? 1 : 0);
  }
  RunResult r = Cli({"top", "--once", "--board", board_.name()});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_NE(r.out.find("held"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("running"), std::string::npos) << r.out;
}

TEST_F(CliBoardTest, SetChangesPrioritiesAndTheOwnerApplies) {
  uint64_t low_id = 0;
  const tools::json::Value top = TopJson();
  for (const auto& q : top.Get("queues").items()) {
    if (q.Get("priority").AsNumber() == 40) low_id = static_cast<uint64_t>(q.Get("id").AsNumber());
  }
  ASSERT_NE(low_id, 0u);
  RunResult r = Cli({"set", "q" + std::to_string(low_id), "--priority", "70", "--board",
                     board_.name()});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  EXPECT_TRUE(WaitFor([&] { return a_.suspended() && !b_.suspended(); }));
  r = Cli({"set", std::to_string(getpid()), "--priority", "20", "--board", board_.name()});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  EXPECT_NE(r.out.find("2 queues"), std::string::npos) << r.out;
  EXPECT_TRUE(WaitFor([&] { return !a_.suspended() && !b_.suspended(); }));
}

TEST_F(CliBoardTest, BadSetRequestsChangeNothing) {
  const std::string self = std::to_string(getpid());
  struct Case {
    std::vector<std::string> args;
    int code;
  };
  for (const Case& c : std::vector<Case>{
           {{"set", self, "--priority", "100"}, 2},
           {{"set", self, "--priority", "-3"}, 2},
           {{"set", self}, 2},
           {{"set", "--priority", "5"}, 2},
           {{"set", "x12", "--priority", "5"}, 2},
           {{"set", "999999999", "--priority", "5"}, 1},
           {{"set", "q999999", "--priority", "5"}, 1},
           {{"set", "1", "--priority", "5"}, 1},  // alive, but has no queue on this board
       }) {
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"--board", board_.name()});
    RunResult r = Cli(args);
    EXPECT_TRUE(r.exited && r.exit_code == c.code) << args[1] << ": " << r.Describe() << r.err;
    EXPECT_NE(r.err.find("hsapreempt set:"), std::string::npos) << r.err;
  }
  RunResult r = Cli({"set", self, "--priority", "5", "--board", "nosuch-board-x"});
  EXPECT_TRUE(r.exited && r.exit_code == 1) << r.Describe();
  EXPECT_NE(r.err.find("no board"), std::string::npos) << r.err;
  // Nothing moved.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(b_.suspended());
  EXPECT_FALSE(a_.suspended());
}

TEST_F(CliBoardTest, PolicyShowsAndSwitchesForEveryone) {
  RunResult r = Cli({"policy", "--board", board_.name()});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.out, "priority (default)\n");
  r = Cli({"policy", "fifo", "--board", board_.name()});
  EXPECT_TRUE(r.exited && r.exit_code == 2) << r.Describe();
  EXPECT_NE(r.err.find("unknown policy"), std::string::npos) << r.err;
  // edf with no deadlines holds nobody: the owner releases the low queue.
  r = Cli({"policy", "edf", "--board", board_.name()});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.out, "edf\n");
  EXPECT_TRUE(WaitFor([&] { return !b_.suspended(); }));
  r = Cli({"policy", "--board", board_.name()});
  EXPECT_EQ(r.out, "edf\n");
}

TEST(CliErrorsTest, MissingAndCorruptedBoardsAreReported) {
  ScopedBoardName n;
  RunResult r = Cli({"top", "--once", "--board", n.name()});
  EXPECT_TRUE(r.exited && r.exit_code == 1) << r.Describe();
  EXPECT_NE(r.err.find("no board"), std::string::npos) << r.err;
  r = Cli({"policy", "--board", n.name()});
  EXPECT_TRUE(r.exited && r.exit_code == 1) << r.Describe();
  {
    std::unique_ptr<Board> b;
    ASSERT_TRUE(Board::OpenShared(n.name(), true, &b).ok());
    b->header()->version = 77;
  }
  r = Cli({"top", "--once", "--board", n.name()});
  EXPECT_TRUE(r.exited && r.exit_code == 1) << r.Describe();
  EXPECT_NE(r.err.find("incompatible"), std::string::npos) << r.err;
  r = Cli({"policy", "weighted", "--board", n.name()});
  EXPECT_TRUE(r.exited && r.exit_code == 1) << r.Describe();
  r = Cli({"top", "--interval", "5", "--board", n.name()});
  EXPECT_TRUE(r.exited && r.exit_code == 2) << r.Describe();
  for (const char* cmd : {"run", "top", "set", "policy"}) {
    r = Cli({cmd, "--help"});
    EXPECT_TRUE(r.ok()) << cmd;
    EXPECT_NE(r.out.find("usage: hsapreempt"), std::string::npos) << cmd;
  }
}

}  // namespace
}  // namespace hsapreempt::sched
