// Formatting helpers (see format.h).
#include "report/format.h"

#include <fmt/format.h>

#include <cmath>

#include "carbon/carbon.h"
#include "stats/analysis.h"

namespace gt::report {

std::string format_number(double v, int significant) {
  if (!std::isfinite(v)) return std::isnan(v) ? "—" : (v > 0 ? "∞" : "−∞");
  if (std::fabs(v) < 1e-9)
    return "0";  // rounding noise of differences (net of an estimate's idle), not data
  double mag = std::floor(std::log10(std::fabs(v)));
  if (mag >= significant - 1 && mag < 15) return fmt::format("{:.0f}", v);
  if (mag < -4) return fmt::format("{:.{}e}", v, significant - 1);
  int decimals = std::max(0, significant - 1 - static_cast<int>(mag));
  std::string s = fmt::format("{:.{}f}", v, decimals);
  return s == "-0" ? "0" : s;
}

std::string format_optional(const std::optional<double>& v, int significant) {
  return v ? format_number(*v, significant) : "—";
}

std::string format_signed_pct(double pct, bool with_sign) {
  std::string body = fmt::format("{:.1f}", std::fabs(pct));
  std::string sign =
      pct < 0 && body != "0.0" ? "\u2212" : (with_sign && pct > 0 && body != "0.0" ? "+" : "");
  return sign + body + " %";
}

std::string format_p(double p) {
  if (p < 0.001) return "< 0.001";
  return fmt::format("= {:.2g}", p);
}

std::string format_p_value(double p) {
  if (!std::isfinite(p)) return "—";
  if (p < 0.001) return "<0.001";
  return fmt::format("{:.3g}", p);
}

std::string format_energy(double j) {
  double wh = j / (carbon::kJoulesPerKwh / 1000);
  std::string joules = std::fabs(j) >= 1e6   ? format_number(j / 1e6, 3) + " MJ"
                       : std::fabs(j) >= 1e3 ? format_number(j / 1e3, 3) + " kJ"
                                             : format_number(j, 3) + " J";
  std::string hours =
      std::fabs(wh) >= 1e3 ? format_number(wh / 1e3, 3) + " kWh" : format_number(wh, 3) + " Wh";
  return joules + " (" + hours + ")";
}

std::string format_co2e(double g) {
  if (std::fabs(g) >= 1e6) return format_number(g / 1e6, 3) + " t";
  if (std::fabs(g) >= 1e3) return format_number(g / 1e3, 3) + " kg";
  return format_number(g, 3) + " g";
}

std::string html_escape(std::string_view s) { return stats::html_escape(s); }

std::string markdown_cell(std::string_view s) { return stats::markdown_escape(std::string(s)); }

std::string json_for_script(const std::string& dumped) {
  // '<' only occurs inside JSON strings, where \u003c means the same; this keeps "</script>"
  // and "<!--" out of the page's script elements. U+2028/2029 are escaped for old parsers.
  std::string out;
  out.reserve(dumped.size());
  for (size_t i = 0; i < dumped.size(); ++i) {
    char c = dumped[i];
    if (c == '<')
      out += "\\u003c";
    else if (c == '\xe2' && i + 2 < dumped.size() && dumped[i + 1] == '\x80' &&
             (dumped[i + 2] == '\xa8' || dumped[i + 2] == '\xa9')) {
      out += dumped[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else
      out += c;
  }
  return out;
}

}  // namespace gt::report
