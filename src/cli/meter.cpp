// `greentrain meter --serve [meter and carbon options] [--attribution MODE] [--root-pid PID]`: a
// meter for another program (the Python package) that answers energy windows over a line
// protocol on stdin/stdout, so that program uses greentrain's own meters instead of a
// re-implementation. The windows are answered by run/windows.h, the code that answers a metered
// run's window queries too, so a window gives the same figures standalone and inside a run.
//
// Protocol (version 2; python/README.md documents it for client writers): once the options
// are checked and the meters found, one line `ready {json}` (protocol, meters with source and
// model, notes, carbon intensity, attribution, root_pid). Then one request per line, one reply
// per request, in order:
//   window ID NAME T0 T1 -> window ID {"name","t_s","duration_s","energy_j","co2e_g",
//                           "wall_energy_j","uncertainty_j","components":[...],"notes"}
//                           or window ID error MESSAGE
//   begin NAME [T]       -> ok {"name","t_s"}
//   end NAME [T]         -> ok {the same object as a window reply}
//   quit                 -> (no reply) the meter stops and exits 0; end-of-file on stdin too
// T, T0 and T1 are the client's instants on CLOCK_MONOTONIC in seconds (without T, the instant
// the request was read). Nothing is read at a request: a window's energy comes from the readings
// the samplers took around its instants (the GPU counter interpolated between its update
// edges), once readings past its end exist. With --attribution process (or auto, for
// estimates) the CPU and RAM energy is that of the process tree of --root-pid (default: the
// meter's parent, the client) without the meter itself. A bad request gets `error MESSAGE` and
// the meter carries on: an unknown or malformed line (quoted back as a JSON string), a line
// longer than 256 bytes (the rest of it is not read into memory), an instant outside the
// meter's life, an end dated before its begin (the window stays open). Parsing is
// run/serve_request.h and run/windows.h. Errors before `ready` are the usual one line on stderr
// with exit code 2 (usage) or 1. Windows with different names may overlap. The meter exits when its
// parent process dies, even when another process still holds its stdin open (it watches its parent
// process id). With --prometheus-push or --prometheus-textfile, each window answered is
// published as a phase of this meter's run (run/run_metrics.h).
#include <fmt/core.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "carbon/carbon.h"
#include "cli/carbon_options.h"
#include "cli/meter_options.h"
#include "cli/prometheus_options.h"
#include "cli/run_output.h"
#include "cli/verbs.h"
#include "common/error.h"
#include "energy/attribution.h"
#include "energy/edges.h"
#include "energy/session.h"
#include "experiment/environment.h"
#include "run/run_metrics.h"
#include "run/serve_request.h"
#include "run/usage_timeline.h"
#include "run/windows.h"

namespace gt::cli {
namespace {

constexpr int kProtocol = 2;

struct ServeOptions {
  energy::MeterOptions meters;
  carbon::CarbonOptions carbon;
  bool serve = false;
  std::string attribution = "auto";
  int root_pid = 0;  // 0: the parent process
  prometheus::PublisherOptions prometheus;
};

// Reads request lines from stdin (without their newline); false at end of input. Of each line it
// keeps at most kMaxServeRequestBytes + 1 bytes (enough for the parser to refuse it), so a client
// that never ends a line cannot make it buffer without bound.
class RequestReader {
 public:
  bool next(std::string& line) {
    for (;;) {
      const auto nl = buf_.find('\n');
      if (nl != std::string::npos || (eof_ && !buf_.empty())) {
        line = buf_.substr(0, nl);
        buf_.erase(0, nl == std::string::npos ? buf_.size() : nl + 1);
        return true;
      }
      if (eof_) return false;
      fill();
    }
  }

 private:
  void fill() {
    char chunk[4096];
    const ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
    if (n > 0)
      take(std::string_view(chunk, static_cast<size_t>(n)));
    else if (n == 0 || errno != EINTR)
      eof_ = true;
  }
  // Appends input, dropping whatever of a line goes beyond kMaxServeRequestBytes + 1 bytes.
  void take(std::string_view in) {
    constexpr size_t keep = run::kMaxServeRequestBytes + 1;
    while (!in.empty()) {
      const auto nl = in.find('\n');
      const std::string_view part = in.substr(0, nl);
      if (!discarding_) {
        const auto last = buf_.rfind('\n');
        const size_t current = buf_.size() - (last == std::string::npos ? 0 : last + 1);
        const size_t room = current < keep ? keep - current : 0;
        buf_.append(part.substr(0, room));
        discarding_ = part.size() > room;
      }
      if (nl == std::string_view::npos) return;
      buf_ += '\n';
      discarding_ = false;
      in.remove_prefix(nl + 1);
    }
  }
  std::string buf_;
  bool eof_ = false;
  bool discarding_ = false;  // the line being read is longer than what is kept of it
};

// Exits when the parent process is gone (we were re-parented), checked every 100 ms.
void watch_parent() {
  const pid_t parent = getppid();
  std::thread([parent] {
    while (getppid() == parent) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    _exit(0);
  }).detach();
}

// Whether any of the session's CPU and RAM figures would be attributed to the process tree.
bool needs_tree(energy::Attribution mode, const std::vector<energy::ComponentEnergy>& meters) {
  if (mode == energy::Attribution::process) return true;
  if (mode == energy::Attribution::machine) return false;
  for (const auto& m : meters)
    if ((m.component == Component::cpu || m.component == Component::ram) &&
        m.source == Source::estimated)
      return true;
  return false;
}

// Samples the client's process tree on the usage timeline's cadence while the meter serves.
class TreeSampler {
 public:
  TreeSampler(run::UsageTimeline& usage, run::UsageTimeline::TreeReader tree)
      : thread_([this, &usage, tree = std::move(tree)] {
          while (!stop_) {
            usage.maybe_sample(tree, energy::steady_now_s());
            std::this_thread::sleep_for(
                std::chrono::duration<double>(run::UsageTimeline::kEvery_s));
          }
        }) {}
  ~TreeSampler() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The `ready` line: the protocol, the meters, their notes, the attribution and the carbon
// intensity the windows will use.
nlohmann::json ready_json(const ServeOptions& o, const nlohmann::json& env, int interval_ms,
                          const carbon::Intensity& intensity, int root) {
  nlohmann::json meters = nlohmann::json::array();
  for (const auto& m : env["meters"])
    meters.push_back({{"component", m["component"]},
                      {"device", m["device"]},
                      {"source", m["source"]},
                      {"model", m["model"]}});
  return {{"protocol", kProtocol},
          {"meters", meters},
          {"notes", env["notes"]},
          {"interval_ms", interval_ms},
          {"attribution", o.attribution},
          {"root_pid", root},
          {"carbon",
           {{"intensity_g_per_kwh", intensity.g_per_kwh},
            {"label", intensity.label},
            {"source", intensity.source},
            {"year", intensity.year},
            {"pue", o.carbon.pue}}}};
}

using AnswerWindow = std::function<nlohmann::json(const std::string&, double, double)>;

// One client's requests, read from stdin until quit or its end, each answered in order
// through the reply queue: window queries, and begin/end of named windows.
class ServeLoop {
 public:
  ServeLoop(run::WindowAnswers& answers, const energy::Session& session, AnswerWindow answer)
      : answers_(answers), session_(session), answer_(std::move(answer)) {}

  void run() {
    RequestReader requests;
    std::string line;
    while (requests.next(line)) {
      const double now = energy::steady_now_s();
      std::string error;
      if (answer_query(line, now)) continue;
      const auto request = run::parse_serve_request(line, error);
      if (!request) {
        refuse(error);
        continue;
      }
      if (request->verb == run::ServeRequest::Verb::quit) break;
      begin_or_end(*request, now);
    }
  }

 private:
  // A `window ID NAME T0 T1` query, answered or refused; false when the line is not one.
  bool answer_query(const std::string& line, double now) {
    std::string error, id;
    auto q = run::parse_window_query(line, error, &id);
    if (!q) return false;
    if (error.empty()) error = answers_.check_instants(q->t0_s, q->t1_s, now);
    if (!error.empty()) {
      replies_.push([id = id.empty() ? "-" : id, name = q->name, error] {
        return fmt::format("window {} error {}{}", id, name.empty() ? "" : "window " + name + ": ",
                           error);
      });
      return true;
    }
    replies_.push(
        [this, q = *q] {
          return fmt::format("window {} {}", q.id, answer_(q.name, q.t0_s, q.t1_s).dump());
        },
        [id = q->id, name = q->name](const std::string& what) {
          return fmt::format("window {} error window {}: {}", id, name, what);
        });
    return true;
  }

  void begin_or_end(const run::ServeRequest& request, double now) {
    const std::string& name = request.name;
    const bool begin = request.verb == run::ServeRequest::Verb::begin;
    if (begin == (open_.count(name) > 0)) {
      refuse(fmt::format("window {}: {}", name, begin ? "already begun" : "not begun"));
      return;
    }
    const double t = request.t_s.value_or(now);
    const std::string bad = answers_.check_instants(begin ? t : open_[name], t, now);
    if (!bad.empty()) {  // an end before its begin leaves the window open
      refuse(fmt::format("window {}: {}{}", name, bad, begin ? "" : "; the window stays open"));
      return;
    }
    if (begin) {
      open_[name] = t;
      replies_.push([name, t_s = t - session_.start_steady_s()] {
        return "ok " + nlohmann::json{{"name", name}, {"t_s", t_s}}.dump();
      });
      return;
    }
    replies_.push(
        [this, name, a = open_[name], b = t] { return "ok " + answer_(name, a, b).dump(); });
    open_.erase(name);
  }

  void refuse(std::string message) {
    replies_.push([message = std::move(message)] { return "error " + message; });
  }

  run::WindowAnswers& answers_;
  const energy::Session& session_;
  AnswerWindow answer_;
  std::map<std::string, double> open_;  // begun windows: their instant
  // Last, so that it finishes its replies (which call answer_) before the rest goes.
  run::ReplyQueue replies_{[](const std::string& line) { std::cout << line << std::endl; }};
};

int run_serve(const ServeOptions& o) {
  if (!o.serve)
    throw UsageError("meter: give --serve (to meter a command, use greentrain measure)");
  const carbon::Intensity intensity = carbon::resolve(o.carbon);  // usage errors first
  const energy::Attribution mode = energy::parse_attribution(o.attribution);
  const int root = o.root_pid > 0 ? o.root_pid : static_cast<int>(getppid());
  if (o.root_pid > 0 && kill(o.root_pid, 0) != 0 && errno == ESRCH)
    throw UsageError(fmt::format("--root-pid {}: no such process", o.root_pid));
  energy::MeterOptions meter_opts = o.meters;
  meter_opts.keep_samples = false;
  energy::Session session(meter_opts);
  // Each window answered, published as a phase of this meter's run (run/run_metrics.h).
  prometheus::Publisher publisher(o.prometheus);
  run::RunMetrics published({"", "", run::standalone_run_id(), experiment::host_name()});
  watch_parent();
  const nlohmann::json env = session.environment();

  // The client's tree: the root and its descendants, without this meter.
  run::UsageTimeline usage;
  const run::UsageTimeline::TreeReader tree =
      [reader = std::make_shared<energy::TreeUsageReader>(root, static_cast<int>(getpid()))] {
        return reader->read();  // called under the timeline's lock: one read at a time
      };
  const bool sample_tree = needs_tree(mode, session.meters());
  session.start();
  std::unique_ptr<TreeSampler> sampler;
  if (sample_tree) sampler = std::make_unique<TreeSampler>(usage, tree);
  run::WindowAnswers::Options answer_opts;
  answer_opts.attribution.mode = mode;
  if (sample_tree) {
    answer_opts.attribution.usage = &usage;
    answer_opts.attribution.sample_past = [&usage, tree](double t) { usage.sample_past(tree, t); };
  }
  answer_opts.intensity = intensity;
  answer_opts.pue = o.carbon.pue;
  answer_opts.max_wait_s = 2.0 + 2e-3 * meter_opts.interval_ms;
  answer_opts.notes = [&env] { return env["notes"].get<std::vector<std::string>>(); };
  run::WindowAnswers answers(session, answer_opts);
  auto answer = [&](const std::string& name, double a, double b) {  // on the reply thread
    nlohmann::json w = answers.answer(name, a, b);
    if (publisher.active()) {
      published.add_window(name, w);
      publisher.publish(published.key(), published.families());
    }
    return w;
  };
  std::cout << "ready " << ready_json(o, env, meter_opts.interval_ms, intensity, root).dump()
            << std::endl;
  ServeLoop(answers, session, answer).run();
  return 0;
}

}  // namespace

void add_meter(CLI::App& app, Action& run) {
  auto opts = std::make_shared<ServeOptions>();
  auto* sub =
      app.add_subcommand("meter",
                         "serve energy windows to another program over stdin/stdout (the Python "
                         "package uses it): meter --serve; requests 'window ID NAME T0 T1', "
                         "'begin NAME', 'end NAME', 'quit'");
  add_meter_options(*sub, opts->meters);
  add_carbon_options(*sub, opts->carbon);
  add_attribution_option(*sub, opts->attribution);
  add_prometheus_options(*sub, opts->prometheus);
  sub->add_option("--root-pid", opts->root_pid,
                  "the process whose tree (it and its descendants, without the meter) the CPU "
                  "and RAM energy is attributed to (default: the meter's parent)")
      ->check(CLI::PositiveNumber)
      ->group("Meters");
  sub->add_flag("--serve", opts->serve, "answer window requests on stdin, one line each");
  sub->callback([opts, &run] { run = [opts] { return run_serve(*opts); }; });
}

}  // namespace gt::cli
