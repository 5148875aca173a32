// Text a workload or a client wrote (its marks, its metric lines, the tail of its stderr, a
// request line) made fit for JSON, the results database and a report: valid UTF-8, each
// invalid byte replaced by U+FFFD, and cut on a character boundary when it must be short.
// nlohmann::json refuses invalid UTF-8 when it serialises, SQLite keeps whatever bytes it is
// given, and a cut in the middle of a character makes both, so such text passes through here
// where it enters greentrain, never later.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace gt {

// `text` as valid UTF-8 of at most `max_bytes` bytes: every byte that does not start a
// well-formed character (overlong forms, surrogates and code points above U+10FFFF included)
// becomes U+FFFD, and the cut falls before the first character that would not fit whole.
std::string valid_utf8(std::string_view text, size_t max_bytes = std::string_view::npos);

// True when `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

}  // namespace gt
