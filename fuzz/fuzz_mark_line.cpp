// Fuzz target: a line of the mark channel, in its own form and the stdout form (run/marks.h),
// through the name check a metered run applies (run/reserved_names.h), and the UTF-8 sanitiser
// that guards the notes. A mark it accepts has a valid name and a finite metric value; a note
// it writes is valid UTF-8 (it goes to JSON and the database); the sanitiser's output is valid
// UTF-8 and never longer than asked.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/utf8.h"
#include "run/marks.h"
#include "run/reserved_names.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  static const gt::run::NameCheck check(
      std::vector<gt::run::KeptName>{{"run_id", "a run field"}, {"precision", "a factor"}});
  gt::run::PhaseBook book;
  for (const bool stdout_form : {false, true}) {
    std::string error;
    const auto mark = gt::run::parse_mark_line(line, stdout_form, error);
    if (!gt::is_valid_utf8(error)) __builtin_trap();
    if (!mark) continue;
    if (!error.empty() || !gt::run::valid_mark_name(mark->name)) __builtin_trap();
    if (mark->kind == gt::run::Mark::Kind::metric) {
      if (!std::isfinite(mark->value)) __builtin_trap();
      std::string why;
      const auto key = check.metric_key(mark->name, why);
      if (!key && !gt::is_valid_utf8(why)) __builtin_trap();
    } else if (auto problem = check.phase_problem(mark->name)) {
      if (!gt::is_valid_utf8(*problem)) __builtin_trap();
    } else {
      if (mark->t_s && !(std::isfinite(*mark->t_s) && *mark->t_s >= 0)) __builtin_trap();
      book.add(*mark, 0);
    }
  }
  book.finish(1);
  for (const auto& note : book.notes())
    if (!gt::is_valid_utf8(note)) __builtin_trap();
  const size_t limit = size % 97;
  const std::string clean = gt::valid_utf8(line, limit);
  if (clean.size() > limit || !gt::is_valid_utf8(clean)) __builtin_trap();
  return 0;
}
