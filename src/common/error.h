// The two exceptions every module throws for problems the user can fix. `Error` is printed as
// one line ("greentrain: <message>") and exits 1; `UsageError` exits 2 like a command-line
// mistake. Messages name the file, line, value or flag at fault and what was expected.
#pragma once
#include <stdexcept>
#include <string>

namespace gt {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct UsageError : Error {
  using Error::Error;
};

}  // namespace gt
