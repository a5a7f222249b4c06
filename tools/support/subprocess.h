// Run a child program with extra environment, capture its stdout/stderr, and never hang: a child
// that outlives its timeout is killed (SIGTERM to its process group, SIGKILL 1 s later).
//
// The child runs in its own process group, so grandchildren it starts are killed with it. Its
// stdin is /dev/null. Output beyond `max_output_bytes` per stream is discarded (the child is not
// blocked by a full pipe). Thread-safe: no global state; the caller's signal dispositions are not
// changed (SIGPIPE cannot occur: we only read).
#ifndef TOOLS_SUPPORT_SUBPROCESS_H_
#define TOOLS_SUPPORT_SUBPROCESS_H_

#include <cstddef>
#include <string>
#include <vector>

namespace hsapreempt::tools {

struct RunOptions {
  std::vector<std::string> env;  // "NAME=value" entries added to (or overriding) our environment
  double timeout_s = 60;         // <= 0: no timeout (avoid in tests)
  size_t max_output_bytes = 64 << 20;
  bool inherit_stderr = false;   // true: the child's stderr goes to ours instead of being captured
};

struct RunResult {
  bool started = false;    // false: fork/exec failed (see error)
  bool timed_out = false;  // we killed it
  bool exited = false;     // exited normally (exit_code valid)
  int exit_code = -1;
  int term_signal = 0;     // signal that ended it, if !exited
  double wall_s = 0;
  double cpu_s = 0;        // user + system CPU time of the child (and children it waited for)
  std::string out;         // captured stdout
  std::string err;         // captured stderr (empty with inherit_stderr)
  std::string error;       // why it could not start, or a one-line description of the ending

  bool ok() const { return started && exited && exit_code == 0 && !timed_out; }
  // One line: "exit 0", "killed by signal 9 after timeout 5.0 s", ...
  std::string Describe() const;
};

// Runs argv[0] (searched in PATH when it has no '/') with argv. Blocks until the child ends or is
// killed after the timeout.
RunResult RunProcess(const std::vector<std::string>& argv, const RunOptions& options);

}  // namespace hsapreempt::tools

#endif  // TOOLS_SUPPORT_SUBPROCESS_H_
