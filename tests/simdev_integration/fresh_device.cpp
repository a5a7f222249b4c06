// Every test binary here starts on a fresh simulated device: the segment named by
// HSAPREEMPT_SIM_DEVICE (/dev/shm/hsapreempt-sim-<uid>-<name>, docs/ARCHITECTURE.md) is removed
// before the first test and after the last. The names are unique per build tree and test, so no
// one else uses them, and a segment left by an older model layout never fails a run.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace {

class FreshDevice : public ::testing::Environment {
 public:
  void SetUp() override { Remove(); }
  void TearDown() override { Remove(); }

 private:
  static void Remove() {
    const char* name = getenv("HSAPREEMPT_SIM_DEVICE");
    if (name == nullptr || std::string(name).rfind("it_", 0) != 0) return;  // only ours
    std::string shm = "/hsapreempt-sim-" + std::to_string(getuid()) + "-" + name;
    shm_unlink(shm.c_str());
  }
};

::testing::Environment* const kFreshDevice =
    ::testing::AddGlobalTestEnvironment(new FreshDevice());

}  // namespace
