// Number and text formatting shared by the HTML and Markdown writers: significant digits,
// signed percentages, p-values ("< 0.001"), energy in J/Wh/kWh, and escaping for HTML and
// Markdown table cells. One place so both outputs print the same figures.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace gt::report {

std::string format_number(double v,
                          int significant = 4);  // 1234.5→"1234", 0.012345→"0.01235", NaN→"—"
std::string format_optional(const std::optional<double>& v, int significant = 4);  // "—" when empty
std::string format_signed_pct(double pct, bool with_sign = true);  // "−12.3 %" (true minus sign)
std::string format_p(double p);                                    // "< 0.001" or "= 0.0123"
std::string format_p_value(double p);      // "<0.001" or "0.0123" (table cells)
std::string format_energy(double joules);  // "12.3 kJ (3.42 Wh)"
std::string format_co2e(double grams);     // "1.23 g", "45.6 kg"
std::string html_escape(std::string_view s);
std::string markdown_cell(
    std::string_view s);  // stats::markdown_escape: HTML, Markdown, |, newlines
std::string json_for_script(const std::string& dumped);  // makes JSON safe inside <script>

}  // namespace gt::report
