// Energy windows answered at the client's instants (see windows.h).
#include "run/windows.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>

#include "energy/edges.h"
#include "run/marks.h"

namespace gt::run {

energy::WindowEnergy window_energy(const energy::Session& session, double a_s, double b_s,
                                   const WindowAttribution& how, std::vector<std::string>* notes) {
  energy::WindowEnergy w = session.window(session.snapshot_at(a_s), session.snapshot_at(b_s));
  if (how.mode != energy::Attribution::machine) {
    const auto f = session.facts();
    const energy::MachineFacts facts{f.logical_cpus, f.ram_total_bytes, f.cpu_tdp_w};
    const energy::TreeShare share = how.usage ? how.usage->share(a_s, b_s) : energy::TreeShare{};
    for (auto& n : energy::attribute(w.components, w.duration_s, share, facts, how.mode))
      if (notes) notes->push_back(n);
  }
  // Net energy: a process figure is its own net; without a baseline nothing is, and a baseline
  // taken on a busy machine is no baseline for the machine's figures.
  const bool baseline = session.has_idle_baseline();
  for (auto& c : w.components)
    if (!baseline || (how.withhold_machine_net && c.attribution == Scope::machine))
      c.net_energy_j.reset();
  energy::recompute_totals(w.components, w.energy_j, w.net_energy_j, w.wall_energy_j);
  return w;
}

nlohmann::json window_reply(const std::string& name, const energy::WindowEnergy& w, double t_s,
                            const carbon::Intensity& intensity, double pue,
                            const std::vector<std::string>& notes) {
  nlohmann::json j = w.to_json();
  j["name"] = name;
  j["t_s"] = t_s;
  j["co2e_g"] = carbon::co2e_g(w.energy_j, intensity, pue);
  j["notes"] = notes;
  return j;
}

bool valid_query_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  return true;
}

namespace {

// A non-negative decimal number of seconds (digits, optionally '.' and digits).
std::optional<double> parse_instant(std::string_view t) {
  if (t.empty() || t.size() > 25 || t.find_first_not_of("0123456789.") != std::string_view::npos)
    return std::nullopt;
  double v = 0;
  const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || ptr != t.data() + t.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty() && out.size() < 7) {
    const auto sp = line.find(' ');
    out.push_back(line.substr(0, sp));
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
  }
  return out;
}

}  // namespace

std::optional<WindowQuery> parse_window_query(std::string_view line, std::string& error,
                                              std::string* id) {
  error.clear();
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line != "window" && line.substr(0, 7) != "window ") return std::nullopt;
  const auto w = words(line.substr(0, 256));
  if (w.size() > 1 && valid_query_id(w[1]) && id) *id = std::string(w[1]);
  WindowQuery q;
  std::optional<double> t0, t1;
  if (w.size() == 5) t0 = parse_instant(w[3]), t1 = parse_instant(w[4]);
  if (line.size() > 256 || w.size() != 5 || !valid_query_id(w[1]) || !valid_mark_name(w[2]) ||
      !t0 || !t1) {
    error =
        "expected 'window ID NAME T0 T1' (ID: letters, digits, '.', '_' or '-', at most 64; "
        "NAME a letter then letters, digits or _; T0 and T1 seconds on CLOCK_MONOTONIC)";
    return q;
  }
  q.id = std::string(w[1]);
  q.name = std::string(w[2]);
  q.t0_s = *t0;
  q.t1_s = *t1;
  return q;
}

ReplyQueue::ReplyQueue(Write write) : write_(std::move(write)), thread_([this] { loop(); }) {}

ReplyQueue::~ReplyQueue() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ReplyQueue::push(std::function<std::string()> job,
                      std::function<std::string(const std::string&)> on_error) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back({std::move(job), std::move(on_error)});
  }
  cv_.notify_all();
}

void ReplyQueue::abandon() {
  std::lock_guard lock(mu_);
  jobs_.clear();
  done_ = true;
  cv_.notify_all();
}

void ReplyQueue::loop() {
  // A reply to a reader that has gone must not kill the process: the write fails with EPIPE.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return done_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // done_ and drained
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    std::string line;
    try {
      line = job.run();
    } catch (const std::exception& e) {
      line = job.on_error ? job.on_error(e.what()) : fmt::format("error {}", e.what());
    }
    write_(line);
    lock.lock();
  }
}

WindowAnswers::WindowAnswers(energy::Session& session, Options options)
    : session_(session), options_(std::move(options)) {}

std::string WindowAnswers::check_instants(double a_s, double b_s, double now_s) const {
  // A little slack: the client's clock read and ours are microseconds apart.
  constexpr double slack_s = 0.005;
  const double start = session_.start_steady_s();
  for (double t : {a_s, b_s})
    if (t < start - slack_s || t > now_s + slack_s)
      return fmt::format(
          "time {:.6f} is not between the meter's start {:.6f} and now {:.6f} (CLOCK_MONOTONIC "
          "seconds)",
          t, start, now_s);
  if (b_s < a_s)
    return fmt::format("its end {:.6f} is before its begin {:.6f} (CLOCK_MONOTONIC seconds)", b_s,
                       a_s);
  return "";
}

nlohmann::json WindowAnswers::answer(const std::string& name, double a_s, double b_s) {
  std::call_once(notes_once_, [this] {
    if (options_.notes) notes_ = options_.notes();
  });
  const double start = session_.start_steady_s();
  a_s = std::max(a_s, start);
  b_s = std::max(b_s, a_s);
  std::vector<std::string> notes = notes_;
  if (!session_.wait_readings_past(b_s, options_.max_wait_s))
    notes.push_back(fmt::format(
        "no meter reading after the window's end within {:g} s: its last part is extrapolated at "
        "the latest power",
        options_.max_wait_s));
  const WindowAttribution& how = options_.attribution;
  if (how.sample_past) how.sample_past(b_s);
  const energy::WindowEnergy w = window_energy(session_, a_s, b_s, how, &notes);
  return window_reply(name, w, b_s - start, options_.intensity, options_.pue, notes);
}

WindowQueries::WindowQueries(energy::Session& session, WindowAnswers::Options options, int reply_fd)
    : answers_(session, std::move(options)),
      fd_(reply_fd),
      replies_([this](const std::string& line) { write_line(line); }) {
  // Our end of the reply pipe never blocks: a child that does not read cannot stall the run.
  if (fd_ >= 0) fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

WindowQueries::~WindowQueries() { stop(); }

void WindowQueries::stop() { replies_.abandon(); }

void WindowQueries::write_line(const std::string& line) {
  if (broken_ || fd_ < 0) return;
  const std::string text = line + "\n";
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + off, text.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 1000) > 0 && !(p.revents & (POLLERR | POLLHUP))) continue;
      if (off > 0) broken_ = true;  // half a line was written: later lines would be garbled
      return;                       // nobody reads: this reply is dropped
    }
    broken_ = true;  // EPIPE: every reader closed the channel
    return;
  }
  ++answered_;
}

bool WindowQueries::handle(const std::string& line, double t_read_s) {
  std::string error, id;
  auto q = parse_window_query(line, error, &id);
  if (!q) return false;
  if (!error.empty()) {
    if (!id.empty())
      replies_.push([id, error] { return fmt::format("window {} error {}", id, error); });
    return true;
  }
  const std::string problem = answers_.check_instants(q->t0_s, q->t1_s, t_read_s);
  if (!problem.empty()) {
    replies_.push([id = q->id, name = q->name, problem] {
      return fmt::format("window {} error window {}: {}", id, name, problem);
    });
    return true;
  }
  replies_.push(
      [this, q = *q] {
        return fmt::format("window {} {}", q.id, answers_.answer(q.name, q.t0_s, q.t1_s).dump());
      },
      [id = q->id, name = q->name](const std::string& what) {
        return fmt::format("window {} error window {}: {}", id, name, what);
      });
  return true;
}

}  // namespace gt::run
