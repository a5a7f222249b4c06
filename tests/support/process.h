// Process helpers for integration tests: run a program of the build tree on a private simulated
// device and capture what it printed, with a timeout that kills it (tests must never hang).
//
// RunProcess/RunOptions/RunResult come from tools/support/subprocess.h (shared with the CLI).
#ifndef TESTS_SUPPORT_PROCESS_H_
#define TESTS_SUPPORT_PROCESS_H_

#include <string>
#include <vector>

#include "tools/support/subprocess.h"

namespace hsapreempt::testsupport {

using tools::RunOptions;
using tools::RunProcess;
using tools::RunResult;

// The build tree this test binary belongs to (baked in at compile time).
std::string BuildDir();
// <build>/simdev/lib if it holds libhsakmt.so.1, else "".
std::string SimLibDir();
// <build>/tools/hsapreempt-workload (may not exist).
std::string WorkloadPath();

// A device name no other test (or run) uses: "<prefix>-<pid>-<counter>-<time>".
std::string UniqueDeviceName(const std::string& prefix);

// Environment for a child on the private simulated device `device_name`: LD_LIBRARY_PATH with the
// simulated thunk first, HSAPREEMPT_SIM_DEVICE, HSAPREEMPT_KERNELS_DIR and HSA_ENABLE_SDMA=0.
std::vector<std::string> SimEnvironment(const std::string& device_name);

// Removes a private simulated device: its shared segment (/dev/shm/hsapreempt-sim-<uid>-<name>)
// and its simulated sysfs tree (/tmp/hsapreempt-sim-<uid>-<name>), so tests leave nothing behind.
// Missing is fine.
void RemoveSimDevice(const std::string& device_name);

// Removes the scheduler board segment `name` (sched::Board::PathFor). Missing is fine.
void RemoveBoard(const std::string& name);

}  // namespace hsapreempt::testsupport

#endif  // TESTS_SUPPORT_PROCESS_H_
