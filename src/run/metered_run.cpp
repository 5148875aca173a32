// The metered-run service (see metered_run.h). run() reads as its steps: open the channels,
// open the window, run the child (sampling the tree's usage), close the window, then build the
// result: the whole run, its phases, the flags and the carbon.
#include "run/metered_run.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <set>

#include "common/error.h"
#include "common/trace.h"
#include "energy/edges.h"
#include "run/line_reader.h"
#include "run/live_phases.h"
#include "run/marks.h"
#include "run/usage_timeline.h"
#include "run/windows.h"

namespace gt::run {
namespace {

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

nlohmann::json opt(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

// Drops net energies: those of machine figures (their idle baseline is not valid), or all of
// them (`all`: there is no baseline, so not even a process figure's net is meaningful).
void withhold_net(std::vector<energy::ComponentEnergy>& comps, std::optional<double>& net,
                  bool all = false) {
  net.reset();
  for (auto& c : comps)
    if (all || c.attribution == Scope::machine) c.net_energy_j.reset();
}

// The marks of one run as they arrive from the reader threads: parsed and dated at once (a
// few microseconds, so the writer never waits), kept in arrival order. Past kMaxMarks they
// are counted and dropped, so a workload that marks every step cannot exhaust memory.
class MarkLog {
 public:
  static constexpr size_t kMaxMarks = 200000;
  struct Dated {
    Mark mark;
    double t_s;                 // steady seconds
    bool writer_dated = false;  // t_s is the writer's own instant
    bool from_stdout = false;   // the stream it came on (each keeps its writer's order)
  };
  // A line read at steady instant t_read. A phase mark's own instant T (the writer's
  // CLOCK_MONOTONIC, the steady clock's scale) is used when it is plausible: not after the read
  // and not before the window; otherwise the mark is dated when read.
  explicit MarkLog(const NameCheck& names) : names_(names) {}
  // Returns the mark as filed (its name checked, its instant dated), or nullopt.
  std::optional<Mark> add(const std::string& line, double t_read, bool stdout_form,
                          double window_start_s, double* t_dated = nullptr) {
    std::string error;
    auto m = parse_mark_line(line, stdout_form, error);
    std::lock_guard lock(mu_);
    if (!m) {
      if (!error.empty() && errors_.size() < 20) errors_.push_back(error);
      return std::nullopt;
    }
    // One name check for every source of marks; a refused name is noted once.
    std::string why;
    std::optional<std::string> key = m->name;
    if (m->kind == Mark::Kind::metric) {
      key = names_.metric_key(m->name, why);
    } else if (auto problem = names_.phase_problem(m->name)) {
      key.reset();
      why = *problem;
    }
    if (!key) {
      if (refused_.insert(m->name).second && errors_.size() < 20) errors_.push_back(why);
      return std::nullopt;
    }
    m->name = *key;
    if (marks_.size() >= kMaxMarks) {
      ++dropped_;
      return std::nullopt;
    }
    double t = t_read;
    bool dated = false;
    if (m->t_s) {
      if (*m->t_s <= t_read + 0.005 && *m->t_s >= window_start_s - 0.005) {
        t = std::max(*m->t_s, window_start_s);
        dated = true;
      } else {
        ++bad_times_;
      }
    }
    marks_.push_back({*m, t, dated, stdout_form});
    if (t_dated) *t_dated = t;
    return m;
  }
  // Every mark in the order it happened (ties keep arrival order), and the notes on the log. A
  // mark dated when read (a metric) was written before the marks that follow it on its stream,
  // so it is dated no later than the next one its writer dated: a metric reported inside an
  // epoch stays inside it however late the reader saw it.
  std::vector<Dated> sorted() {
    std::lock_guard lock(mu_);
    std::vector<Dated> out = marks_;
    for (const bool stream : {false, true}) {
      double next = std::numeric_limits<double>::infinity();
      for (auto it = out.rbegin(); it != out.rend(); ++it) {
        if (it->from_stdout != stream) continue;
        if (it->writer_dated)
          next = std::min(next, it->t_s);
        else
          it->t_s = std::min(it->t_s, next);
      }
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Dated& a, const Dated& b) { return a.t_s < b.t_s; });
    return out;
  }
  std::vector<std::string> notes() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out = errors_;
    if (dropped_)
      out.push_back(
          fmt::format("{} marks after the first {} were counted and dropped (at most {} "
                      "per run)",
                      dropped_, kMaxMarks, kMaxMarks));
    if (bad_times_)
      out.push_back(
          fmt::format("{} marks carried a time that is not on this machine's monotonic "
                      "clock (or lies outside the run): dated when read",
                      bad_times_));
    return out;
  }

 private:
  const NameCheck& names_;
  std::mutex mu_;
  std::vector<Dated> marks_;
  std::vector<std::string> errors_;
  std::set<std::string> refused_;
  size_t dropped_ = 0, bad_times_ = 0;
};

}  // namespace

nlohmann::json PhaseResult::to_json() const {
  nlohmann::json j = energy.to_json();
  j["name"] = name;
  j["parent"] = parent;
  j["occurrence"] = occurrence;
  j["t_begin_s"] = t_begin_s;
  j["co2e_g"] = co2e_g;
  j["metrics"] = metrics;
  j["flagged"] = flagged;
  return j;
}

std::map<std::string, double> MeteredResult::phase_metrics() const {
  std::map<std::string, double> out;
  std::map<std::string, bool> all_net, has_gpu;
  std::map<std::string, double> u2;
  for (const auto& p : phases) {
    u2[p.name] += p.energy.uncertainty_j * p.energy.uncertainty_j;
    if (!all_net.count(p.name)) all_net[p.name] = true, has_gpu[p.name] = false;
    out[p.name + "_energy_j"] += p.energy.energy_j;
    out[p.name + "_duration_s"] += p.energy.duration_s;
    if (p.energy.net_energy_j)
      out[p.name + "_net_energy_j"] += *p.energy.net_energy_j;
    else
      all_net[p.name] = false;
    for (const auto& c : p.energy.components)
      if (c.component == Component::gpu) has_gpu[p.name] = true;
    if (has_gpu[p.name])
      out[p.name + "_gpu_energy_j"] += p.energy.component_energy_j(Component::gpu);
  }
  for (const auto& [name, ok] : all_net)
    if (!ok) out.erase(name + "_net_energy_j");
  for (const auto& [name, v] : u2) out[name + "_uncertainty_j"] = std::sqrt(v);
  // A phase that repeated its work R times (min_phase_s) is reported per repetition.
  for (const auto& entry : u2) {
    const double r = repetitions(entry.first);
    if (r == 1) continue;
    for (const std::string& suffix : phase_column_suffixes())
      if (auto it = out.find(entry.first + suffix); it != out.end()) it->second /= r;
  }
  return out;
}

double MeteredResult::repetitions(const std::string& phase) const {
  const auto it = metrics.find(phase + "_repetitions");
  return it != metrics.end() && it->second >= 1 ? it->second : 1.0;
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
  j["outside_cpu_share"] = opt(outside_cpu_share);
  j["flagged_phases"] = flagged_phases;
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
    const double r = repetitions(name);  // per repetition when the phase repeated its work
    auto per = [&](auto value) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& p : phases)
        if (p.name == name) {
          nlohmann::json v = value(p);
          list.push_back(v.is_number() ? nlohmann::json(v.get<double>() / r) : v);
        }
      return n == 1 ? list[0] : list;
    };
    if (r != 1) pm[name + "_repetitions"] = r;
    pm[name + "_energy_j"] =
        per([](const PhaseResult& p) { return nlohmann::json(p.energy.energy_j); });
    pm[name + "_net_energy_j"] =
        per([](const PhaseResult& p) { return opt(p.energy.net_energy_j); });
    pm[name + "_uncertainty_j"] =
        per([](const PhaseResult& p) { return nlohmann::json(p.energy.uncertainty_j); });
    pm[name + "_duration_s"] =
        per([](const PhaseResult& p) { return nlohmann::json(p.energy.duration_s); });
    pm[name + "_gpu_energy_j"] = per([](const PhaseResult& p) {
      bool gpu = false;
      for (const auto& c : p.energy.components) gpu |= c.component == Component::gpu;
      return gpu ? nlohmann::json(p.energy.component_energy_j(Component::gpu)) : nlohmann::json();
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

namespace {

// The pipes between a metered run and its child: the mark channel, and (when stdout is
// scanned for marks) the child's stdout, copied on to where it was going.
// What the steps of a run need of the MeteredRun.
struct RunContext {
  energy::Session& session;
  const MeteredRunOptions& options;
  energy::Attribution mode;
  const carbon::Intensity& intensity;
};

struct Channels {
  static constexpr int kMarkFd = 3;   // the mark channel's number in the child
  static constexpr int kReplyFd = 4;  // the reply channel's
  Fd mark_read, mark_write, reply_read, reply_write, out_read, out_copy, out_write;

  Channels(ChildSpec& spec, bool scan_stdout) {
    inherited_pipe(spec, "GREENTRAIN_MARK_FD", kMarkFd, "the mark channel", mark_read, mark_write,
                   true);
    // The reply channel: answers to the child's window queries (run/windows.h).
    inherited_pipe(spec, "GREENTRAIN_REPLY_FD", kReplyFd, "the reply channel", reply_read,
                   reply_write, false);
    if (!scan_stdout) return;
    int out_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0) throw Error("cannot create the stdout pipe");
    out_read.reset(out_pipe[0]);
    out_write.reset(out_pipe[1]);
    out_copy.reset(spec.stdout_path.empty() ? fcntl(1, F_DUPFD_CLOEXEC, 0)
                                            : open(spec.stdout_path.c_str(),
                                                   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (out_copy.get() < 0)
      throw Error(fmt::format("cannot open {} for the workload's stdout", spec.stdout_path));
    spec.stdout_fd = out_write.get();
  }
  // A pipe of which the child inherits one end (the writing end when `child_writes`) as
  // descriptor `number`, named by `variable` in its environment.
  static void inherited_pipe(ChildSpec& spec, const char* variable, int number, const char* what,
                             Fd& read_end, Fd& write_end, bool child_writes) {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) throw Error(fmt::format("cannot create {} (pipe)", what));
    read_end.reset(ends[0]);
    write_end.reset(ends[1]);
    spec.env.emplace_back(variable, std::to_string(number));
    spec.pass_fds.emplace_back(child_writes ? write_end.get() : read_end.get(), number);
  }
  // Our copies of the child's ends, once the child has its own: the readers then see the end of
  // file when the child's last writer closes, and a reply to a child that is gone fails.
  void close_write_ends() {
    out_write.reset();
    mark_write.reset();
    reply_read.reset();
  }
};

void print_live(energy::Session& session) {
  const auto snap = session.snapshot();
  fmt::print(stderr, "\rgreentrain: {:.0f} s  {:.1f} kJ  {:.0f} W mean\033[K", snap.t_s,
             snap.energy_total_j / 1e3, snap.t_s > 0 ? snap.energy_total_j / snap.t_s : 0.0);
  std::fflush(stderr);
}

void record_child(MeteredResult& out, const ChildResult& child) {
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
}

energy::MachineFacts machine_facts(const RunContext& s) {
  const auto f = s.session.facts();
  return {f.logical_cpus, f.ram_total_bytes, f.cpu_tdp_w};
}

// The whole run: the reaped tree's CPU time (every descendant, also those that exited), and the
// share of the machine's CPU that other work used meanwhile.
void attribute_run(const RunContext& s, MeteredResult& out, const ChildResult& child,
                   const UsageTimeline& usage, double t0, double t_close,
                   std::vector<std::string>& notes) {
  energy::TreeShare share = usage.share(t0, t_close);
  share.cpu_s = child.cpu_s;
  for (auto& n : energy::attribute(out.summary.components, out.summary.duration_s, share,
                                   machine_facts(s), s.mode))
    notes.push_back(n);
  energy::recompute_totals(out.summary.components, out.summary.energy_j, out.summary.net_energy_j,
                           out.summary.wall_energy_j);
  if (!s.session.has_idle_baseline())  // no baseline: no net
    withhold_net(out.summary.components, out.summary.net_energy_j, true);
  const auto busy = usage.machine_busy_s(t0, t_close);
  const auto total = usage.machine_total_s(t0, t_close);
  if (busy && total && *total > 0)
    out.outside_cpu_share = std::clamp((*busy - child.cpu_s) / *total, 0.0, 1.0);
}

// Each phase occurrence: the meters' energy between its instants (GPU counters interpolated on
// their update edges), attributed to the tree as the whole run is.
void build_phases(const RunContext& s, MeteredResult& out, MarkLog& log, const UsageTimeline& usage,
                  double t0, double t_close, std::vector<std::string>& notes) {
  PhaseBook book;
  for (const auto& d : log.sorted()) {
    book.add(d.mark, std::clamp(d.t_s, t0, t_close) - t0);
    if (d.mark.kind == Mark::Kind::metric) out.metrics[d.mark.name] = d.mark.value;
  }
  book.finish(t_close - t0);
  for (const auto& n : book.notes()) notes.push_back(n);
  WindowAttribution how;
  how.mode = s.mode;
  how.usage = &usage;
  for (const auto& span : book.spans()) {
    const double a = t0 + span.t_begin_s, b = t0 + span.t_end_s;
    PhaseResult p;
    p.name = span.name;
    p.parent = span.parent;
    p.occurrence = span.occurrence;
    p.t_begin_s = span.t_begin_s;
    p.metrics = span.metrics;
    p.energy = window_energy(s.session, a, b, how);
    p.flagged = p.energy.energy_j > 0 &&
                p.energy.uncertainty_j > s.options.flag_uncertainty_share * p.energy.energy_j;
    out.flagged_phases += p.flagged;
    out.phases.push_back(std::move(p));
  }
  if (out.flagged_phases)
    notes.push_back(fmt::format(
        "{} phase occurrence(s) have an energy uncertainty above {:.0f} % of their energy "
        "(flagged): the GPU counter could not resolve them well (docs/method.md, "
        "'Resolution')",
        out.flagged_phases, 100 * s.options.flag_uncertainty_share));
}

// A busy idle baseline withholds net energy; CO2e of the run, its wall figure and each phase.
void finish(const RunContext& s, MeteredResult& out, std::vector<std::string>& notes) {
  if (out.idle_busy) {
    notes.push_back(fmt::format(
        "idle baseline taken while the machine was {:.0f} % busy: net energy not reported",
        100 * out.idle_cpu_busy.value_or(0)));
    withhold_net(out.summary.components, out.summary.net_energy_j);
    for (auto& p : out.phases) {
      withhold_net(p.energy.components, p.energy.net_energy_j);
      energy::recompute_totals(p.energy.components, p.energy.energy_j, p.energy.net_energy_j,
                               p.energy.wall_energy_j);
    }
    out.summary.net_energy_j.reset();
  }
  const auto& I = s.intensity;
  out.co2e_g = carbon::co2e_g(out.summary.energy_j, I, s.options.carbon.pue);
  if (out.summary.wall_energy_j)
    out.wall_co2e_g = carbon::co2e_g(*out.summary.wall_energy_j, I, s.options.carbon.pue);
  for (auto& p : out.phases) p.co2e_g = carbon::co2e_g(p.energy.energy_j, I, s.options.carbon.pue);
  for (const auto& n : notes) out.summary.notes.push_back(n);
  out.notes = notes;
}

// The child's window queries are answered as its phases will be: the run's attribution mode over
// the run's process tree, net energy as the run reports it.
WindowAnswers::Options query_options(const RunContext& s, bool idle_busy, UsageTimeline& usage,
                                     const std::atomic<int>& group) {
  WindowAnswers::Options o;
  o.attribution.mode = s.mode;
  o.attribution.usage = &usage;
  o.attribution.sample_past = [&usage, &group](double t) {
    usage.sample_past([g = group.load()] { return energy::read_group_usage(g); }, t);
  };
  o.attribution.withhold_machine_net = idle_busy;
  o.intensity = s.intensity;
  o.pue = s.options.carbon.pue;
  o.max_wait_s = 2.0 + 2e-3 * s.options.meters.interval_ms;
  energy::Session& session = s.session;
  o.notes = [&session] { return session.environment()["notes"].get<std::vector<std::string>>(); };
  return o;
}

}  // namespace

MeteredResult MeteredRun::run(ChildSpec spec, const ChildPoll& poll,
                              const PhaseObserver& on_phase_end) {
  auto& s = *impl_;
  energy::Session& session = *s.session;
  MeteredResult out;
  out.attribution = s.options.attribution.empty() ? "auto" : s.options.attribution;
  out.idle_cpu_busy = session.idle_cpu_busy();
  out.idle_busy = s.idle_busy;

  Channels ch(spec, s.options.scan_stdout);
  MarkLog log(s.options.names);
  UsageTimeline usage;
  // The window opens before the child exists, so the child's first mark always finds it open.
  trace_point("window opens");
  session.start();
  const double t0 = session.start_steady_s();
  usage.maybe_sample(0, t0, true);
  const RunContext ctx{session, s.options, s.mode, s.intensity};
  std::atomic<int> group{0};
  WindowQueries queries(session, query_options(ctx, s.idle_busy, usage, group),
                        ch.reply_write.get());
  // Phases reported as they end, to the caller's observer (run/live_phases.h).
  std::unique_ptr<LivePhases> live_phases;
  if (on_phase_end)
    live_phases = std::make_unique<LivePhases>(
        session, t0, query_options(ctx, s.idle_busy, usage, group), on_phase_end);
  auto file_mark = [&](const std::string& l, double t, bool stdout_form) {
    double dated = t;
    const auto m = log.add(l, t, stdout_form, t0, &dated);
    if (m && live_phases) live_phases->add(*m, dated);
  };
  LineReader marks(ch.mark_read.get(), -1, [&](const std::string& l, double t) {
    if (!queries.handle(l, t)) file_mark(l, t, false);
  });
  std::unique_ptr<LineReader> stdout_reader;
  if (s.options.scan_stdout)
    stdout_reader = std::make_unique<LineReader>(
        ch.out_read.get(), ch.out_copy.get(),
        [&](const std::string& l, double t) { file_mark(l, t, true); });

  // The window closes as soon as the workload itself exits (its leftovers are then killed).
  bool window_open = true;
  double t_close = t0;
  auto close_window = [&] {
    if (!window_open) return;
    trace_point("child exited");
    t_close = energy::steady_now_s();
    usage.maybe_sample(group.load(), t_close, true);
    marks.stop();    // the marks written before the exit are read first
    queries.stop();  // nobody is left to read an answer
    if (stdout_reader) stdout_reader->stop();
    out.summary = session.stop();
    trace_point("window closed (after the counter's next update)");
    window_open = false;
    if (live_phases) live_phases->stop();  // after the stop: no report waits for a reading
  };

  const bool live = s.options.live;
  double next_live = s.options.live_every_s;
  ChildResult child;
  try {
    child = run_child(spec, ChildPoll([&](int g, double elapsed) {
                        group = g;
                        if (window_open) usage.maybe_sample(g, energy::steady_now_s());
                        if (live && window_open && elapsed >= next_live) {
                          next_live = elapsed + s.options.live_every_s;
                          print_live(session);
                        }
                        return poll ? poll(g, elapsed) : 0;
                      }),
                      ChildHooks{{}, close_window});
  } catch (...) {
    ch.close_write_ends();
    marks.stop();
    queries.stop();
    if (stdout_reader) stdout_reader->stop();
    if (window_open) session.stop();
    if (live_phases) live_phases->stop();
    throw;
  }
  if (live && child.duration_s >= s.options.live_every_s) fmt::print(stderr, "\r\033[K");
  ch.close_write_ends();
  close_window();  // when the hooks could not run (never started)

  record_child(out, child);
  std::vector<std::string> notes = log.notes();
  attribute_run(ctx, out, child, usage, t0, t_close, notes);
  build_phases(ctx, out, log, usage, t0, t_close, notes);
  finish(ctx, out, notes);
  return out;
}

}  // namespace gt::run
