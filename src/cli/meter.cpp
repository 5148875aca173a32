// `greentrain meter --serve [meter and carbon options]`: a meter for another program (the
// Python package) that opens and closes named windows over a line protocol on stdin/stdout,
// so that program uses greentrain's own meters instead of a re-implementation.
//
// Protocol (version 1; python/README.md documents it for client writers): once the options
// are checked and the meters found, one line `ready {json}` (protocol, meters with source and
// model, notes, carbon intensity). Then one request per line, one reply per request, in order:
//   begin NAME [T]  -> ok {"name","t_s"}
//   end NAME [T]    -> ok {"name","t_s","duration_s","energy_j","co2e_g","wall_energy_j",
//                          "uncertainty_j","components":[{component,device,source,model,
//                          energy_j,...}],"notes"}
//   quit            -> (no reply) the meter stops and exits 0; end-of-file on stdin too
// Every meter is read when a request arrives. T, the client's own instant on CLOCK_MONOTONIC
// in seconds, dates the boundary at the call rather than when the request was read: the
// duration is the client's, and the GPU counter is interpolated between its update edges at
// T. A bad request gets `error MESSAGE` and the meter carries on: an unknown or malformed line
// (quoted back as a JSON string), a line longer than 256 bytes (the rest of it is not read into
// memory), an end dated before its begin (the window stays open). Parsing is
// run/serve_request.h. Errors before `ready` are
// the usual one line on stderr with exit code 2 (usage) or 1. Windows with different names
// may overlap. The meter exits when its parent process dies, even when another process still
// holds its stdin open (it watches its parent process id). With --prometheus-push or
// --prometheus-textfile, each window that ends is published as a phase of this meter's run.
#include <fmt/core.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "carbon/carbon.h"
#include "cli/carbon_options.h"
#include "cli/meter_options.h"
#include "cli/prometheus_options.h"
#include "cli/verbs.h"
#include "common/error.h"
#include "energy/attribution.h"
#include "energy/session.h"
#include "experiment/environment.h"
#include "run/run_metrics.h"
#include "run/serve_request.h"

namespace gt::cli {
namespace {

constexpr int kProtocol = 1;

struct ServeOptions {
  energy::MeterOptions meters;
  carbon::CarbonOptions carbon;
  prometheus::PublisherOptions prometheus;
  bool serve = false;
};

// One window boundary: the meters as read, and the same reading dated at the client's instant.
struct Boundary {
  energy::Snapshot read, dated;
};

// True when every GPU's energy in `w` was interpolated at the boundaries' instants.
bool gpu_interpolated(const energy::WindowEnergy& w) {
  for (const auto& c : w.components)
    if (c.component == "gpu" && c.model.find("edge-interpolated") == std::string::npos)
      return false;
  return true;
}

// A window's reply: the session's energy between two snapshots (GPU counter boundaries interpolated
// between its update edges), with the window's name, end time and CO2e.
nlohmann::json window_json(const std::string& name, energy::Session& session, const Boundary& a,
                           const Boundary& b, const carbon::Intensity& intensity, double pue,
                           nlohmann::json notes) {
  energy::WindowEnergy w = session.window(a.dated, b.dated);
  double t_s = b.dated.t_s;
  const double read_s = b.read.t_s - a.read.t_s;
  if (gpu_interpolated(w) && read_s > 0 && w.duration_s >= 0) {
    // The other meters' energy is what they gave between the two reads: at their mean power
    // over that interval, it becomes the energy of the client's window.
    const double k = w.duration_s / read_s;
    for (auto& c : w.components) {
      if (c.component == "gpu") continue;
      c.energy_j *= k;
      if (c.net_energy_j) *c.net_energy_j *= k;
      if (c.machine_energy_j) *c.machine_energy_j *= k;
      c.avg_power_w = c.peak_power_w = w.duration_s > 0 ? c.energy_j / w.duration_s : 0;
    }
    energy::recompute_totals(w.components, w.energy_j, w.net_energy_j, w.wall_energy_j);
  } else if (!gpu_interpolated(w)) {
    // Plain counter reads hold at the instants the meters were read, not the client's: date
    // the window there so its energy and duration agree.
    w = session.window(a.read, b.read);
    t_s = b.read.t_s;
    notes.push_back(
        "GPU counter boundaries not interpolated: the window is dated when the meter read the "
        "requests");
  }
  nlohmann::json j = w.to_json();
  j["name"] = name;
  j["t_s"] = t_s;
  j["co2e_g"] = carbon::co2e_g(w.energy_j, intensity, pue);
  j["notes"] = std::move(notes);
  return j;
}

// Writes the replies in request order from its own thread, so a window's reply may wait for its
// energy (a GPU counter's next update) while the next requests are already being read and their
// instants taken.
class ReplyQueue {
 public:
  ReplyQueue() : thread_([this] { loop(); }) {}
  ~ReplyQueue() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void push(std::function<std::string()> reply) {
    {
      std::lock_guard lock(mu_);
      jobs_.push_back(std::move(reply));
    }
    cv_.notify_all();
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return done_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // done_ and drained
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      std::string line;
      try {
        line = job();
      } catch (const std::exception& e) {
        line = fmt::format("error {}", e.what());
      }
      std::cout << line << std::endl;
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<std::string()>> jobs_;
  bool done_ = false;
  std::thread thread_;
};

// Reads request lines from stdin. Requests that came in before or while the meters were read
// share that reading (reading again would only be later), unless a request's own time T is
// later than the reading. So `end epoch` written just before `begin epoch` closes one window and
// opens the next with one reading, dated at each call's T. Of each line it keeps at most
// kMaxServeRequestBytes + 1 bytes (enough for the parser to refuse it), so a client that never
// ends a line cannot make it buffer without bound.
class RequestReader {
 public:
  // The next line (without its newline); false at end of input. `waited` says whether the line was
  // not yet complete when asked for (it arrived after any earlier instant).
  bool next(std::string& line, bool& waited) {
    waited = false;
    for (;;) {
      const auto nl = buf_.find('\n');
      if (nl != std::string::npos || (eof_ && !buf_.empty())) {
        line = buf_.substr(0, nl);
        buf_.erase(0, nl == std::string::npos ? buf_.size() : nl + 1);
        return true;
      }
      if (eof_) return false;
      waited = true;
      fill();
    }
  }
  // Takes in whatever has arrived, without blocking.
  void drain() {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    while (!eof_ && poll(&p, 1, 0) > 0) fill();
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

int run_serve(const ServeOptions& o) {
  if (!o.serve)
    throw UsageError("meter: give --serve (to meter a command, use greentrain measure)");
  const carbon::Intensity intensity = carbon::resolve(o.carbon);  // usage errors first
  energy::MeterOptions meter_opts = o.meters;
  meter_opts.keep_samples = false;
  energy::Session session(meter_opts);
  // Each window that ends, published as a phase of this meter's run (run/run_metrics.h).
  prometheus::Publisher publisher(o.prometheus);
  run::RunMetrics published({"", "", run::standalone_run_id(), experiment::host_name()});
  watch_parent();
  const nlohmann::json env = session.environment();
  nlohmann::json meters = nlohmann::json::array();
  for (const auto& m : env["meters"])
    meters.push_back({{"component", m["component"]},
                      {"device", m["device"]},
                      {"source", m["source"]},
                      {"model", m["model"]}});
  session.start();
  const nlohmann::json ready = {{"protocol", kProtocol},
                                {"meters", meters},
                                {"notes", env["notes"]},
                                {"interval_ms", meter_opts.interval_ms},
                                {"carbon",
                                 {{"intensity_g_per_kwh", intensity.g_per_kwh},
                                  {"label", intensity.label},
                                  {"source", intensity.source},
                                  {"year", intensity.year},
                                  {"pue", o.carbon.pue}}}};
  std::cout << "ready " << ready.dump() << std::endl;

  std::map<std::string, Boundary> open;
  ReplyQueue replies;
  RequestReader requests;
  std::optional<energy::Snapshot> instant;  // shared by requests that arrived before it
  std::string line;
  bool waited = false;
  while (requests.next(line, waited)) {
    if (waited) instant.reset();
    std::string error;
    const auto request = run::parse_serve_request(line, error);
    if (!request) {
      replies.push([error] { return "error " + error; });
      continue;
    }
    if (request->verb == run::ServeRequest::Verb::quit) break;
    const std::string name = request->name;
    const bool begin = request->verb == run::ServeRequest::Verb::begin;
    if (begin == (open.count(name) > 0)) {
      replies.push([name, begin] {
        return fmt::format("error window {}: {}", name, begin ? "already begun" : "not begun");
      });
      continue;
    }
    const std::optional<double> client_t = request->t_s;
    // A reading taken before the client's instant cannot date it (the request may have come
    // in while the meters were being read): read them again.
    if (!instant || (client_t && *client_t > instant->steady_s)) {
      instant = session.snapshot();
      requests.drain();
    }
    Boundary now{*instant, *instant};
    if (client_t) {  // the client's instant: the boundary is dated there
      const double t = *client_t;
      const double start = now.read.steady_s - now.read.t_s;
      if (t < start || t > now.read.steady_s) {
        replies.push([name, t, start, end = now.read.steady_s] {
          return fmt::format(
              "error window {}: time {:.6f} is not between the meter's start {:.6f} and now "
              "{:.6f} (CLOCK_MONOTONIC seconds)",
              name, t, start, end);
        });
        continue;
      }
      now.dated.t_s -= now.read.steady_s - t;
      now.dated.steady_s = t;
    }
    if (begin) {
      replies.push([name, t = now.dated.t_s] {
        return "ok " + nlohmann::json{{"name", name}, {"t_s", t}}.dump();
      });
      open[name] = std::move(now);
      continue;
    }
    const Boundary& began = open[name];
    if (now.dated.steady_s < began.dated.steady_s) {  // the window stays open
      replies.push([name, end = now.dated.steady_s, start = began.dated.steady_s] {
        return fmt::format(
            "error window {}: its end {:.6f} is before its begin {:.6f} (CLOCK_MONOTONIC "
            "seconds); the window stays open",
            name, end, start);
      });
      continue;
    }
    replies.push([&, name, a = std::move(open[name]), b = std::move(now)] {
      const auto w = window_json(name, session, a, b, intensity, o.carbon.pue, env["notes"]);
      if (publisher.active()) {
        published.add_window(name, w);
        publisher.publish(published.key(), published.families());
      }
      return "ok " + w.dump();
    });
    open.erase(name);
  }
  return 0;
}

}  // namespace

void add_meter(CLI::App& app, Action& run) {
  auto opts = std::make_shared<ServeOptions>();
  auto* sub =
      app.add_subcommand("meter",
                         "serve named energy windows to another program over stdin/stdout (the "
                         "Python package "
                         "uses it): meter --serve; requests 'begin NAME', 'end NAME', 'quit'");
  add_meter_options(*sub, opts->meters);
  add_carbon_options(*sub, opts->carbon);
  add_prometheus_options(*sub, opts->prometheus);
  sub->add_flag("--serve", opts->serve, "answer window requests on stdin, one line each");
  sub->callback([opts, &run] { run = [opts] { return run_serve(*opts); }; });
}

}  // namespace gt::cli
