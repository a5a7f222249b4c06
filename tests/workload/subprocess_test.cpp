#include "tools/support/subprocess.h"

#include <gtest/gtest.h>

namespace hsapreempt::tools {
namespace {

TEST(SubprocessTest, CapturesOutputStatusAndEnvironment) {
  RunOptions opts;
  opts.env = {"HP_TEST_VALUE=hello"};
  opts.timeout_s = 10;
  RunResult r = RunProcess({"/bin/sh", "-c", "echo $HP_TEST_VALUE; echo err >&2; exit 3"}, opts);
  EXPECT_TRUE(r.started);
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(SubprocessTest, KillsChildAndGrandchildrenOnTimeout) {
  RunOptions opts;
  opts.timeout_s = 0.3;
  RunResult r = RunProcess({"/bin/sh", "-c", "sleep 30 & sleep 30; echo never"}, opts);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.exited);
  EXPECT_LT(r.wall_s, 5.0);
  EXPECT_EQ(r.out, "");
}

TEST(SubprocessTest, ReportsMissingProgram) {
  RunResult r = RunProcess({"/nonexistent/program"}, RunOptions());
  EXPECT_FALSE(r.started);
  EXPECT_FALSE(r.error.empty());
  EXPECT_FALSE(RunProcess({}, RunOptions()).started);
}

TEST(SubprocessTest, LargeOutputDoesNotBlock) {
  RunOptions opts;
  opts.timeout_s = 10;
  opts.max_output_bytes = 1000;
  RunResult r = RunProcess({"/bin/sh", "-c", "head -c 5000000 /dev/zero; echo done >&2"}, opts);
  EXPECT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.out.size(), 1000u);
  EXPECT_EQ(r.err, "done\n");
}

}  // namespace
}  // namespace hsapreempt::tools
