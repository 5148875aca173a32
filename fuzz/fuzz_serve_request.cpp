// Fuzz target: one request line of `greentrain meter --serve` (run/serve_request.h), and the
// same line as a window query (run/windows.h), which a metered run's mark channel carries too. A
// request it accepts has a valid name (and id) and finite, non-negative instants; an error it
// gives is one line of valid UTF-8 of bounded length, whatever the line held (NUL, control
// bytes, invalid UTF-8), and a query's id, when an error names it, is a valid id.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/utf8.h"
#include "run/marks.h"
#include "run/serve_request.h"
#include "run/windows.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto request = gt::run::parse_serve_request(line, error);
  if (request) {
    if (!error.empty()) __builtin_trap();
    if (request->verb != gt::run::ServeRequest::Verb::quit &&
        !gt::run::valid_mark_name(request->name))
      __builtin_trap();
    if (request->t_s && !(std::isfinite(*request->t_s) && *request->t_s >= 0)) __builtin_trap();
  } else {
    if (error.empty() || error.size() > 700 || !gt::is_valid_utf8(error)) __builtin_trap();
    for (char c : error)
      if (static_cast<unsigned char>(c) < 0x20) __builtin_trap();  // one printable line
  }
  std::string id;
  if (const auto q = gt::run::parse_window_query(line, error, &id)) {
    if (error.empty()) {
      if (!gt::run::valid_query_id(q->id) || !gt::run::valid_mark_name(q->name) ||
          !(std::isfinite(q->t0_s) && q->t0_s >= 0 && std::isfinite(q->t1_s) && q->t1_s >= 0))
        __builtin_trap();
    } else {
      if (!gt::is_valid_utf8(error)) __builtin_trap();
      if (!id.empty() && !gt::run::valid_query_id(id)) __builtin_trap();
    }
  } else if (!error.empty()) {
    __builtin_trap();  // not a query: no error either
  }
  const std::string quoted = gt::run::quote_for_reply(line);
  if (!gt::is_valid_utf8(quoted) || quoted.size() > 6 * 80 + 2) __builtin_trap();
  return 0;
}
