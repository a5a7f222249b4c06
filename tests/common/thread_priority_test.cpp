// RaiseThisThreadPriority: raises where permitted, never lowers, touches only the calling thread.
#include "common/thread_priority.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace hsapreempt::common {
namespace {

int ThisThreadNice() {
  errno = 0;
  int v = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
  EXPECT_EQ(errno, 0);
  return v;
}

TEST(ThreadPriorityTest, ZeroOrALowerPriorityIsNeverApplied) {
  std::thread([] {
    const int before = ThisThreadNice();
    for (int want : {0, 19, before}) {
      NiceResult r = RaiseThisThreadPriority(want);
      EXPECT_FALSE(r.asked) << want;
      EXPECT_TRUE(r.error.empty()) << want;
      EXPECT_EQ(r.inherited, before);
      EXPECT_EQ(r.now, before);
      EXPECT_EQ(ThisThreadNice(), before) << "asked " << want;
    }
  }).join();
}

TEST(ThreadPriorityTest, RaisesOnlyTheCallingThreadOrSaysWhyNot) {
  const int main_before = ThisThreadNice();
  std::thread([&] {
    const int before = ThisThreadNice();
    const int want = before - 3 < -20 ? -20 : before - 3;
    if (want >= before) GTEST_SKIP() << "already at the highest priority";
    NiceResult r = RaiseThisThreadPriority(want);
    EXPECT_TRUE(r.asked);
    EXPECT_EQ(r.inherited, before);
    if (r.error.empty()) {
      EXPECT_EQ(r.now, want);
      EXPECT_EQ(ThisThreadNice(), want);
    } else {  // unprivileged: refused, unchanged, with the reason
      EXPECT_EQ(r.now, before);
      EXPECT_EQ(ThisThreadNice(), before);
    }
  }).join();
  EXPECT_EQ(ThisThreadNice(), main_before) << "another thread's raise leaked to this one";
}

}  // namespace
}  // namespace hsapreempt::common
