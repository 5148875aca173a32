// The CNN path's status in every build: a build with the cuDNN path reports the places it
// searched (and the library, when one is usable); a build without it (no CUDA,
// -DGREENTRAIN_CUDNN=OFF, no cuDNN headers) says why it is absent, and `greentrain devices`
// prints either on its "cuDNN" line.
#include "engine/cudnn_status.h"

#include <gtest/gtest.h>

#include <string>

#include "common/locations.h"
#include "common/subprocess.h"

namespace gt::engine {
namespace {

TEST(CudnnStatus, SaysWhatTheBuildHas) {
  const CudnnStatus s = cudnn_status();
  if (GT_TEST_HAVE_CUDNN) {
    EXPECT_EQ(s.absent, "");
    ASSERT_FALSE(s.tried.empty());
    EXPECT_EQ(s.tried.front().rfind("GREENTRAIN_CUDNN_LIB", 0), 0u) << s.tried.front();
    if (s.usable) {
      EXPECT_EQ(s.version.rfind("9.", 0), 0u) << s.version;  // 9.x: what the build was made for
      EXPECT_FALSE(s.library.empty());
      EXPECT_NE(s.tried.back().find("used (cuDNN " + s.version + ")"), std::string::npos);
    }
  } else {
    EXPECT_EQ(s.absent.rfind("this greentrain was built with", 0), 0u) << s.absent;
    EXPECT_FALSE(s.usable);
    EXPECT_TRUE(s.tried.empty());
  }
}

TEST(CudnnStatus, DevicesVerbPrintsIt) {
  const auto r =
      gt::testing::run_process({gt::testing::greentrain_binary(), "devices", "--gpus", "none"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::string head = "\ncuDNN (the CUDA backend's CNN path): ";
  const size_t at = r.out.find(head);
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string rest = r.out.substr(at + head.size());
  if (GT_TEST_HAVE_CUDNN)
    EXPECT_TRUE(rest.rfind("cuDNN 9.", 0) == 0 || rest.rfind("none usable", 0) == 0) << rest;
  else
    EXPECT_EQ(rest.rfind("absent: this greentrain was built with", 0), 0u) << rest;
}

}  // namespace
}  // namespace gt::engine
