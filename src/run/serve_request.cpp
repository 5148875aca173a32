// The `meter --serve` request parser (see serve_request.h).
#include "run/serve_request.h"

#include <fmt/core.h>

#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "run/marks.h"

namespace gt::run {
namespace {

// "12" or "12.5": 1-12 digits, then optionally '.' and 1-12 digits.
bool valid_instant(std::string_view t) {
  const auto dot = t.find('.');
  const std::string_view whole = t.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : t.substr(dot + 1);
  auto digits = [](std::string_view d, size_t max) {
    if (d.empty() || d.size() > max) return false;
    for (char c : d)
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
  };
  return digits(whole, 12) && (dot == std::string_view::npos || digits(frac, 12));
}

// The next space-separated word of `rest` (exactly one space between words).
std::optional<std::string_view> next_word(std::string_view& rest) {
  if (rest.empty()) return std::nullopt;
  const auto sp = rest.find(' ');
  const std::string_view word = rest.substr(0, sp);
  rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  if (word.empty()) return std::nullopt;
  if (sp != std::string_view::npos && rest.empty()) return std::nullopt;  // a trailing space
  return word;
}

}  // namespace

std::string quote_for_reply(std::string_view text, size_t max_bytes) {
  return nlohmann::json(valid_utf8(text, max_bytes)).dump();
}

std::string request_too_long(size_t bytes) {
  return fmt::format(
      "request of {} bytes or more: a request is at most {} bytes (begin NAME [T], end NAME "
      "[T] or quit); ignored",
      bytes, kMaxServeRequestBytes);
}

std::optional<ServeRequest> parse_serve_request(std::string_view line, std::string& error) {
  error.clear();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxServeRequestBytes) {
    error = request_too_long(line.size());
    return std::nullopt;
  }
  if (line == "quit") return ServeRequest{};
  std::string_view rest = line;
  const auto verb = next_word(rest);
  const auto name = verb ? next_word(rest) : std::nullopt;
  const auto t = name ? next_word(rest) : std::nullopt;
  const bool words_ok = verb && name && rest.empty() && (t || line.back() != ' ');
  if (!words_ok || (*verb != "begin" && *verb != "end") || !valid_mark_name(*name) ||
      (t && !valid_instant(*t))) {
    error = fmt::format(
        "unknown request {}: expected window ID NAME T0 T1, begin NAME [T], end NAME [T] or "
        "quit (NAME a letter then letters, digits or _, at most 64; T seconds on "
        "CLOCK_MONOTONIC)",
        quote_for_reply(line));
    return std::nullopt;
  }
  ServeRequest r;
  r.verb = *verb == "begin" ? ServeRequest::Verb::begin : ServeRequest::Verb::end;
  r.name = std::string(*name);
  if (t) {
    double v = 0;
    std::from_chars(t->data(), t->data() + t->size(), v);
    r.t_s = v;
  }
  return r;
}

}  // namespace gt::run
