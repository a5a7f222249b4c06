#include "common/config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace hsapreempt::common {
namespace {

std::map<std::string, std::string>* g_env;
const char* FakeGetenv(const char* name) {
  auto it = g_env->find(name);
  return it == g_env->end() ? nullptr : it->second.c_str();
}

Config Parse(std::map<std::string, std::string> env) {
  g_env = &env;
  return Config::FromEnvironment(FakeGetenv);
}

TEST(ConfigTest, DefaultsWithEmptyEnvironment) {
  Config c = Parse({});
  EXPECT_TRUE(c.problems.empty());
  EXPECT_EQ(c.priority, 50);
  EXPECT_EQ(c.threshold, 16u);
  EXPECT_EQ(c.batch, 8u);
  EXPECT_EQ(c.level, LevelChoice::kAuto);
  EXPECT_EQ(c.log_level, LogLevel::kWarn);
  EXPECT_EQ(c.sched_nice, -10);
}

TEST(ConfigTest, SchedulerNiceOnlyRaisesPriority) {
  EXPECT_EQ(Parse({{"HSAPREEMPT_SCHED_NICE", "-20"}}).sched_nice, -20);
  EXPECT_EQ(Parse({{"HSAPREEMPT_SCHED_NICE", "0"}}).sched_nice, 0);
  Config c = Parse({{"HSAPREEMPT_SCHED_NICE", "5"}});  // we never run below the application
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_NE(c.problems[0].find("HSAPREEMPT_SCHED_NICE='5' is not an integer in -20..0"),
            std::string::npos) << c.problems[0];
  EXPECT_EQ(c.sched_nice, -10);
}

TEST(ConfigTest, ValidValuesAreTaken) {
  Config c = Parse({{"HSAPREEMPT_PRIORITY", "90"}, {"HSAPREEMPT_LEVEL", "2"},
                    {"HSAPREEMPT_POLICY", "weighted"}, {"HSAPREEMPT_THRESHOLD", "4"},
                    {"HSAPREEMPT_BATCH", "2"}, {"HSAPREEMPT_LOG_LEVEL", "DEBUG"},
                    {"HSAPREEMPT_THROTTLE", "always"}});
  EXPECT_TRUE(c.problems.empty());
  EXPECT_TRUE(c.throttle_always);
  EXPECT_EQ(c.priority, 90);
  EXPECT_EQ(c.level, LevelChoice::kLevel2);
  EXPECT_EQ(c.policy, PolicyChoice::kWeighted);
  EXPECT_TRUE(c.policy_set);
  EXPECT_EQ(c.threshold, 4u);
  EXPECT_EQ(c.batch, 2u);
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
}

TEST(ConfigTest, BadValuesGiveOneProblemEachAndKeepDefaults) {
  Config c = Parse({{"HSAPREEMPT_PRIORITY", "100"}, {"HSAPREEMPT_THRESHOLD", "0"},
                    {"HSAPREEMPT_LEVEL", "3"}, {"HSAPREEMPT_ENABLE", "yes"},
                    {"HSAPREEMPT_WEIGHT", "12abc"}, {"HSAPREEMPT_BOARD", "../etc"},
                    {"HSAPREEMPT_THROTTLE", "never"}});
  EXPECT_EQ(c.problems.size(), 7u);
  EXPECT_FALSE(c.throttle_always);
  EXPECT_EQ(c.priority, 50);
  EXPECT_EQ(c.threshold, 16u);
  EXPECT_EQ(c.level, LevelChoice::kAuto);
  EXPECT_TRUE(c.enable);
  EXPECT_EQ(c.weight, 1u);
  EXPECT_EQ(c.board, "gpu");
  EXPECT_NE(c.problems[0].find("HSAPREEMPT_"), std::string::npos);
}

TEST(ConfigTest, BatchIsClampedToThreshold) {
  Config c = Parse({{"HSAPREEMPT_THRESHOLD", "4"}});
  EXPECT_EQ(c.batch, 4u);
  Config d = Parse({{"HSAPREEMPT_THRESHOLD", "4"}, {"HSAPREEMPT_BATCH", "5"}});
  EXPECT_EQ(d.problems.size(), 1u);
  EXPECT_LE(d.batch, d.threshold);
}

}  // namespace
}  // namespace hsapreempt::common
