// `hsapreempt run`: run a program under the scheduler with the given priority and options.
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/config.h"
#include "sched/board.h"
#include "tools/command.h"
#include "tools/sched_cli.h"

namespace hsapreempt::tools {
namespace {

constexpr const char* kUsage =
    "usage: hsapreempt run [options] [--] COMMAND [ARGS...]\n"
    "Runs COMMAND with libhsapreempt.so loaded (HSA_TOOLS_LIB), so its GPU queues are scheduled.\n"
    "  --priority N       0..99, higher runs first (HSAPREEMPT_PRIORITY, default 50)\n"
    "  --level L          auto|none|1|2|cumask (HSAPREEMPT_LEVEL)\n"
    "  --policy P         priority|weighted|edf: board-wide, applies if no policy was chosen yet\n"
    "  --weight W         1..1000, share under the weighted policy\n"
    "  --deadline-us D    0..60000000, latency target under edf (0: none)\n"
    "  --board NAME       board name ([A-Za-z0-9_.-]{1,64}): programs on one board are scheduled\n"
    "                     together\n"
    "On a machine without /dev/kfd the program runs on the simulated device.\n";

int Usage(const char* fmt, const std::string& value) {
  std::fprintf(stderr, "hsapreempt run: ");
  std::fprintf(stderr, fmt, value.c_str());
  std::fprintf(stderr, "\n(see hsapreempt run --help)\n");
  return kExitUsage;
}

int Run(const std::vector<std::string>& args) {
  std::vector<std::pair<std::string, std::string>> env;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string v;
    long long n = 0;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (a == "--") {
      ++i;
      break;
    } else if (TakeFlag(args, &i, "--priority", &v)) {
      if (!ParseIntIn(v, 0, 99, &n)) return Usage("bad --priority '%s' (expected 0..99)", v);
      env.emplace_back("HSAPREEMPT_PRIORITY", v);
    } else if (TakeFlag(args, &i, "--level", &v)) {
      common::LevelChoice level;
      if (!common::ParseLevel(v, &level)) {
        return Usage("bad --level '%s' (expected auto|none|1|2|cumask)", v);
      }
      env.emplace_back("HSAPREEMPT_LEVEL", v);
    } else if (TakeFlag(args, &i, "--policy", &v)) {
      common::PolicyChoice policy;
      if (!common::ParsePolicy(v, &policy)) {
        return Usage("unknown --policy '%s' (expected priority|weighted|edf)", v);
      }
      env.emplace_back("HSAPREEMPT_POLICY", v);
    } else if (TakeFlag(args, &i, "--weight", &v)) {
      if (!ParseIntIn(v, 1, 1000, &n)) return Usage("bad --weight '%s' (expected 1..1000)", v);
      env.emplace_back("HSAPREEMPT_WEIGHT", v);
    } else if (TakeFlag(args, &i, "--deadline-us", &v)) {
      if (!ParseIntIn(v, 0, 60000000, &n)) {
        return Usage("bad --deadline-us '%s' (expected 0..60000000)", v);
      }
      env.emplace_back("HSAPREEMPT_DEADLINE_US", v);
    } else if (TakeFlag(args, &i, "--board", &v)) {
      if (!sched::Board::ValidName(v)) {
        return Usage("bad --board '%s' (expected 1-64 characters of [A-Za-z0-9_.-])", v);
      }
      env.emplace_back("HSAPREEMPT_BOARD", v);
    } else if (a.size() > 1 && a[0] == '-') {
      return Usage("unknown option '%s'", a);
    } else {
      break;  // the command
    }
  }
  if (i >= args.size()) {
    std::fprintf(stderr, "hsapreempt run: no command to run (see hsapreempt run --help)\n");
    return kExitUsage;
  }

  // Our library first; other tools the user loads keep working (ROCr takes a space-separated list).
  std::string tools = ToolLibPath();
  if (access(tools.c_str(), R_OK) != 0) {
    std::fprintf(stderr, "hsapreempt run: warning: %s not found; the program runs unscheduled\n",
                 tools.c_str());
  }
  if (const char* old = std::getenv("HSA_TOOLS_LIB"); old && *old && !std::strstr(old, tools.c_str())) {
    tools += std::string(" ") + old;
  }
  env.emplace_back("HSA_TOOLS_LIB", tools);
  for (const std::string& kv : DeviceEnvironment()) {
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);

  std::vector<char*> argv;
  for (size_t k = i; k < args.size(); ++k) argv.push_back(const_cast<char*>(args[k].c_str()));
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  std::fprintf(stderr, "hsapreempt run: cannot run '%s': %s\n", argv[0], std::strerror(errno));
  return kExitFailed;
}

}  // namespace

HSAPREEMPT_COMMAND("run", "run a program under the scheduler (--priority N ... -- CMD)", Run);

}  // namespace hsapreempt::tools
