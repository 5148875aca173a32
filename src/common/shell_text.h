// Text that becomes part of a generated script (the Slurm job scripts) or a printed command
// line. Two rules keep such text data and never code: a value that must stay on its line (a
// plan's name, a scheduler option, a path written into a script) may hold no control
// character, which is refused where the value enters (one line naming the key); and every
// value is written as one word through shell_quote, which both /bin/sh and sbatch's #SBATCH
// line reader take back as the same single word.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace gt {

// `s` as one shell word: unchanged when it holds only characters no shell treats specially
// (letters, digits and -_./:=,+@%), else in single quotes with each ' written as '\''.
std::string shell_quote(std::string_view s);

// Why `text` cannot be written into a script line: "contains a control character (byte 0x0A,
// a line break)" for its first byte below 0x20 or equal to 0x7F; nullopt when it can.
std::optional<std::string> control_character_problem(std::string_view text);

}  // namespace gt
