#include "tools/support/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

extern char** environ;

namespace hsapreempt::tools {
namespace {

double NowS() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Our environment with `extra` applied on top (later entries win).
std::vector<std::string> MergeEnvironment(const std::vector<std::string>& extra) {
  std::map<std::string, std::string> vars;
  std::vector<std::string> order;
  auto put = [&](const std::string& entry) {
    size_t eq = entry.find('=');
    std::string name = eq == std::string::npos ? entry : entry.substr(0, eq);
    if (vars.find(name) == vars.end()) order.push_back(name);
    vars[name] = entry;
  };
  for (char** e = environ; e && *e; ++e) put(*e);
  for (const auto& entry : extra) put(entry);
  std::vector<std::string> out;
  out.reserve(order.size());
  for (const auto& name : order) out.push_back(vars[name]);
  return out;
}

void Drain(int* fd, std::string* sink, size_t limit) {
  char buf[65536];
  ssize_t n = read(*fd, buf, sizeof(buf));
  if (n > 0) {
    size_t room = sink->size() < limit ? limit - sink->size() : 0;
    sink->append(buf, std::min(room, static_cast<size_t>(n)));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    close(*fd);
    *fd = -1;
  }
}

}  // namespace

std::string RunResult::Describe() const {
  char buf[160];
  if (!started) return "did not start: " + error;
  if (exited) {
    std::snprintf(buf, sizeof(buf), "exit %d after %.2f s", exit_code, wall_s);
  } else {
    std::snprintf(buf, sizeof(buf), "killed by signal %d after %.2f s%s", term_signal, wall_s,
                  timed_out ? " (timeout)" : "");
  }
  return buf;
}

RunResult RunProcess(const std::vector<std::string>& argv, const RunOptions& options) {
  RunResult result;
  if (argv.empty()) {
    result.error = "empty command line";
    return result;
  }
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0 ||
      (!options.inherit_stderr && pipe2(err_pipe, O_CLOEXEC) != 0)) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      if (fd >= 0) close(fd);
    }
    return result;
  }

  // posix_spawn (not fork) so this is safe from a multi-threaded caller.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  if (!options.inherit_stderr) posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);  // own process group: a timeout kills the whole tree
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> env = MergeEnvironment(options.env);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  const double start = NowS();
  pid_t pid = -1;
  int rc = argv[0].find('/') == std::string::npos
               ? posix_spawnp(&pid, cargv[0], &actions, &attr, cargv.data(), cenv.data())
               : posix_spawn(&pid, cargv[0], &actions, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out_pipe[1]);
  if (err_pipe[1] >= 0) close(err_pipe[1]);
  if (rc != 0) {
    result.error = argv[0] + ": " + std::strerror(rc);
    close(out_pipe[0]);
    if (err_pipe[0] >= 0) close(err_pipe[0]);
    return result;
  }
  result.started = true;

  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  bool term_sent = false, kill_sent = false, reaped = false;
  int status = 0;
  struct rusage usage {};
  for (;;) {
    double now = NowS();
    if (options.timeout_s > 0 && now - start > options.timeout_s && !term_sent) {
      kill(-pid, SIGTERM);
      term_sent = true;
      result.timed_out = true;
    }
    if (term_sent && !kill_sent && now - start > options.timeout_s + 1.0) {
      kill(-pid, SIGKILL);
      kill_sent = true;
    }
    if (!reaped) {
      pid_t w = wait4(pid, &status, WNOHANG, &usage);
      if (w == pid) reaped = true;
    }
    if (reaped && out_fd < 0 && err_fd < 0) break;
    // A grandchild holding our pipes open must not keep us here after the child is gone.
    if (reaped && (term_sent || now - start > (options.timeout_s > 0 ? options.timeout_s : 1e18))) {
      break;
    }
    pollfd fds[2];
    int nfds = 0;
    if (out_fd >= 0) fds[nfds++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[nfds++] = {err_fd, POLLIN, 0};
    if (nfds == 0) {
      usleep(2000);
      continue;
    }
    int ready = poll(fds, nfds, 20);
    if (ready <= 0) continue;
    for (int i = 0; i < nfds; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (fds[i].fd == out_fd) Drain(&out_fd, &result.out, options.max_output_bytes);
      else Drain(&err_fd, &result.err, options.max_output_bytes);
    }
  }
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
  if (!reaped) wait4(pid, &status, 0, &usage);
  result.wall_s = NowS() - start;
  result.cpu_s = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec * 1e-6 + usage.ru_stime.tv_sec +
                 usage.ru_stime.tv_usec * 1e-6;
  if (WIFEXITED(status)) {
    result.exited = true;
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  result.error = result.Describe();
  return result;
}

}  // namespace hsapreempt::tools
