// Mark lines and phase bookkeeping (see marks.h).
#include "run/marks.h"

#include <fmt/core.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

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
std::string quoted(const std::string& line) { return valid_utf8(line, 80); }

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
  std::string verb, name, what, extra;
  in >> verb;
  if (stdout_form) {
    if (verb == "greentrain-phase")
      verb = "phase";
    else if (verb == "greentrain-metric")
      verb = "metric";
    else
      return std::nullopt;  // ordinary output
  }
  if (verb == "phase") {
    in >> name >> what >> extra;
    if (!valid_mark_name(name) || (what != "begin" && what != "end") || !extra.empty()) {
      error = fmt::format(
          "ignored mark '{}': expected 'phase NAME begin|end' with NAME a "
          "letter then letters, digits or _",
          quoted(text));
      return std::nullopt;
    }
    return Mark{what == "begin" ? Mark::Kind::phase_begin : Mark::Kind::phase_end, name, 0};
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
    const std::string value = eq == std::string::npos ? "" : trim(body.substr(eq + 1));
    double v = NAN;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (!valid_mark_name(name) || value.empty() || ec != std::errc() ||
        ptr != value.data() + value.size() || !std::isfinite(v)) {
      error =
          fmt::format("ignored mark '{}': expected 'metric NAME=NUMBER' (finite)", quoted(text));
      return std::nullopt;
    }
    return Mark{Mark::Kind::metric, name, v};
  }
  error = fmt::format("ignored mark '{}': expected 'phase NAME begin|end' or 'metric NAME=VALUE'",
                      quoted(text));
  return std::nullopt;
}

void PhaseBook::add(const Mark& mark, size_t index, double t_s) {
  if (mark.kind == Mark::Kind::phase_begin) {
    if (open_) {
      notes_.push_back(fmt::format(
          "phase '{}' began at {:.3f} s while '{}' was open: phases cannot nest; ignored",
          mark.name, t_s, open_->first));
      return;
    }
    open_ = {mark.name, index};
    open_t_ = t_s;
    return;
  }
  if (mark.kind != Mark::Kind::phase_end) return;
  if (!open_ || open_->first != mark.name) {
    notes_.push_back(fmt::format("phase '{}' ended at {:.3f} s without a matching begin; ignored",
                                 mark.name, t_s));
    return;
  }
  int occurrence = 1;
  for (const auto& s : spans_) occurrence += s.name == mark.name;
  spans_.push_back({mark.name, occurrence, open_->second, index});
  open_.reset();
}

void PhaseBook::finish(double t_s) {
  if (open_)
    notes_.push_back(
        fmt::format("phase '{}' began at {:.3f} s and never ended (run ended at "
                    "{:.3f} s); not reported",
                    open_->first, open_t_, t_s));
  open_.reset();
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
  return line(fmt::format("phase {} {}", name, begin ? "begin" : "end"));
}

bool MarkWriter::metric(std::string_view name, double value) const {
  return line(fmt::format("metric {}={:.17g}", name, value));
}

}  // namespace gt::run
