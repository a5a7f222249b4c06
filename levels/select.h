// Lever selection: one pure decision (ChooseLever, shared by SelectLever in the library and by
// `hsapreempt probe`, which fills the environment from its helper's measurements) and the
// factory SelectLever (levels/lever.h) that applies it to the process's kfd::Device.
//
// Rules (config = common::Config):
//  HSAPREEMPT_LEVEL=none|1          -> none (Level-1 only, or observe only)
//  no KFD device / queue id unknown -> none, with the reason
//  HSAPREEMPT_LEVEL=cumask          -> CU mask (unless SET_CU_MASK was refused or CU count unknown)
//  HSAPREEMPT_LEVEL=2|auto, HSAPREEMPT_L2_MODE=
//    update   -> UPDATE_QUEUE unless refused
//    suspend  -> DBG_TRAP suspend (KFD 1.13+; SelectLever enables the debug trap on the process —
//                the explicit opt-in, since it excludes rocgdb and ROCr core dumps)
//    auto     -> UPDATE_QUEUE (no debugger side effects, every KFD version); if refused, DBG_TRAP
//                suspend only when the process is already debug-enabled
//  LEVEL=auto only: when no Level-2 lever is possible, CU mask if possible
// Anything "refused" means a permission/unsupported answer seen earlier in this process (or by
// probe): later queues do not try again.
#ifndef LEVELS_SELECT_H_
#define LEVELS_SELECT_H_

#include <cstdint>
#include <string>

#include "common/config.h"
#include "kfd_ctl/device.h"
#include "levels/lever.h"

namespace hsapreempt::levels {

struct LeverEnvironment {
  kfd::Capabilities caps;
  uint32_t cu_count = 0;  // of the queue's GPU; 0 = unknown
};

struct LeverChoice {
  LeverKind kind = LeverKind::kNone;
  std::string why;  // for kNone: why nothing better; otherwise what was chosen and why
};

LeverChoice ChooseLever(const LeverEnvironment& env, const common::Config& config,
                        bool queue_id_known, const std::string& mapping_method);

// Builds the chosen lever on `device` (SelectLever uses kfd::Device::Get()). For kDbgSuspend it
// enables the debug trap on this process first; if that fails the choice is made again without it.
std::unique_ptr<Lever> SelectLeverOn(kfd::Device* device, const HwQueueIdentity& queue,
                                     const common::Config& config, std::string* why);

// SUSPEND_QUEUES grace period in KFD's unit (1K GPU clocks) for `grace_us` at `clock_mhz`
// (0: MI300X's 2100 MHz peak, so the grace is at least what was asked for on slower clocks).
uint32_t GracePeriodKclk(uint64_t grace_us, uint32_t clock_mhz);

// A lever that does nothing (kind kNone), so callers always get an object.
class NoLever : public Lever {
 public:
  LeverKind kind() const override { return LeverKind::kNone; }
  common::Status Engage() override { return common::Status::Ok(); }
  common::Status Release() override { return common::Status::Ok(); }
  bool engaged() const override { return false; }
  common::Status Reassert() override { return common::Status::Ok(); }
};

}  // namespace hsapreempt::levels

#endif  // LEVELS_SELECT_H_
