// Thunk API: open/close, runtime enable, trap handler, GWS, memory policy; process-wide state
// and fork handling for the whole thunk.
#include <pthread.h>

#include <atomic>
#include <cstdlib>

#include "simdev/cp.h"
#include "simdev/log.h"
#include "simdev/model/device.h"
#include "simdev/thunk_internal.h"

namespace simdev {
namespace {

std::atomic<int> g_open_count{0};

void ChildAfterFork() {
  // KFD gives a child nothing of its parent: no open descriptor, queues, events or CP thread.
  g_open_count.store(0);
  ResetEventsInChild();
  ResetMemoryInChild();
  ResetQueuesInChild();
  ResetDoorbellsInChild();
  Cp::ResetInChild();
}

void RegisterForkHandlerOnce() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, ChildAfterFork);
    return true;
  }();
  (void)registered;
}

}  // namespace

Device* GetDevice() {
  static Device* const device = [] {
    Device* d = Device::Instance();
    if (d == nullptr) SIM_LOG(kError, "cannot attach the simulated device; GPU calls will fail");
    return d;
  }();
  return device;
}

bool KfdOpen() { return g_open_count.load(std::memory_order_acquire) > 0; }

SIM_EXPORT HSAKMT_STATUS hsaKmtOpenKFD(void) {
  RegisterForkHandlerOnce();
  if (GetDevice() == nullptr) return HSAKMT_STATUS_KERNEL_IO_CHANNEL_NOT_OPENED;
  if (g_open_count.fetch_add(1) == 0) {
    SIM_LOG(kInfo, "opened simulated KFD: %s", GetDevice()->params().Describe().c_str());
  }
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtCloseKFD(void) {
  int prev = g_open_count.load();
  while (prev > 0 && !g_open_count.compare_exchange_weak(prev, prev - 1)) {
  }
  return prev > 0 ? HSAKMT_STATUS_SUCCESS : HSAKMT_STATUS_KERNEL_IO_CHANNEL_NOT_OPENED;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtRuntimeEnable(void* r_debug, bool setup_ttmp) {
  // ROCr 5.2.3 then skips exception signals; queue errors still reach it through the queue's
  // inactive signal (see cp_packets.cpp).
  SIM_LOG(kDebug, "hsaKmtRuntimeEnable: not supported by the simulated KFD");
  return HSAKMT_STATUS_NOT_SUPPORTED;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtRuntimeDisable(void) { return HSAKMT_STATUS_NOT_SUPPORTED; }

SIM_EXPORT HSAKMT_STATUS hsaKmtSetTrapHandler(HSAuint32 node, void* base, HSAuint64 size,
                                              void* buffer, HSAuint64 buffer_size) {
  if (node != kGpuNode) return HSAKMT_STATUS_INVALID_NODE_UNIT;
  // The CP executes no ISA, so the trap handler is accepted and never run.
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtAllocQueueGWS(HSA_QUEUEID queue_id, HSAuint32 n, HSAuint32* first) {
  SIM_LOG(kWarn, "hsaKmtAllocQueueGWS: the simulated GPU has no global wave sync (NumGws = 0)");
  return HSAKMT_STATUS_NOT_SUPPORTED;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtSetMemoryPolicy(HSAuint32 node, HSAuint32 default_policy,
                                               HSAuint32 alternate_policy, void* alternate,
                                               HSAuint64 size) {
  return HSAKMT_STATUS_SUCCESS;  // caching policy has no effect on host memory
}

}  // namespace simdev
