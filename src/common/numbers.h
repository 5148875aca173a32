// Numbers that come from outside the program (meter outputs, files, command-line options, plan
// values) are parsed here and nowhere else: the whole text must be one decimal number (spaces
// around it allowed), and the value must be finite. "nan", "inf", "1e999" and "12 W" are all
// "no number", so a bad reading becomes a missed sample or a one-line error at the point where
// it enters, never a NaN or an infinity downstream.
#pragma once
#include <optional>
#include <string_view>

namespace gt {

// A finite double from the whole of `text` (leading '+' and surrounding blanks allowed).
std::optional<double> parse_finite(std::string_view text);

// The largest power any meter may report (10 MW, well beyond one machine or one rack): a larger
// figure is a broken meter, and integrating it would overflow. Readings outside
// [0, kMaxPlausiblePowerW] are missed samples.
inline constexpr double kMaxPlausiblePowerW = 1e7;

// True for a finite power in [0, kMaxPlausiblePowerW].
bool plausible_power_w(double watts);

}  // namespace gt
