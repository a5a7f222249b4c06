// Forked children in unit tests, with a watchdog: a child that deadlocks (the bug fork tests look
// for) is killed by its own alarm and fails the test in seconds, instead of holding ctest until
// its timeout. Header-only (POSIX and gtest), so any unit test can use it without the HSA-linked
// test-support library.
#ifndef TESTS_SUPPORT_FORK_CHILD_H_
#define TESTS_SUPPORT_FORK_CHILD_H_

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

namespace hsapreempt::testsupport {

constexpr unsigned kChildWatchdogSeconds = 30;

// fork(); the child gets SIGALRM (default action: terminate) after `seconds`.
inline pid_t ForkWithWatchdog(unsigned seconds = kChildWatchdogSeconds) {
  pid_t pid = fork();
  if (pid == 0) alarm(seconds);
  return pid;
}

// Waits for `pid`: "" if it exited with status 0, else what happened to it.
inline std::string ChildOutcome(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return "waitpid failed";
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status) == 0 ? ""
                                    : "exit code " + std::to_string(WEXITSTATUS(status)) +
                                          " (it names the failed check)";
  }
  if (WIFSIGNALED(status)) {
    return WTERMSIG(status) == SIGALRM ? "hung: killed by its watchdog"
                                       : "killed by signal " + std::to_string(WTERMSIG(status));
  }
  return "status " + std::to_string(status);
}

// Runs `body` in a forked child (process-wide state changed there stays there); the test passes
// if the child returns 0 before its watchdog fires.
inline void ExpectChildReturnsZero(const std::function<int()>& body,
                                   unsigned watchdog_s = kChildWatchdogSeconds) {
  pid_t pid = ForkWithWatchdog(watchdog_s);
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(body());
  EXPECT_EQ(ChildOutcome(pid), "");
}

}  // namespace hsapreempt::testsupport

#endif  // TESTS_SUPPORT_FORK_CHILD_H_
