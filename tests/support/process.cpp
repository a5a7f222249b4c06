#include "tests/support/process.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "sched/board.h"
#include "tools/support/sim_info.h"

namespace hsapreempt::testsupport {

std::string BuildDir() {
#ifdef HSAPREEMPT_BUILD_DIR
  return HSAPREEMPT_BUILD_DIR;
#else
  return ".";
#endif
}

std::string SimLibDir() {
  std::string dir = BuildDir() + "/simdev/lib";
  struct stat st;
  return stat((dir + "/libhsakmt.so.1").c_str(), &st) == 0 ? dir : "";
}

std::string WorkloadPath() { return BuildDir() + "/tools/hsapreempt-workload"; }

std::string UniqueDeviceName(const std::string& prefix) {
  static std::atomic<unsigned> counter{0};
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(ts.tv_nsec % 1000000);
}

std::vector<std::string> SimEnvironment(const std::string& device_name) {
  std::vector<std::string> env;
  const char* old = std::getenv("LD_LIBRARY_PATH");
  env.push_back("LD_LIBRARY_PATH=" + SimLibDir() + (old && *old ? std::string(":") + old : ""));
  env.push_back("HSAPREEMPT_SIM_DEVICE=" + device_name);
  env.push_back("HSAPREEMPT_KERNELS_DIR=" + BuildDir() + "/kernels");
  env.push_back("HSA_ENABLE_SDMA=0");
  return env;
}

void RemoveSimDevice(const std::string& device_name) { tools::RemoveSimDeviceFiles(device_name); }

void RemoveBoard(const std::string& name) { unlink(sched::Board::PathFor(name).c_str()); }

}  // namespace hsapreempt::testsupport
