// Mark lines and phase bookkeeping (see marks.h).
#include "run/marks.h"

#include <fmt/core.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>

#include "common/utf8.h"

namespace gt::run {
namespace {

// A mark line as a note quotes it: at most 80 bytes of valid UTF-8 (the line is the workload's,
// and the note goes to JSON and the database).
std::string quote_for_note(const std::string& line) { return valid_utf8(line, 80); }

}  // namespace

bool valid_mark_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || !std::isalpha(static_cast<unsigned char>(name[0])))
    return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

std::optional<Mark> parse_mark_line(std::string_view line, bool stdout_form, std::string& error) {
  error.clear();
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' '))
    line.remove_suffix(1);
  std::string text(line.substr(0, 200));
  std::istringstream in(text);
  std::string verb, name, what, stamp, extra;
  in >> verb;
  if (stdout_form) {
    if (verb == "greentrain-phase")
      verb = "phase";
    else if (verb == "greentrain-metric")
      verb = "metric";
    else
      return std::nullopt;  // ordinary output
  }
  auto number = [](const std::string& v) -> std::optional<double> {
    double x = NAN;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || !std::isfinite(x))
      return std::nullopt;
    return x;
  };
  if (verb == "phase") {
    in >> name >> what >> stamp >> extra;
    const std::optional<double> t = stamp.empty() ? std::nullopt : number(stamp);
    if (!valid_mark_name(name) || (what != "begin" && what != "end") || !extra.empty() ||
        (!stamp.empty() && (!t || *t < 0))) {
      error = fmt::format(
          "ignored mark '{}': expected 'phase NAME begin|end [T]' with NAME a "
          "letter then letters, digits or _ and T a monotonic time in seconds",
          quote_for_note(text));
      return std::nullopt;
    }
    return Mark{what == "begin" ? Mark::Kind::phase_begin : Mark::Kind::phase_end, name, 0, t};
  }
  if (verb == "metric") {
    std::string body;
    std::getline(in, body);
    const auto eq = body.find('=');
    auto trim = [](std::string s) {
      const auto a = s.find_first_not_of(' ');
      const auto b = s.find_last_not_of(' ');
      return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
    };
    name = eq == std::string::npos ? "" : trim(body.substr(0, eq));
    const std::optional<double> v =
        eq == std::string::npos ? std::nullopt : number(trim(body.substr(eq + 1)));
    if (!valid_mark_name(name) || !v) {
      error = fmt::format("ignored mark '{}': expected 'metric NAME=NUMBER' (finite)",
                          quote_for_note(text));
      return std::nullopt;
    }
    return Mark{Mark::Kind::metric, name, *v, std::nullopt};
  }
  error = fmt::format("ignored mark '{}': expected 'phase NAME begin|end' or 'metric NAME=VALUE'",
                      quote_for_note(text));
  return std::nullopt;
}

std::string PhaseBook::path_of_open() const {
  std::string p;
  for (const auto& o : open_) p += (p.empty() ? "" : "/") + o.name;
  return p;
}

void PhaseBook::add(const Mark& mark, double t_s) {
  if (mark.kind == Mark::Kind::metric) {
    if (!open_.empty()) open_.back().metrics[mark.name] = mark.value;
    return;
  }
  if (mark.kind == Mark::Kind::phase_begin) {
    for (const auto& o : open_)
      if (o.name == mark.name) {
        notes_.push_back(fmt::format(
            "phase '{}' began at {:.3f} s while '{}' was already open: a phase cannot contain "
            "itself; ignored",
            mark.name, t_s, path_of_open()));
        return;
      }
    if (open_.size() >= kMaxDepth) {
      notes_.push_back(
          fmt::format("phase '{}' began at {:.3f} s inside {} open phases ({}): "
                      "deeper nesting is not kept; ignored",
                      mark.name, t_s, kMaxDepth, path_of_open()));
      return;
    }
    open_.push_back({mark.name, t_s, {}});
    return;
  }
  // An end: it must close the innermost open phase. Ending an outer one while an inner one is
  // open means the two windows overlap without nesting.
  size_t k = open_.size();
  while (k > 0 && open_[k - 1].name != mark.name) --k;
  if (k == 0) {
    notes_.push_back(fmt::format("phase '{}' ended at {:.3f} s without a matching begin; ignored",
                                 mark.name, t_s));
    return;
  }
  if (k != open_.size()) {
    std::string inner;
    for (size_t i = k; i < open_.size(); ++i)
      inner += (inner.empty() ? "'" : ", '") + open_[i].name + "'";
    notes_.push_back(fmt::format(
        "phase '{}' ended at {:.3f} s while {} (begun inside it) was still open: the windows "
        "overlap and cannot nest; {} ignored",
        mark.name, t_s, inner, inner));
    open_.resize(k);
  }
  Open o = std::move(open_.back());
  open_.pop_back();
  PhaseSpan span;
  span.name = o.name;
  span.parent = path_of_open();
  span.t_begin_s = o.t_s;
  span.t_end_s = std::max(t_s, o.t_s);
  span.metrics = std::move(o.metrics);
  span.occurrence = ++occurrences_[span.path()];
  if (spans_.size() >= kMaxOccurrences) {
    ++dropped_;
    return;
  }
  spans_.push_back(std::move(span));
}

void PhaseBook::finish(double t_s) {
  for (const auto& o : open_)
    notes_.push_back(
        fmt::format("phase '{}' began at {:.3f} s and never ended (run ended at "
                    "{:.3f} s); not reported",
                    o.name, o.t_s, t_s));
  open_.clear();
  if (dropped_)
    notes_.push_back(fmt::format(
        "{} phase occurrences after the first {} were counted but not kept (at most {} per run)",
        dropped_, kMaxOccurrences, kMaxOccurrences));
  dropped_ = 0;
}

std::optional<MarkWriter> MarkWriter::from_environment(std::string* why_not) {
  auto fail = [&](std::string why) {
    if (why_not) *why_not = std::move(why);
    return std::optional<MarkWriter>();
  };
  const char* v = std::getenv("GREENTRAIN_MARK_FD");
  if (!v || !*v) return fail("GREENTRAIN_MARK_FD is not set: not inside a metered run");
  int fd = -1;
  const std::string_view text(v);
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), fd);
  if (ec != std::errc() || ptr != text.data() + text.size() || fd < 0)
    return fail(
        fmt::format("GREENTRAIN_MARK_FD='{}' is not a file descriptor number", text.substr(0, 20)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode))
    return fail(
        fmt::format("GREENTRAIN_MARK_FD={} is not an open pipe (the metered run that "
                    "set it has ended, or it was not inherited)",
                    fd));
  return MarkWriter(fd);
}

bool MarkWriter::line(const std::string& text) const {
  const std::string l = text + "\n";
  if (l.size() > PIPE_BUF) return false;
  ssize_t n;
  do {
    n = ::write(fd_, l.data(), l.size());
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(l.size());
}

bool MarkWriter::phase(std::string_view name, bool begin) const {
  return line(fmt::format("phase {} {} {:.6f}", name, begin ? "begin" : "end", monotonic_now_s()));
}

bool MarkWriter::metric(std::string_view name, double value) const {
  return line(fmt::format("metric {}={:.17g}", name, value));
}

double monotonic_now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace gt::run
