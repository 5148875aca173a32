// Outside numbers: parse_finite takes one whole finite decimal number and nothing else
// (no NaN, no infinity, no overflow, no trailing unit), and plausible_power_w bounds meter power.
#include "common/numbers.h"

#include <gtest/gtest.h>

#include <string>

namespace gt {
namespace {

TEST(Numbers, ParseFiniteAcceptsDecimalNumbers) {
  EXPECT_EQ(*parse_finite("123.5"), 123.5);
  EXPECT_EQ(*parse_finite(" -0.25\r\n"), -0.25);
  EXPECT_EQ(*parse_finite("+1e5"), 1e5);
  EXPECT_EQ(*parse_finite("7"), 7.0);
}

TEST(Numbers, ParseFiniteRefusesNonFiniteAndJunk) {
  for (const char* bad : {"", " ", "nan", "NaN", "inf", "-inf", "infinity", "1e999", "-1e999",
                          "12 W", "0x10", "+-1", "1,5", "--1", "."})
    EXPECT_FALSE(parse_finite(bad)) << bad;
  EXPECT_FALSE(parse_finite(std::string(400, '9')));  // a 400-digit number overflows
}

TEST(Numbers, PlausiblePower) {
  EXPECT_TRUE(plausible_power_w(0));
  EXPECT_TRUE(plausible_power_w(350.5));
  EXPECT_FALSE(plausible_power_w(-250));
  EXPECT_FALSE(plausible_power_w(1e308));
  EXPECT_FALSE(plausible_power_w(std::numeric_limits<double>::quiet_NaN()));
}

}  // namespace
}  // namespace gt
