// The metered-run service (see metered_run.h).
#include "run/metered_run.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "common/error.h"
#include "common/trace.h"
#include "run/marks.h"

namespace gt::run {
namespace {

// What is recorded at each mark (and at the run's start and end).
struct Record {
  energy::Snapshot snap;
  energy::TreeUsage tree;
  std::optional<energy::MachineCpu> machine;
};

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// Reads lines from a pipe on its own thread until stop(); each complete line goes to on_line at
// once. stop() wakes the thread, which first drains what is already in the pipe. With
// `copy_to` >= 0 every byte is also written there (tee).
class LineReader {
 public:
  LineReader(int fd, int copy_to, std::function<void(const std::string&)> on_line)
      : fd_(fd), copy_to_(copy_to), on_line_(std::move(on_line)) {
    if (pipe2(wake_, O_CLOEXEC) != 0) throw Error("cannot create a pipe");
    thread_ = std::thread([this] { loop(); });
  }
  ~LineReader() {
    stop();
    close(wake_[0]);
    close(wake_[1]);
  }
  void stop() {
    if (!thread_.joinable()) return;
    const char c = 1;
    (void)!write(wake_[1], &c, 1);
    thread_.join();
  }

 private:
  // Reads once; false at end of file or error.
  bool read_some(std::string& pending) {
    char buf[4096];
    ssize_t n;
    do {
      n = read(fd_, buf, sizeof buf);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    bool broken = false;
    if (copy_to_ >= 0) {
      ssize_t off = 0;
      while (off < n) {
        const ssize_t w = write(copy_to_, buf + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EPIPE) {
          broken = true;
          break;
        }
        if (w <= 0) break;
        off += w;
      }
    }
    pending.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      on_line_(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
    if (pending.size() > 65536) pending.clear();  // not line-oriented: no marks in it
    return broken ? close_broken_copy() : true;
  }
  // Whoever read greentrain's stdout has gone (`measure ... | head -1`): the child's stdout
  // closes too, so its next write fails as it would without greentrain in between; the pipe's
  // read end is replaced by /dev/null, keeping the descriptor its owner will close. Returns
  // false: nothing more is read.
  bool close_broken_copy() {
    copy_to_ = -1;
    const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) {
      dup3(null_fd, fd_, O_CLOEXEC);
      close(null_fd);
    }
    return false;
  }
  void loop() {
    std::string pending;
    while (true) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        if (!read_some(pending)) break;  // every writer closed it
        continue;
      }
      if (p[1].revents) {  // stop: drain what is there without blocking
        pollfd d{fd_, POLLIN, 0};
        while (::poll(&d, 1, 0) > 0 && (d.revents & POLLIN) && read_some(pending)) {
        }
        break;
      }
    }
    if (!pending.empty()) on_line_(pending);
  }
  int fd_, copy_to_;
  int wake_[2] = {-1, -1};
  std::function<void(const std::string&)> on_line_;
  std::thread thread_;
};

nlohmann::json opt(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

// Drops net energies: those of machine figures (their idle baseline is not valid), or all of
// them (`all`: there is no baseline, so not even a process figure's net is meaningful).
void withhold_net(std::vector<energy::ComponentEnergy>& comps, std::optional<double>& net,
                  bool all = false) {
  net.reset();
  for (auto& c : comps)
    if (all || c.attribution == "machine") c.net_energy_j.reset();
}

}  // namespace

nlohmann::json PhaseResult::to_json() const {
  nlohmann::json j = energy.to_json();
  j["name"] = name;
  j["occurrence"] = occurrence;
  j["t_begin_s"] = t_begin_s;
  j["co2e_g"] = co2e_g;
  return j;
}

std::map<std::string, double> MeteredResult::phase_metrics() const {
  std::map<std::string, double> out;
  std::map<std::string, bool> all_net, has_gpu;
  for (const auto& p : phases) {
    if (!all_net.count(p.name)) all_net[p.name] = true, has_gpu[p.name] = false;
    out[p.name + "_energy_j"] += p.energy.energy_j;
    out[p.name + "_duration_s"] += p.energy.duration_s;
    if (p.energy.net_energy_j)
      out[p.name + "_net_energy_j"] += *p.energy.net_energy_j;
    else
      all_net[p.name] = false;
    for (const auto& c : p.energy.components)
      if (c.component == "gpu") has_gpu[p.name] = true;
    if (has_gpu[p.name]) out[p.name + "_gpu_energy_j"] += p.energy.component_energy_j("gpu");
  }
  for (const auto& [name, ok] : all_net)
    if (!ok) out.erase(name + "_net_energy_j");
  return out;
}

nlohmann::json MeteredResult::to_json(const carbon::Intensity& intensity, double pue) const {
  nlohmann::json j = summary.to_json();
  j["co2e_g"] = co2e_g;
  j["wall_co2e_g"] = opt(wall_co2e_g);
  j["carbon"] = {{"intensity_g_per_kwh", intensity.g_per_kwh},
                 {"label", intensity.label},
                 {"source", intensity.source},
                 {"year", intensity.year},
                 {"pue", pue}};
  j["exit_code"] = exit_code;
  j["attribution"] = attribution;
  j["idle"] = {{"cpu_busy_pct", idle_cpu_busy ? nlohmann::json(100 * *idle_cpu_busy) : nullptr},
               {"busy", idle_busy}};
  j["phases"] = nlohmann::json::array();
  for (const auto& p : phases) j["phases"].push_back(p.to_json());
  // Per phase: a number, or a list (one per occurrence) when the phase repeated.
  nlohmann::json pm = nlohmann::json::object();
  std::map<std::string, int> count;
  for (const auto& p : phases) ++count[p.name];
  for (const auto& entry : count) {
    // Named copies, not structured bindings: clang 14 (the sanitizer build) cannot capture those.
    const std::string& name = entry.first;
    const int n = entry.second;
    auto per = [&](auto value) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& p : phases)
        if (p.name == name) list.push_back(value(p));
      return n == 1 ? list[0] : list;
    };
    pm[name + "_energy_j"] =
        per([](const PhaseResult& p) { return nlohmann::json(p.energy.energy_j); });
    pm[name + "_net_energy_j"] =
        per([](const PhaseResult& p) { return opt(p.energy.net_energy_j); });
    pm[name + "_duration_s"] =
        per([](const PhaseResult& p) { return nlohmann::json(p.energy.duration_s); });
    pm[name + "_gpu_energy_j"] = per([](const PhaseResult& p) {
      bool gpu = false;
      for (const auto& c : p.energy.components) gpu |= c.component == "gpu";
      return gpu ? nlohmann::json(p.energy.component_energy_j("gpu")) : nlohmann::json();
    });
  }
  j["phase_metrics"] = pm;
  j["metrics"] = metrics;
  j["notes"] = summary.notes;
  return j;
}

struct MeteredRun::Impl {
  MeteredRunOptions options;
  energy::Attribution mode = energy::Attribution::automatic;
  carbon::Intensity intensity;
  std::unique_ptr<energy::Session> session;
  bool idle_busy = false;
};

MeteredRun::MeteredRun(const MeteredRunOptions& options) : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  s.options = options;
  // Everything a user can get wrong, before any work: carbon first (no hardware probing),
  // then the attribution mode, then the meters (GPU selection, wall meter, intervals).
  s.intensity = carbon::resolve(options.carbon);
  s.mode = energy::parse_attribution(options.attribution);
  s.session = std::make_unique<energy::Session>(options.meters);
  trace_point("meters ready");
}

MeteredRun::~MeteredRun() = default;

energy::Session& MeteredRun::session() { return *impl_->session; }
const carbon::Intensity& MeteredRun::intensity() const { return impl_->intensity; }
double MeteredRun::pue() const { return impl_->options.carbon.pue; }

bool MeteredRun::measure_idle(double seconds, const std::function<bool()>& stop_requested,
                              std::string* warning) {
  auto& s = *impl_;
  if (!s.session->measure_idle(seconds, stop_requested)) return false;
  const auto busy = s.session->idle_cpu_busy();
  s.idle_busy = busy && *busy > s.options.busy_idle_share;
  if (s.idle_busy && warning)
    *warning = fmt::format(
        "the machine was {:.0f} % busy during the idle baseline (more than {:.0f} %): it was not "
        "idle, so net energy is not reported",
        100 * *busy, 100 * s.options.busy_idle_share);
  return true;
}

MeteredResult MeteredRun::run(ChildSpec spec, const ChildPoll& poll) {
  auto& s = *impl_;
  energy::Session& session = *s.session;
  MeteredResult out;
  out.attribution = s.options.attribution.empty() ? "auto" : s.options.attribution;
  out.idle_cpu_busy = session.idle_cpu_busy();
  out.idle_busy = s.idle_busy;

  int mark_pipe[2];
  if (pipe2(mark_pipe, O_CLOEXEC) != 0) throw Error("cannot create the mark channel (pipe)");
  Fd mark_read(mark_pipe[0]), mark_write(mark_pipe[1]);
  spec.env.emplace_back("GREENTRAIN_MARK_FD", std::to_string(mark_write.get()));
  spec.keep_fds.push_back(mark_write.get());

  std::mutex mu;  // guards everything below that the reader threads touch
  std::vector<Record> records;
  std::vector<std::pair<double, double>> rss;  // (t_s, bytes) of the live tree
  PhaseBook book;
  std::vector<std::string> mark_notes;
  std::set<std::string> refused_names;
  std::atomic<int> group{0};
  bool running = false;

  auto record_now = [&]() -> size_t {
    Record r;
    r.snap = session.snapshot();
    r.tree = energy::read_group_usage(group.load());
    r.machine = energy::read_machine_cpu();
    records.push_back(std::move(r));
    return records.size() - 1;
  };
  auto on_mark = [&](const std::string& line, bool stdout_form) {
    std::string error;
    auto m = parse_mark_line(line, stdout_form, error);
    std::lock_guard lock(mu);
    if (!m) {
      if (!error.empty() && mark_notes.size() < 20) mark_notes.push_back(error);
      return;
    }
    // One name check for every source of marks; a refused name is noted once.
    std::string why;
    std::optional<std::string> key = m->name;
    if (m->kind == Mark::Kind::metric) {
      key = s.options.names.metric_key(m->name, why);
    } else if (auto problem = s.options.names.phase_problem(m->name)) {
      key.reset();
      why = *problem;
    }
    if (!key) {
      if (refused_names.insert(m->name).second && mark_notes.size() < 20) mark_notes.push_back(why);
      return;
    }
    if (m->kind == Mark::Kind::metric) {
      out.metrics[*key] = m->value;
      return;
    }
    if (!running) return;
    const size_t i = record_now();
    book.add(*m, i, records[i].snap.t_s);
  };

  // The child's stdout through a pipe, copied to where it was going, scanning for marks.
  Fd out_read, out_copy;
  int out_pipe[2] = {-1, -1};
  if (s.options.scan_stdout) {
    if (pipe2(out_pipe, O_CLOEXEC) != 0) throw Error("cannot create the stdout pipe");
    out_read.reset(out_pipe[0]);
    out_copy.reset(spec.stdout_path.empty() ? fcntl(1, F_DUPFD_CLOEXEC, 0)
                                            : open(spec.stdout_path.c_str(),
                                                   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (out_copy.get() < 0) {
      close(out_pipe[1]);
      throw Error(fmt::format("cannot open {} for the workload's stdout", spec.stdout_path));
    }
    spec.stdout_fd = out_pipe[1];
  }

  LineReader marks(mark_read.get(), -1, [&](const std::string& l) { on_mark(l, false); });
  std::unique_ptr<LineReader> stdout_reader;
  if (s.options.scan_stdout)
    stdout_reader = std::make_unique<LineReader>(out_read.get(), out_copy.get(),
                                                 [&](const std::string& l) { on_mark(l, true); });

  // The metered window: from the fork to the workload's own exit (hooks below).
  size_t last = 0;
  bool window_open = false;
  auto open_window = [&] {
    trace_point("window opens (child starts)");
    session.start();
    window_open = true;
    std::lock_guard lock(mu);
    running = true;
    record_now();
  };
  auto close_window = [&] {
    if (!window_open) return;
    trace_point("child exited");
    marks.stop();  // the marks written before the exit are read first
    if (stdout_reader) stdout_reader->stop();
    {
      std::lock_guard lock(mu);
      group = 0;  // the tree is gone: its total comes from the reaped rusage
      last = record_now();
      running = false;
      book.finish(records[last].snap.t_s);
    }
    out.summary = session.stop();
    trace_point("window closed (after the counter's next update)");
    window_open = false;
  };

  const bool live = s.options.live;
  double next_rss = 0, next_live = s.options.live_every_s;
  ChildResult child;
  try {
    child =
        run_child(spec, ChildPoll([&](int g, double elapsed) {
                    group = g;
                    if (elapsed >= next_rss && elapsed > 0.05) {
                      next_rss = elapsed + 1.0;
                      const auto u = energy::read_group_usage(g);
                      std::lock_guard lock(mu);
                      if (u.processes > 0) rss.emplace_back(elapsed, u.rss_bytes);
                    }
                    if (live && window_open && elapsed >= next_live) {
                      next_live = elapsed + s.options.live_every_s;
                      const auto snap = session.snapshot();
                      fmt::print(stderr, "\rgreentrain: {:.0f} s  {:.1f} kJ  {:.0f} W mean\033[K",
                                 snap.t_s, snap.energy_total_j / 1e3,
                                 snap.t_s > 0 ? snap.energy_total_j / snap.t_s : 0.0);
                      std::fflush(stderr);
                    }
                    return poll ? poll(g, elapsed) : 0;
                  }),
                  ChildHooks{open_window, close_window});
  } catch (...) {
    if (out_pipe[1] >= 0) close(out_pipe[1]);
    mark_write.reset();
    marks.stop();
    if (stdout_reader) stdout_reader->stop();
    if (window_open) session.stop();
    throw;
  }
  if (live && child.duration_s >= s.options.live_every_s) fmt::print(stderr, "\r\033[K");
  if (out_pipe[1] >= 0) close(out_pipe[1]);
  mark_write.reset();
  close_window();  // when the hooks could not run (never started)
  out.child = child;
  out.interrupted = child.stopped || child.signal_sent != 0;
  if (child.exit_code && *child.exit_code < 0)
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGKILL})
      if (-*child.exit_code == sig) out.interrupted = true;
  if (out.interrupted) out.summary.interrupted = true;
  out.exit_code = !child.started         ? 127
                  : !child.exit_code     ? 1
                  : *child.exit_code < 0 ? 128 - *child.exit_code
                                         : *child.exit_code;

  const auto facts = session.facts();
  const energy::MachineFacts mf{facts.logical_cpus, facts.ram_total_bytes, facts.cpu_tdp_w};
  auto mean_rss = [&](double a, double b, const Record& ra, const Record& rb) {
    double sum = 0;
    int n = 0;
    for (const auto& [t, bytes] : rss)
      if (t >= a && t <= b) sum += bytes, ++n;
    for (const Record* r : {&ra, &rb})
      if (r->tree.processes > 0) sum += r->tree.rss_bytes, ++n;
    return n ? std::optional<double>(sum / n) : std::nullopt;
  };
  auto busy = [](const Record& a, const Record& b) -> std::optional<double> {
    if (!a.machine || !b.machine) return std::nullopt;
    return b.machine->busy_s - a.machine->busy_s;
  };
  std::vector<std::string> notes = mark_notes;
  for (const auto& n : book.notes()) notes.push_back(n);

  // The whole run: the reaped tree's CPU time (every descendant, also those that exited).
  {
    const Record& a = records.front();
    const Record& b = records[last];
    energy::TreeShare share{child.cpu_s, busy(a, b), mean_rss(0, 1e300, a, b)};
    for (auto& n :
         energy::attribute(out.summary.components, out.summary.duration_s, share, mf, s.mode))
      notes.push_back(n);
    energy::recompute_totals(out.summary.components, out.summary.energy_j, out.summary.net_energy_j,
                             out.summary.wall_energy_j);
    if (!session.has_idle_baseline())  // no baseline: no net
      withhold_net(out.summary.components, out.summary.net_energy_j, true);
  }
  for (const auto& span : book.spans()) {
    const Record& a = records[span.begin];
    const Record& b = records[span.end];
    PhaseResult p;
    p.name = span.name;
    p.occurrence = span.occurrence;
    p.t_begin_s = a.snap.t_s;
    p.energy = session.window(a.snap, b.snap);
    energy::TreeShare share{std::max(0.0, b.tree.cpu_s - a.tree.cpu_s), busy(a, b),
                            mean_rss(a.snap.t_s, b.snap.t_s, a, b)};
    energy::attribute(p.energy.components, p.energy.duration_s, share, mf, s.mode);
    energy::recompute_totals(p.energy.components, p.energy.energy_j, p.energy.net_energy_j,
                             p.energy.wall_energy_j);
    if (!session.has_idle_baseline())
      withhold_net(p.energy.components, p.energy.net_energy_j, true);
    out.phases.push_back(std::move(p));
  }
  if (out.idle_busy) {
    notes.push_back(fmt::format(
        "idle baseline taken while the machine was {:.0f} % busy: net energy not reported",
        100 * out.idle_cpu_busy.value_or(0)));
    withhold_net(out.summary.components, out.summary.net_energy_j);
    for (auto& p : out.phases) withhold_net(p.energy.components, p.energy.net_energy_j);
    for (auto& p : out.phases)
      energy::recompute_totals(p.energy.components, p.energy.energy_j, p.energy.net_energy_j,
                               p.energy.wall_energy_j);
    out.summary.net_energy_j.reset();
  }
  const auto& I = s.intensity;
  out.co2e_g = carbon::co2e_g(out.summary.energy_j, I, s.options.carbon.pue);
  if (out.summary.wall_energy_j)
    out.wall_co2e_g = carbon::co2e_g(*out.summary.wall_energy_j, I, s.options.carbon.pue);
  for (auto& p : out.phases) p.co2e_g = carbon::co2e_g(p.energy.energy_j, I, s.options.carbon.pue);
  for (const auto& n : notes) out.summary.notes.push_back(n);
  out.notes = notes;
  return out;
}

}  // namespace gt::run
