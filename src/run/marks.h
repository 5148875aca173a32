// The mark channel's language and the bookkeeping of phases. A metered run gives its child an
// inherited pipe named by GREENTRAIN_MARK_FD; each line written there is one mark:
//   phase NAME begin      phase NAME end      metric NAME=VALUE
// (stdout lines `greentrain-phase NAME begin|end` and `greentrain-metric NAME=VALUE` mean the
// same, timestamped when greentrain reads them, so less exactly). NAME is a letter followed by
// letters, digits or '_' (at most 64), since it becomes part of metric names such as
// train_energy_j. Phases may repeat (one occurrence per begin/end pair) but not nest: a begin
// while another phase is open, an end without its begin, and a phase still open when the run
// ends are recorded as notes, never as an exception.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gt::run {

struct Mark {
  enum class Kind { phase_begin, phase_end, metric };
  Kind kind = Kind::metric;
  std::string name;
  double value = 0;  // metric only
};

bool valid_mark_name(std::string_view name);

// Parses one line of the mark channel ("phase train begin", "metric loss=0.25"); with
// `stdout_prefix`, the stdout forms ("greentrain-phase train begin"). Returns the mark, or
// nullopt and a one-line reason in `error` (empty when the line is simply not a mark: stdout
// lines that do not start with greentrain-).
std::optional<Mark> parse_mark_line(std::string_view line, bool stdout_form, std::string& error);

// Pairs begin/end marks into occurrences. T is whatever the caller records at each mark
// (a snapshot of the meters); index of begin and end in the caller's list is kept instead so
// this stays a plain value type.
struct PhaseSpan {
  std::string name;
  int occurrence = 1;         // 1-based, per name
  size_t begin = 0, end = 0;  // indices of the caller's records
};

class PhaseBook {
 public:
  // Feeds a phase mark recorded as the caller's record `index` at time t_s (for messages).
  void add(const Mark& mark, size_t index, double t_s);
  // Closes the book at the end of the run: an open phase becomes a note.
  void finish(double t_s);
  const std::vector<PhaseSpan>& spans() const { return spans_; }
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  std::optional<std::pair<std::string, size_t>> open_;
  double open_t_ = 0;
  std::vector<PhaseSpan> spans_;
  std::vector<std::string> notes_;
};

// The writing end, for a process inside a metered run: GREENTRAIN_MARK_FD names an inherited
// pipe. Each line is written with one write() (shorter than PIPE_BUF, so lines from several
// processes never interleave).
class MarkWriter {
 public:
  // From the environment; `why_not` says why there is no channel (variable unset, not a
  // number, not an open pipe).
  static std::optional<MarkWriter> from_environment(std::string* why_not = nullptr);
  explicit MarkWriter(int fd) : fd_(fd) {}
  bool phase(std::string_view name, bool begin) const;  // false when the write failed
  bool metric(std::string_view name, double value) const;
  bool line(const std::string& text) const;

 private:
  int fd_;
};

}  // namespace gt::run
