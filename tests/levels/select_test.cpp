// Lever selection: the decision table (ChooseLever) and SelectLeverOn over FakeBackend, including
// the debug-trap opt-in and fallbacks after EPERM / unsupported.
#include <cerrno>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "levels/levers.h"
#include "levels/select.h"
#include "tests/kfd_ctl/fake_backend.h"

namespace hsapreempt::levels {
namespace {

using common::Config;
using common::L2Mode;
using common::LevelChoice;
using kfd::Support;
using kfd::testing::FakeBackend;

LeverEnvironment Env(uint32_t minor = 11, uint32_t cus = 304) {
  LeverEnvironment env;
  env.caps.available = true;
  env.caps.version = kfd::KfdVersion{1, minor};
  env.caps.dbg_trap_abi = minor >= 13;
  env.cu_count = cus;
  return env;
}

Config Cfg(LevelChoice level = LevelChoice::kAuto, L2Mode mode = L2Mode::kAuto) {
  Config c;
  c.level = level;
  c.l2_mode = mode;
  return c;
}

bool Has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

TEST(ChooseLeverTest, ConfigThatAsksForNoLever) {
  EXPECT_EQ(ChooseLever(Env(), Cfg(LevelChoice::kNone), true, "sysfs").kind, LeverKind::kNone);
  LeverChoice c = ChooseLever(Env(), Cfg(LevelChoice::kLevel1), true, "sysfs");
  EXPECT_EQ(c.kind, LeverKind::kNone);
  EXPECT_TRUE(Has(c.why, "HSAPREEMPT_LEVEL=1"));
}

TEST(ChooseLeverTest, NoDeviceOrUnknownQueueId) {
  LeverEnvironment env = Env();
  env.caps.available = false;
  env.caps.why_unavailable = "no /dev/kfd";
  LeverChoice c = ChooseLever(env, Cfg(), true, "sysfs");
  EXPECT_EQ(c.kind, LeverKind::kNone);
  EXPECT_TRUE(Has(c.why, "no /dev/kfd"));
  c = ChooseLever(Env(), Cfg(), false, "none: ambiguous, 2 new queues");
  EXPECT_EQ(c.kind, LeverKind::kNone);
  EXPECT_TRUE(Has(c.why, "ambiguous")) << c.why;
}

TEST(ChooseLeverTest, AutoPrefersUpdateQueueThenCuMask) {
  EXPECT_EQ(ChooseLever(Env(), Cfg(), true, "sysfs").kind, LeverKind::kUpdateQueue);
  EXPECT_EQ(ChooseLever(Env(14), Cfg(), true, "sysfs").kind, LeverKind::kUpdateQueue);
  LeverEnvironment env = Env(14);
  env.caps.update_queue = Support::kNo;
  env.caps.update_queue_why = "Operation not permitted";
  LeverChoice c = ChooseLever(env, Cfg(), true, "sysfs");
  EXPECT_EQ(c.kind, LeverKind::kCuMask);  // suspend is opt-in: not chosen by auto
  EXPECT_TRUE(Has(c.why, "UPDATE_QUEUE refused")) << c.why;
  EXPECT_TRUE(Has(c.why, "opt-in")) << c.why;
  env.caps.dbg_enabled = true;  // already debug-enabled: no new conflict
  EXPECT_EQ(ChooseLever(env, Cfg(), true, "sysfs").kind, LeverKind::kDbgSuspend);
  env.caps.dbg_enabled = false;
  env.caps.cu_mask = Support::kNo;
  c = ChooseLever(env, Cfg(), true, "sysfs");
  EXPECT_EQ(c.kind, LeverKind::kNone);
  EXPECT_TRUE(Has(c.why, "SET_CU_MASK refused")) << c.why;
}

TEST(ChooseLeverTest, ExplicitLevel2DoesNotFallBackToCuMask) {
  LeverEnvironment env = Env();
  env.caps.update_queue = Support::kNo;
  LeverChoice c = ChooseLever(env, Cfg(LevelChoice::kLevel2), true, "sysfs");
  EXPECT_EQ(c.kind, LeverKind::kNone);
  EXPECT_TRUE(Has(c.why, "HSAPREEMPT_LEVEL=2")) << c.why;
}

TEST(ChooseLeverTest, SuspendModeNeedsKfd113) {
  LeverChoice c = ChooseLever(Env(11), Cfg(LevelChoice::kLevel2, L2Mode::kSuspend), true, "sysfs");
  EXPECT_EQ(c.kind, LeverKind::kNone);
  EXPECT_TRUE(Has(c.why, "1.13")) << c.why;
  EXPECT_EQ(ChooseLever(Env(14), Cfg(LevelChoice::kLevel2, L2Mode::kSuspend), true, "sysfs").kind,
            LeverKind::kDbgSuspend);
  // auto level with suspend impossible falls to the CU mask.
  EXPECT_EQ(ChooseLever(Env(11), Cfg(LevelChoice::kAuto, L2Mode::kSuspend), true, "sysfs").kind,
            LeverKind::kCuMask);
}

TEST(ChooseLeverTest, CuMaskLevel) {
  EXPECT_EQ(ChooseLever(Env(), Cfg(LevelChoice::kCuMask), true, "sysfs").kind, LeverKind::kCuMask);
  LeverChoice c = ChooseLever(Env(11, 0), Cfg(LevelChoice::kCuMask), true, "sysfs");
  EXPECT_EQ(c.kind, LeverKind::kNone);
  EXPECT_TRUE(Has(c.why, "CU count unknown"));
}

TEST(GracePeriodTest, ConvertsMicrosecondsToKiloClocks) {
  EXPECT_EQ(GracePeriodKclk(0, 2100), 0u);
  EXPECT_EQ(GracePeriodKclk(100, 2100), 210u);
  EXPECT_EQ(GracePeriodKclk(100, 0), 210u);  // unknown clock: MI300X peak
  EXPECT_EQ(GracePeriodKclk(1, 1500), 2u);   // rounded up
}

struct Fixture {
  explicit Fixture(uint32_t minor) {
    auto b = std::make_unique<FakeBackend>(1, minor);
    fake = b.get();
    device = std::make_unique<kfd::Device>(std::move(b), "");
    fake->AddTopologyGpu(1, 0x1234, 90402, 1216, 4, 2100);
    fake->queues[2].ring_base = 0x20000;
    fake->queues[2].ring_size = 4096;
    id.ring_base = 0x20000;
    id.ring_bytes = 4096;
    id.kfd_queue_id_known = true;
    id.kfd_queue_id = 2;
    id.gpu_id = 0x1234;
    id.mapping_method = "sysfs";
  }
  FakeBackend* fake;
  std::unique_ptr<kfd::Device> device;
  HwQueueIdentity id;
};

TEST(SelectLeverTest, BuildsUpdateQueueLeverThatWorks) {
  Fixture f(11);
  std::string why;
  auto lever = SelectLeverOn(f.device.get(), f.id, Cfg(), &why);
  ASSERT_EQ(lever->kind(), LeverKind::kUpdateQueue) << why;
  ASSERT_TRUE(lever->Engage().ok());
  EXPECT_EQ(f.fake->queues[2].percent, 0u);
  ASSERT_TRUE(lever->Release().ok());
}

TEST(SelectLeverTest, CuCountFromTopologyWhenNotGiven) {
  Fixture f(11);
  std::string why;
  auto lever = SelectLeverOn(f.device.get(), f.id, Cfg(LevelChoice::kCuMask), &why);
  ASSERT_EQ(lever->kind(), LeverKind::kCuMask) << why;
  ASSERT_TRUE(lever->Engage().ok());
  int bits = 0;
  for (uint32_t w : f.fake->queues[2].cu_mask) bits += __builtin_popcount(w);
  EXPECT_EQ(bits, 76);  // 25% of 304
}

TEST(SelectLeverTest, SuspendModeEnablesDebugTrapOnce) {
  Fixture f(14);
  f.fake->runtime_enabled = true;  // as a runtime that does RUNTIME_ENABLE itself
  Config cfg = Cfg(LevelChoice::kLevel2, L2Mode::kSuspend);
  cfg.l2_grace_us = 100;
  std::string why;
  auto lever = SelectLeverOn(f.device.get(), f.id, cfg, &why);
  ASSERT_EQ(lever->kind(), LeverKind::kDbgSuspend) << why;
  auto lever2 = SelectLeverOn(f.device.get(), f.id, cfg, &why);
  EXPECT_EQ(f.fake->dbg_calls(kfd::abi::kDbgTrapEnable), 1);
  ASSERT_TRUE(lever->Engage().ok());
  EXPECT_EQ(f.fake->last_dbg.suspend_queues.grace_period, 210u);
  ASSERT_TRUE(lever->Release().ok());
}

TEST(SelectLeverTest, DebugEnableRefusedFallsBackWithReason) {
  Fixture f(14);
  f.fake->runtime_enabled = true;
  f.fake->FailAlways(kfd::abi::kIocDbgTrap, EBUSY);  // e.g. rocgdb already attached
  std::string why;
  auto lever = SelectLeverOn(f.device.get(), f.id, Cfg(LevelChoice::kLevel2, L2Mode::kSuspend), &why);
  EXPECT_EQ(lever->kind(), LeverKind::kNone);
  EXPECT_TRUE(Has(why, "debug-trap enable")) << why;
  auto auto_lever =
      SelectLeverOn(f.device.get(), f.id, Cfg(LevelChoice::kAuto, L2Mode::kSuspend), &why);
  EXPECT_EQ(auto_lever->kind(), LeverKind::kCuMask) << why;
}

TEST(SelectLeverTest, SuspendModeWithoutRuntimeEnableFallsBack) {
  Fixture f(14);  // the queue exists and nobody enabled the runtime: RUNTIME_ENABLE says EEXIST
  std::string why;
  auto lever = SelectLeverOn(f.device.get(), f.id, Cfg(LevelChoice::kLevel2, L2Mode::kSuspend), &why);
  EXPECT_EQ(lever->kind(), LeverKind::kNone);
  EXPECT_TRUE(Has(why, "runtime enable")) << why;
  EXPECT_EQ(f.fake->dbg_calls(kfd::abi::kDbgTrapEnable), 0);
}

TEST(SelectLeverTest, LearnedRefusalStopsLaterQueues) {
  Fixture f(11);
  f.fake->FailNext(kfd::abi::kIocUpdateQueue, EPERM);
  std::string why;
  auto first = SelectLeverOn(f.device.get(), f.id, Cfg(LevelChoice::kLevel2), &why);
  ASSERT_EQ(first->kind(), LeverKind::kUpdateQueue);
  EXPECT_FALSE(first->Engage().ok());
  auto second = SelectLeverOn(f.device.get(), f.id, Cfg(LevelChoice::kLevel2), &why);
  EXPECT_EQ(second->kind(), LeverKind::kNone);
  EXPECT_TRUE(Has(why, "Operation not permitted")) << why;
}

}  // namespace
}  // namespace hsapreempt::levels
