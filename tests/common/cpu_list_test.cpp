#include "common/cpu_list.h"

#include <gtest/gtest.h>

#include <string>

namespace hsapreempt::common {
namespace {

std::string RoundTrip(const std::string& text) {
  cpu_set_t set;
  std::string error;
  if (!ParseCpuList(text, &set, &error)) return "refused: " + error;
  return FormatCpuList(set);
}

TEST(CpuList, ParsesSinglesRangesAndListsAndFormatsThemCollapsed) {
  EXPECT_EQ(RoundTrip("0"), "0");
  EXPECT_EQ(RoundTrip("3"), "3");
  EXPECT_EQ(RoundTrip("2-5"), "2-5");
  EXPECT_EQ(RoundTrip("0,2-3,7"), "0,2-3,7");
  EXPECT_EQ(RoundTrip("3,1,2"), "1-3") << "order and adjacency do not matter";
  EXPECT_EQ(RoundTrip("1-1"), "1");
  EXPECT_EQ(RoundTrip(std::to_string(CPU_SETSIZE - 1)), std::to_string(CPU_SETSIZE - 1));
}

TEST(CpuList, RefusesAnythingElseNamingTheElement) {
  for (const char* bad : {"", "x", "-1", "1-", "-", "3-1", "0,,1", "0,", " 1", "1.5",
                          "0x1", "1024", "99999999999999999999"}) {
    cpu_set_t set;
    std::string error;
    EXPECT_FALSE(ParseCpuList(bad, &set, &error)) << "'" << bad << "'";
    EXPECT_FALSE(error.empty()) << bad;
  }
  cpu_set_t set;
  std::string error;
  ASSERT_FALSE(ParseCpuList("0,7-x", &set, &error));
  EXPECT_NE(error.find("'7-x'"), std::string::npos) << error;
}

TEST(CpuList, FormatsAnEmptySetAsEmpty) {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(FormatCpuList(set), "");
}

}  // namespace
}  // namespace hsapreempt::common
