// Test hooks for the shared device (never called by the simulator itself).
#ifndef SIMDEV_MODEL_DEVICE_TESTING_H_
#define SIMDEV_MODEL_DEVICE_TESTING_H_

#include "simdev/model/device.h"

namespace simdev {

// Takes the device lock and never releases it: a forked child calls this and exits, to test
// recovery of a lock whose owner died (EOWNERDEAD).
void AcquireDeviceLockForTest(Device* device);

}  // namespace simdev

#endif  // SIMDEV_MODEL_DEVICE_TESTING_H_
