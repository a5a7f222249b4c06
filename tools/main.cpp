// hsapreempt: the command-line front end. See tools/command.h for how subcommands register.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tools/command.h"

namespace hsapreempt::tools {
namespace {

std::vector<Command>& Registry() {
  static auto* commands = new std::vector<Command>();  // never destroyed
  return *commands;
}

std::string ExeDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  buf[n] = '\0';
  std::string path(buf);
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "usage: hsapreempt <command> [args...]\n"
               "Priority scheduling with preemption for AMD GPUs (HSA_TOOLS_LIB=libhsapreempt.so).\n\n"
               "commands:\n");
  auto commands = Registry();
  std::sort(commands.begin(), commands.end(),
            [](const Command& a, const Command& b) { return std::strcmp(a.name, b.name) < 0; });
  for (const Command& c : commands) std::fprintf(out, "  %-18s %s\n", c.name, c.summary);
  std::fprintf(out, "\n`hsapreempt <command> --help` describes a command.\n");
}

}  // namespace

bool RegisterCommand(const Command& command) {
  Registry().push_back(command);
  return true;
}

std::string BinDir() { return ExeDir(); }

std::string ToolLibPath() {
  // Build tree: <build>/tools/hsapreempt and <build>/hsa_layer/libhsapreempt.so.
  // Install tree: <prefix>/bin and <prefix>/lib.
  const std::string dir = ExeDir();
  for (const char* rel : {"/../hsa_layer/libhsapreempt.so", "/../lib/libhsapreempt.so",
                          "/libhsapreempt.so"}) {
    std::string p = dir + rel;
    if (Exists(p)) {
      char real[4096];
      return realpath(p.c_str(), real) ? std::string(real) : p;
    }
  }
  return "libhsapreempt.so";
}

std::string SimLibDir() {
  const std::string dir = ExeDir();
  for (const char* rel : {"/../simdev/lib", "/../lib/hsapreempt-sim"}) {
    std::string p = dir + rel;
    if (Exists(p + "/libhsakmt.so.1")) {
      char real[4096];
      return realpath(p.c_str(), real) ? std::string(real) : p;
    }
  }
  return "";
}

bool UseSimulatedDevice() {
  const char* forced = std::getenv("HSAPREEMPT_DEVICE");
  if (forced && std::strcmp(forced, "real") == 0) return false;
  if (forced && std::strcmp(forced, "sim") == 0) return true;
  return access("/dev/kfd", R_OK | W_OK) != 0;
}

std::vector<std::string> DeviceEnvironment() {
  std::vector<std::string> env;
  if (!UseSimulatedDevice()) return env;
  std::string sim = SimLibDir();
  if (sim.empty()) return env;
  const char* old = std::getenv("LD_LIBRARY_PATH");
  env.push_back("LD_LIBRARY_PATH=" + sim + (old && *old ? std::string(":") + old : ""));
  return env;
}

}  // namespace hsapreempt::tools

int main(int argc, char** argv) {
  using hsapreempt::tools::Registry;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    hsapreempt::tools::PrintUsage(args.empty() ? stderr : stdout);
    return args.empty() ? hsapreempt::tools::kExitUsage : hsapreempt::tools::kExitOk;
  }
  if (args[0] == "--version") {
    std::printf("hsapreempt 0.1.0\n");
    return 0;
  }
  // Two-word commands ("bench preempt") first, then one-word ones.
  for (size_t words = 2; words >= 1; --words) {
    if (args.size() < words) continue;
    std::string name = args[0];
    if (words == 2) name += " " + args[1];
    for (const auto& c : Registry()) {
      if (name == c.name) {
        return c.run(std::vector<std::string>(args.begin() + words, args.end()));
      }
    }
  }
  std::fprintf(stderr, "hsapreempt: unknown command '%s' (see hsapreempt --help)\n",
               args[0].c_str());
  return hsapreempt::tools::kExitUsage;
}
