// The carbon intensity options of the command line (cli/carbon_options.h): each flag lands in
// the plain carbon::CarbonOptions value the carbon module reads.
#include "cli/carbon_options.h"

#include <gtest/gtest.h>

namespace gt::cli {
namespace {

TEST(CarbonOptions, FlagsFillThePlainOptions) {
  CLI::App app;
  carbon::CarbonOptions o;
  add_carbon_options(app, o);
  app.parse("--country SWE --region gcp:us-west1 --intensity 30 --pue 1.1", false);
  EXPECT_EQ(o.country, "SWE");
  EXPECT_EQ(o.region, "gcp:us-west1");
  ASSERT_TRUE(o.intensity.has_value());
  EXPECT_DOUBLE_EQ(*o.intensity, 30);
  EXPECT_DOUBLE_EQ(o.pue, 1.1);
}

}  // namespace
}  // namespace gt::cli
