// One request line of `greentrain meter --serve` (protocol 2; cli/meter.cpp serves it), parsed
// on its own so the parser is a pure function that tests and the fuzzer drive directly:
//   begin NAME [T]      end NAME [T]      quit
// (the window query `window ID NAME T0 T1`, which a metered run answers too, is parsed by
// run/windows.h before a line comes here).
// NAME is a letter, then letters, digits or _ (at most 64); T, the client's instant on
// CLOCK_MONOTONIC in seconds, is 1-12 digits with up to 12 decimals. A line longer than
// kMaxServeRequestBytes is refused whole (the server reads no more of it than that), and an
// error that quotes the line quotes it as a JSON string: valid UTF-8, control characters and
// NUL escaped, at most 80 bytes of it, so a reply is always one printable line.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace gt::run {

// The longest request line (the longest valid one is 97 bytes).
inline constexpr size_t kMaxServeRequestBytes = 256;

struct ServeRequest {
  enum class Verb { begin, end, quit };
  Verb verb = Verb::quit;
  std::string name;           // begin and end
  std::optional<double> t_s;  // the client's instant, when it gave one
};

// Parses one line (without its newline; a trailing carriage return is ignored). Returns the
// request, or nullopt and a one-line reason in `error`.
std::optional<ServeRequest> parse_serve_request(std::string_view line, std::string& error);

// The reason given for a line of `bytes` bytes, longer than kMaxServeRequestBytes.
std::string request_too_long(size_t bytes);

// `text` as it is quoted in a reply: a JSON string of at most `max_bytes` bytes of it.
std::string quote_for_reply(std::string_view text, size_t max_bytes = 80);

}  // namespace gt::run
