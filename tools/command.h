// The `hsapreempt` command-line tool: a table of subcommands.
//
// Each subcommand lives in its own tools/cmd_<name>.cpp and registers itself with
// HSAPREEMPT_COMMAND (static registration: tools/ builds one executable from an explicit source
// list, so nothing is dropped by the linker). A command returns the process exit status:
//   0 success, 1 the operation failed, 2 usage error (bad flag/value), 3 not supported here.
#ifndef TOOLS_COMMAND_H_
#define TOOLS_COMMAND_H_

#include <string>
#include <vector>

namespace hsapreempt::tools {

enum ExitCode { kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitUnsupported = 3 };

struct Command {
  const char* name;     // e.g. "probe", or "bench preempt" for a two-word command
  const char* summary;  // one line for `hsapreempt --help`
  int (*run)(const std::vector<std::string>& args);  // args after the command name
};

// Registers at static-initialisation time; returns true so it can initialise a static.
bool RegisterCommand(const Command& command);

// Directory holding the installed/built executables and libraries (resolved from
// /proc/self/exe): `bin_dir()` has hsapreempt and hsapreempt-workload, `lib_dir()` has
// libhsapreempt.so, `sim_lib_dir()` the simulated libhsakmt.so.1.
std::string BinDir();
std::string ToolLibPath();   // absolute path of libhsapreempt.so
std::string SimLibDir();     // directory of the simulated thunk ("" if not built/installed)

// True when this machine has a real KFD (/dev/kfd). Without it, tools run programs on the
// simulated device (the embedded default) unless HSAPREEMPT_DEVICE=real forces the real one.
bool UseSimulatedDevice();

// Environment for a child program run on the embedded default device: prepends SimLibDir() to
// LD_LIBRARY_PATH when UseSimulatedDevice(). Returns "NAME=value" strings to add/override.
std::vector<std::string> DeviceEnvironment();

}  // namespace hsapreempt::tools

#define HSAPREEMPT_CONCAT_INNER(a, b) a##b
#define HSAPREEMPT_CONCAT(a, b) HSAPREEMPT_CONCAT_INNER(a, b)
#define HSAPREEMPT_COMMAND(name, summary, fn)                         \
  static const bool HSAPREEMPT_CONCAT(registered_command_, __LINE__) = \
      ::hsapreempt::tools::RegisterCommand({name, summary, fn})

#endif  // TOOLS_COMMAND_H_
