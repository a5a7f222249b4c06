#include "tools/support/json.h"

#include <gtest/gtest.h>

#include <cmath>

namespace hsapreempt::tools::json {
namespace {

TEST(JsonTest, ParsesNestedDocument) {
  Value v;
  std::string error;
  ASSERT_TRUE(Parse(R"( {"a": [1, 2.5, -3e2], "b": {"c": "x\"y\u00e9"}, "t": true, "n": null} )",
                    &v, &error))
      << error;
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.Get("a").items().size(), 3u);
  EXPECT_DOUBLE_EQ(v.Get("a").items()[1].AsNumber(), 2.5);
  EXPECT_DOUBLE_EQ(v.Get("a").items()[2].AsNumber(), -300);
  EXPECT_EQ(v.Get("b").Get("c").AsString(), "x\"y\xc3\xa9");
  EXPECT_TRUE(v.Get("t").AsBool());
  EXPECT_TRUE(v.Get("n").is_null());
  EXPECT_TRUE(v.Get("missing").is_null());
}

TEST(JsonTest, RejectsMalformedInputWithOffset) {
  Value v;
  std::string error;
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "1 2", "{\"a\":01x}", "-"}) {
    EXPECT_FALSE(Parse(bad, &v, &error)) << bad;
    EXPECT_NE(error.find("offset"), std::string::npos) << bad;
  }
}

TEST(JsonTest, LimitsNestingDepth) {
  Value v;
  std::string error;
  EXPECT_FALSE(Parse(std::string(1000, '[') + std::string(1000, ']'), &v, &error));
  EXPECT_TRUE(Parse(std::string(10, '[') + std::string(10, ']'), &v, &error));
}

TEST(JsonTest, WriterRoundTrips) {
  Writer w;
  w.BeginObject().Field("s", "a\nb").Field("i", int64_t{-5}).Field("u", uint64_t{7});
  w.Key("arr").BeginArray().Number(1.5).Bool(false).Null().EndArray();
  w.Field("nan", std::nan("")).EndObject();
  Value v;
  std::string error;
  ASSERT_TRUE(Parse(w.str(), &v, &error)) << w.str() << " " << error;
  EXPECT_EQ(v.Get("s").AsString(), "a\nb");
  EXPECT_EQ(v.Get("i").AsNumber(), -5);
  EXPECT_EQ(v.Get("arr").items().size(), 3u);
  EXPECT_TRUE(v.Get("nan").is_null());
  EXPECT_EQ(Serialize(v), w.str());
}

}  // namespace
}  // namespace hsapreempt::tools::json
