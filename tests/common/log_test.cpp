// Logging: one whole line per message, errno preserved, and safe across fork while other
// threads log (the library's own threads log while the application may fork at any time).
#include "common/log.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fork_child.h"

namespace hsapreempt::common {
namespace {

class LogFile {
 public:
  LogFile() {
    char tmpl[] = "/tmp/hsapreempt-log-test-XXXXXX";
    int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
    saved_level_ = GetLogLevel();
    SetLogLevel(LogLevel::kTrace);
    EXPECT_TRUE(SetLogFile(path_.c_str()));
  }
  ~LogFile() {
    SetLogFile(nullptr);
    SetLogLevel(saved_level_);
    unlink(path_.c_str());
  }
  std::vector<std::string> Lines() const {
    std::ifstream in(path_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

 private:
  std::string path_;
  LogLevel saved_level_;
};

TEST(LogTest, OneLinePerMessageWithPidAndLevel) {
  LogFile file;
  HP_LOG(kInfo, "hello %d", 42);
  HP_LOG(kTrace, "%s", "");
  const auto lines = file.Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "hsapreempt[" + std::to_string(getpid()) + "]: info: hello 42");
  EXPECT_EQ(lines[1], "hsapreempt[" + std::to_string(getpid()) + "]: trace: ");
}

TEST(LogTest, DisabledLevelsWriteNothing) {
  LogFile file;
  SetLogLevel(LogLevel::kWarn);
  HP_LOG(kInfo, "not shown");
  HP_LOG(kWarn, "shown");
  const auto lines = file.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("warn: shown"), std::string::npos);
}

TEST(LogTest, OverlongMessageIsTruncatedToOneLine) {
  LogFile file;
  const std::string big(5000, 'x');
  HP_LOG(kWarn, "%s", big.c_str());
  HP_LOG(kWarn, "next");
  const auto lines = file.Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].size(), 1023u);
  EXPECT_NE(lines[1].find("next"), std::string::npos);
}

TEST(LogTest, PreservesErrno) {
  LogFile file;
  errno = EAGAIN;
  HP_LOG(kWarn, "after a failed call");
  EXPECT_EQ(errno, EAGAIN);
}

TEST(LogTest, ConcurrentLinesDoNotInterleave) {
  LogFile file;
  constexpr int kThreads = 4, kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) HP_LOG(kDebug, "thread %d line %d end", t, i);
    });
  }
  for (auto& th : threads) th.join();
  const auto lines = file.Lines();
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLines));
  const std::string prefix = "hsapreempt[" + std::to_string(getpid()) + "]: debug: thread ";
  for (const auto& line : lines) {
    ASSERT_EQ(line.compare(0, prefix.size(), prefix), 0) << line;
    ASSERT_EQ(line.compare(line.size() - 4, 4, " end"), 0) << line;
  }
}

// A thread logs without pause while the main thread forks; every child logs at once. With a
// lock around the write, a child forked while the other thread held it blocked forever (the
// watchdog turns that into a failure).
TEST(LogTest, ForkWhileAnotherThreadLogsNeverBlocksTheChild) {
  LogFile file;
  std::atomic<bool> stop{false};
  std::thread logger([&] {
    while (!stop.load(std::memory_order_relaxed)) HP_LOG(kDebug, "background line");
  });
  std::string failure;
  for (int i = 0; i < 100 && failure.empty(); ++i) {
    pid_t pid = testsupport::ForkWithWatchdog(5);
    if (pid == 0) {
      HP_LOG(kWarn, "from the child");
      _exit(0);
    }
    if (pid < 0) {
      failure = "fork failed";
      break;
    }
    failure = testsupport::ChildOutcome(pid);
  }
  stop = true;
  logger.join();
  EXPECT_EQ(failure, "");
  int from_children = 0;
  for (const auto& line : file.Lines()) from_children += line.find("from the child") != std::string::npos;
  EXPECT_EQ(from_children, 100);
}

}  // namespace
}  // namespace hsapreempt::common
