// The simulator's own exported entry points (include/hsapreempt/sim_device.h, version
// HSAPREEMPT_SIM_1) and the process-wide KFD emulator over the thunk's queue registry. Built as
// an OBJECT library (hsapreempt::simdev_model_exports) linked into the thunk only: it needs the
// registry (simdev/queue_registry.h), which the thunk defines.
#include <cerrno>
#include <cstring>
#include <new>
#include <string>

#include "hsapreempt/sim_device.h"
#include "simdev/model/device.h"
#include "simdev/model/kfd_control.h"
#include "simdev/queue_registry.h"

#define SIMDEV_EXPORT extern "C" __attribute__((visibility("default")))

namespace simdev {
namespace {

class RegistryDirectory : public QueueDirectory {
 public:
  bool Lookup(uint32_t kfd_queue_id, QueueInfo* info) override {
    return LookupQueueInfo(kfd_queue_id, info);
  }
  size_t List(QueueInfo* out, size_t max) override { return ListQueues(out, max); }
  void SetPercent(uint32_t kfd_queue_id, uint32_t percent) override {
    SetQueuePercent(kfd_queue_id, percent);
  }
};

// Parameters for the pieces that work without a device (describe, sysfs root).
const Params& ProcessParams() {
  static const Params* params = [] {
    Device* d = Device::Instance();
    return d != nullptr ? &d->params() : new Params(Params::FromEnvironment());
  }();
  return *params;
}

}  // namespace

KfdEmulator* ProcessKfd() {
  static KfdEmulator* kfd = [] {
    Device* d = Device::Instance();
    if (d == nullptr) return static_cast<KfdEmulator*>(nullptr);
    static RegistryDirectory registry;
    return new (std::nothrow) KfdEmulator(d, d->params(), &registry);
  }();
  return kfd;
}

int KfdUpdateQueue(uint32_t queue_id, uint32_t percent, uint32_t priority) {
  KfdEmulator* k = ProcessKfd();
  return k != nullptr ? k->UpdateQueue(queue_id, percent, priority) : ENODEV;
}

int KfdSetQueueCuMask(uint32_t queue_id, const uint32_t* mask, uint32_t mask_bits) {
  KfdEmulator* k = ProcessKfd();
  return k != nullptr ? k->SetCuMask(queue_id, mask, mask_bits) : ENODEV;
}

int KfdRuntimeEnable(bool enable) {
  KfdEmulator* k = ProcessKfd();
  return k != nullptr ? k->RuntimeEnable(enable) : ENODEV;
}

int KfdWaitQueueDestroyable(uint32_t queue_id) {
  KfdEmulator* k = ProcessKfd();
  return k != nullptr ? k->WaitDestroyable(queue_id) : 0;
}

}  // namespace simdev

SIMDEV_EXPORT int hsapreempt_sim_kfd_ioctl(unsigned long request, void* arg) {
  simdev::KfdEmulator* k = simdev::ProcessKfd();
  int r = k != nullptr ? k->Ioctl(request, arg) : -ENODEV;
  if (r < 0) {
    errno = -r;
    return -1;
  }
  return r;
}

SIMDEV_EXPORT const char* hsapreempt_sim_sysfs_root(void) {
  static const std::string root = simdev::ProcessParams().SysfsRoot();
  return root.c_str();
}

SIMDEV_EXPORT const char* hsapreempt_sim_describe(void) {
  static const std::string line = simdev::ProcessParams().Describe();
  return line.c_str();
}

SIMDEV_EXPORT size_t hsapreempt_sim_trace_read(uint64_t* cursor, hsapreempt_sim_event* out,
                                               size_t max) {
  simdev::Device* d = simdev::Device::Instance();
  if (d == nullptr || cursor == nullptr || (out == nullptr && max > 0)) return 0;
  return d->TraceRead(cursor, out, max);
}
