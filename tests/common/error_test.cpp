// The error hierarchy: a UsageError is an Error, so callers that only know Error still catch it.
#include "common/error.h"

#include <gtest/gtest.h>

TEST(Error, UsageErrorIsAnError) {
  try {
    throw gt::UsageError("bad flag");
  } catch (const gt::Error& e) {
    EXPECT_STREQ(e.what(), "bad flag");
    return;
  }
  FAIL() << "UsageError was not caught as Error";
}
