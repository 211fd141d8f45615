// Progress lines off a terminal: one per tenth reached, none for small jobs.
#include "frugal/core/progress.h"

#include <gtest/gtest.h>

namespace frugal {
namespace {

TEST(ProgressBar, WritesALinePerTenthReachedWhenNotOnATerminal) {
  testing::internal::CaptureStderr();
  {
    ProgressBar progress("converting", 1000, 0);
    for (int i = 0; i < 4; ++i) progress.add(250);
  }
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_EQ(out,
            "converting:   0% (0.0 of 0.0 GB, 0 s)\n"
            "converting:  20% (0.0 of 0.0 GB, 0 s)\n"
            "converting:  50% (0.0 of 0.0 GB, 0 s)\n"
            "converting:  70% (0.0 of 0.0 GB, 0 s)\n"
            "converting: 100% (0.0 of 0.0 GB, 0 s)\n");
}

TEST(ProgressBar, SaysNothingForSmallJobs) {
  testing::internal::CaptureStderr();
  {
    ProgressBar progress("converting", 1000);
    progress.add(1000);
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace frugal
