#include "levels/select.h"

#include <unistd.h>

#include "common/log.h"
#include "kfd_ctl/sysfs.h"
#include "levels/levers.h"

namespace hsapreempt::levels {

using common::LevelChoice;
using common::L2Mode;
using kfd::Support;

const char* LeverName(LeverKind kind) {
  switch (kind) {
    case LeverKind::kNone: return "none";
    case LeverKind::kUpdateQueue: return "update_queue";
    case LeverKind::kDbgSuspend: return "dbg_suspend";
    case LeverKind::kCuMask: return "cu_mask";
  }
  return "?";
}

namespace {

LeverChoice Pick(LeverKind kind, std::string why) { return LeverChoice{kind, std::move(why)}; }

// Why a Level-2 lever is impossible, or "" if `mode` can be used.
std::string UpdateBlocked(const kfd::Capabilities& c) {
  if (c.update_queue == Support::kNo) return "UPDATE_QUEUE refused (" + c.update_queue_why + ")";
  return "";
}
std::string SuspendBlocked(const kfd::Capabilities& c) {
  if (!c.dbg_trap_abi) {
    return "DBG_TRAP suspend needs KFD ioctl 1.13 (Linux 6.5); driver has " +
           c.version.ToString();
  }
  if (c.dbg_suspend == Support::kNo) return "DBG_TRAP suspend refused (" + c.dbg_suspend_why + ")";
  return "";
}
std::string CuMaskBlocked(const LeverEnvironment& env) {
  if (env.caps.cu_mask == Support::kNo) return "SET_CU_MASK refused (" + env.caps.cu_mask_why + ")";
  if (env.cu_count == 0) return "CU count unknown";
  return "";
}

}  // namespace

LeverChoice ChooseLever(const LeverEnvironment& env, const common::Config& config,
                        bool queue_id_known, const std::string& mapping_method) {
  const kfd::Capabilities& c = env.caps;
  if (config.level == LevelChoice::kNone) return Pick(LeverKind::kNone, "HSAPREEMPT_LEVEL=none");
  if (config.level == LevelChoice::kLevel1) return Pick(LeverKind::kNone, "HSAPREEMPT_LEVEL=1");
  if (!c.available) return Pick(LeverKind::kNone, "no KFD device: " + c.why_unavailable);
  if (!queue_id_known) {
    return Pick(LeverKind::kNone, "KFD queue id unknown (" + mapping_method + ")");
  }
  const std::string via = "KFD " + c.version.ToString() + ", queue id by " + mapping_method;
  if (config.level == LevelChoice::kCuMask) {
    std::string b = CuMaskBlocked(env);
    if (!b.empty()) return Pick(LeverKind::kNone, "HSAPREEMPT_LEVEL=cumask: " + b);
    return Pick(LeverKind::kCuMask, "HSAPREEMPT_LEVEL=cumask (" + via + ")");
  }
  // Level 2 (explicit or auto).
  std::string l2_why;
  switch (config.l2_mode) {
    case L2Mode::kUpdateQueue: {
      l2_why = UpdateBlocked(c);
      if (l2_why.empty()) return Pick(LeverKind::kUpdateQueue, "HSAPREEMPT_L2_MODE=update (" + via + ")");
      break;
    }
    case L2Mode::kSuspend: {
      l2_why = SuspendBlocked(c);
      if (l2_why.empty()) return Pick(LeverKind::kDbgSuspend, "HSAPREEMPT_L2_MODE=suspend (" + via + ")");
      break;
    }
    case L2Mode::kAuto: {
      l2_why = UpdateBlocked(c);
      if (l2_why.empty()) return Pick(LeverKind::kUpdateQueue, "UPDATE_QUEUE 0%/100% (" + via + ")");
      if (c.dbg_enabled && SuspendBlocked(c).empty()) {
        return Pick(LeverKind::kDbgSuspend, "DBG_TRAP suspend, the process is debug-enabled (" + via + ")");
      }
      l2_why += "; DBG_TRAP suspend is opt-in (HSAPREEMPT_L2_MODE=suspend)";
      break;
    }
  }
  if (config.level == LevelChoice::kAuto) {
    std::string b = CuMaskBlocked(env);
    if (b.empty()) {
      return Pick(LeverKind::kCuMask, "CU mask, no Level-2 lever: " + l2_why + " (" + via + ")");
    }
    return Pick(LeverKind::kNone, l2_why + "; cumask: " + b);
  }
  return Pick(LeverKind::kNone, "HSAPREEMPT_LEVEL=2: " + l2_why);
}

uint32_t GracePeriodKclk(uint64_t grace_us, uint32_t clock_mhz) {
  if (clock_mhz == 0) clock_mhz = 2100;
  // us * MHz = clocks; KFD counts in 1K clocks (round up so the grace is never shorter).
  uint64_t kclk = (grace_us * clock_mhz + 999) / 1000;
  return kclk > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(kclk);
}

std::unique_ptr<Lever> SelectLeverOn(kfd::Device* device, const HwQueueIdentity& queue,
                                     const common::Config& config, std::string* why) {
  LeverEnvironment env;
  env.caps = device->capabilities();
  env.cu_count = queue.cu_count;
  uint32_t clock_mhz = 0;
  for (const kfd::TopologyGpu& g : kfd::ReadTopologyGpus(device->SysfsRoot())) {
    if (queue.gpu_id == 0 || g.gpu_id == queue.gpu_id) {
      if (env.cu_count == 0) env.cu_count = g.cu_count;
      clock_mhz = g.max_engine_clk_mhz;
      break;
    }
  }
  LeverChoice choice = ChooseLever(env, config, queue.kfd_queue_id_known, queue.mapping_method);
  if (choice.kind == LeverKind::kDbgSuspend && !env.caps.dbg_enabled) {
    // Normally done before the first queue (QueueIdMapper with HSAPREEMPT_L2_MODE=suspend); here
    // RUNTIME_ENABLE is refused (EEXIST) unless the runtime did it, and then suspend cannot work.
    common::Status s = device->RuntimeEnable();
    std::string what = "runtime enable";
    if (s.ok()) {
      s = device->DbgTrapEnable();
      what = "debug-trap enable";
    }
    if (!s.ok()) {
      device->NoteDbgSuspend(Support::kNo, what + ": " + s.message());
      env.caps = device->capabilities();
      choice = ChooseLever(env, config, queue.kfd_queue_id_known, queue.mapping_method);
    }
  }
  if (why) *why = choice.why;
  switch (choice.kind) {
    case LeverKind::kUpdateQueue:
      return std::make_unique<UpdateQueueLever>(
          device, kfd::QueueRef{queue.kfd_queue_id, queue.ring_base, queue.ring_bytes});
    case LeverKind::kDbgSuspend:
      return std::make_unique<DbgSuspendLever>(device, queue.kfd_queue_id,
                                               GracePeriodKclk(config.l2_grace_us, clock_mhz));
    case LeverKind::kCuMask:
      return std::make_unique<CuMaskLever>(device, queue.kfd_queue_id, env.cu_count,
                                           config.cu_fraction_percent);
    case LeverKind::kNone:
      break;
  }
  return std::make_unique<NoLever>();
}

std::unique_ptr<Lever> SelectLever(const HwQueueIdentity& queue, const common::Config& config,
                                   std::string* why) {
  return SelectLeverOn(&kfd::Device::Get(), queue, config, why);
}

}  // namespace hsapreempt::levels
