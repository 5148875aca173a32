// The mark channel's language and the bookkeeping of phases. A metered run gives its child an
// inherited pipe named by GREENTRAIN_MARK_FD; each line written there is one mark:
//   phase NAME begin [T]      phase NAME end [T]      metric NAME=VALUE
// T, optional, is the writer's own instant on CLOCK_MONOTONIC in seconds (the clock every
// process of the machine shares): the mark is dated there, however late it is read. Without
// T a mark is dated when the meter reads it. (stdout lines `greentrain-phase NAME begin|end`
// and `greentrain-metric NAME=VALUE` mean the same, dated when read.) NAME is a letter followed
// by letters, digits or '_' (at most 64), since it becomes part of metric names such as
// train_energy_j. Phases may repeat (one occurrence per begin/end pair) and nest: a phase that
// begins while another is open is a sub-phase of it (`epoch` inside `train` is `train/epoch`),
// and a metric reported while a phase is open belongs to that occurrence too (per-epoch
// accuracy). Windows that overlap without nesting, an end without its begin and a phase still
// open when the run ends are recorded as notes, never as an exception.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gt::run {

struct Mark {
  enum class Kind { phase_begin, phase_end, metric };
  Kind kind = Kind::metric;
  std::string name;
  double value = 0;           // metric only
  std::optional<double> t_s;  // the writer's CLOCK_MONOTONIC instant, when it gave one
};

bool valid_mark_name(std::string_view name);

// Parses one line of the mark channel ("phase train begin", "phase train end 5123.25",
// "metric loss=0.25"); with `stdout_form`, the stdout forms ("greentrain-phase train begin").
// Returns the mark, or nullopt and a one-line reason in `error` (empty when the line is simply
// not a mark: stdout lines that do not start with greentrain-).
std::optional<Mark> parse_mark_line(std::string_view line, bool stdout_form, std::string& error);

// One occurrence of a phase: its name, the path of the occurrence it is nested in ("" at top
// level), its instants, and the metrics reported while it was the innermost open phase.
struct PhaseSpan {
  std::string name;
  std::string parent;  // "train" for train/epoch; "" at top level
  int occurrence = 1;  // 1-based, per path (parent/name)
  double t_begin_s = 0, t_end_s = 0;
  std::map<std::string, double> metrics;
  std::string path() const { return parent.empty() ? name : parent + "/" + name; }
};

// Pairs begin/end marks into nested occurrences, in the order the marks happened.
class PhaseBook {
 public:
  // At most this many occurrences are kept; later ones are counted and reported in one note.
  static constexpr size_t kMaxOccurrences = 10000;
  static constexpr size_t kMaxDepth = 8;
  // Feeds one mark dated t_s (seconds on the run's clock).
  void add(const Mark& mark, double t_s);
  // Closes the book at the end of the run: an open phase becomes a note.
  void finish(double t_s);
  const std::vector<PhaseSpan>& spans() const { return spans_; }
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  struct Open {
    std::string name;
    double t_s;
    std::map<std::string, double> metrics;
  };
  std::string path_of_open() const;
  std::vector<Open> open_;
  std::map<std::string, int> occurrences_;  // per path
  std::vector<PhaseSpan> spans_;
  std::vector<std::string> notes_;
  size_t dropped_ = 0;
};

// The writing end, for a process inside a metered run: GREENTRAIN_MARK_FD names an inherited
// pipe. Each line is written with one write() (shorter than PIPE_BUF, so lines from several
// processes never interleave); phase marks carry the writer's instant.
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

// CLOCK_MONOTONIC now, in seconds: the T of a mark.
double monotonic_now_s();

}  // namespace gt::run
