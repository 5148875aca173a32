// Energy windows on a running energy session, answered at the client's own instants: the one
// implementation behind `greentrain meter --serve` (the Python package standalone) and the window
// queries a metered run answers for its child (the same package inside `measure` or an
// experiment). A window is two instants on CLOCK_MONOTONIC; its energy comes from the readings
// the session's samplers took around them (Session::snapshot_at: nothing is read at a request,
// the GPU counters are interpolated on their update edges), attributed to the client's process
// tree or the machine, with its CO2e. An answer waits until the samplers and the GPU edge
// trackers have readings past the window's end (Session::wait_readings_past), so the end is
// interpolated, never extrapolated; answers are written in request order from a thread of their
// own, so the requests' reader never waits for a meter.
//
// A query line (both channels): `window ID NAME T0 T1`, ID chosen by the client (letters,
// digits, '.', '_', '-'; at most 64), NAME a window name (marks.h), T0 <= T1 the instants in
// seconds. Its reply: `window ID {json}` (window_reply) or `window ID error MESSAGE`.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "carbon/carbon.h"
#include "energy/attribution.h"
#include "energy/session.h"
#include "run/usage_timeline.h"

namespace gt::run {

// How a window's CPU and RAM energy is attributed: the mode, and the tree's usage over time
// (sampled on its owner's cadence; before answering a window, `sample_past(end)` makes sure a
// sample after its end exists).
struct WindowAttribution {
  energy::Attribution mode = energy::Attribution::machine;
  const UsageTimeline* usage = nullptr;     // required unless mode is machine
  std::function<void(double)> sample_past;  // empty: the timeline is complete already
  bool withhold_machine_net = false;        // the idle baseline was taken on a busy machine
};

// The energy of [a_s, b_s] (steady seconds) of `session`'s current or just stopped window, from
// the meters' readings around the two instants, attributed as `how` says; net energy only
// against an idle baseline (none at all without one). Notes on what could not be attributed are
// appended to `notes`.
energy::WindowEnergy window_energy(const energy::Session& session, double a_s, double b_s,
                                   const WindowAttribution& how,
                                   std::vector<std::string>* notes = nullptr);

// A window's reply object: name, t_s (its end, seconds since the session started), duration_s,
// energy_j, net_energy_j, wall_energy_j, uncertainty_j, gpu/cpu/ram_energy_j, components
// (each with source, model and attribution), co2e_g and notes.
nlohmann::json window_reply(const std::string& name, const energy::WindowEnergy& w, double t_s,
                            const carbon::Intensity& intensity, double pue,
                            const std::vector<std::string>& notes);

struct WindowQuery {
  std::string id, name;
  double t0_s = 0, t1_s = 0;
};
bool valid_query_id(std::string_view id);
// Parses `window ID NAME T0 T1`. Returns nullopt for a line that is not a query (does not start
// with "window "); a malformed query sets `error` (and its id, when one could be read).
std::optional<WindowQuery> parse_window_query(std::string_view line, std::string& error,
                                              std::string* id = nullptr);

// Replies written in the order their jobs were pushed, from a thread of its own, so a job may
// wait for its figures while the next requests are read. A job that throws becomes its
// `on_error` line.
class ReplyQueue {
 public:
  using Write = std::function<void(const std::string& line)>;
  explicit ReplyQueue(Write write);
  ~ReplyQueue();  // runs what is queued, then stops
  ReplyQueue(const ReplyQueue&) = delete;
  ReplyQueue& operator=(const ReplyQueue&) = delete;
  void push(std::function<std::string()> job,
            std::function<std::string(const std::string&)> on_error = {});
  // Stops after the job in progress; queued jobs are dropped (the reader is gone).
  void abandon();

 private:
  void loop();
  struct Job {
    std::function<std::string()> run;
    std::function<std::string(const std::string&)> on_error;
  };
  Write write_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool done_ = false;
  std::thread thread_;
};

// Answers windows on a running session: waits for readings past the window's end, then replies
// with window_reply. Shared by `meter --serve` and a metered run.
class WindowAnswers {
 public:
  struct Options {
    WindowAttribution attribution;
    carbon::Intensity intensity;
    double pue = 1;
    double max_wait_s = 2;  // longest wait for the readings past a window's end
    // Notes carried by every reply (what is estimated or missing); called on the first reply.
    std::function<std::vector<std::string>()> notes;
  };
  WindowAnswers(energy::Session& session, Options options);
  // The reply object of the window NAME over [a_s, b_s] (steady seconds, a_s <= b_s, both
  // inside the session's window): blocks until the readings are there (at most max_wait_s).
  nlohmann::json answer(const std::string& name, double a_s, double b_s);
  // A one-line reason when [a_s, b_s] cannot be a window of the session now (before its start,
  // in the future, end before begin), else "".
  std::string check_instants(double a_s, double b_s, double now_s) const;

 private:
  energy::Session& session_;
  Options options_;
  std::once_flag notes_once_;
  std::vector<std::string> notes_;
};

// The window queries of a metered run's child: lines `window ID NAME T0 T1` on the mark channel,
// answered as `window ID {json}` (or `window ID error MESSAGE`) on the reply channel, the pipe
// named by GREENTRAIN_REPLY_FD in the child. Writes never block the run: a reply that cannot be
// written within a second (nobody reads the channel) is dropped, and a closed channel ends the
// answers.
class WindowQueries {
 public:
  WindowQueries(energy::Session& session, WindowAnswers::Options options, int reply_fd);
  ~WindowQueries();
  // True when `line` (read at steady instant t_read_s) was a query: it is then answered or
  // refused, never kept as a mark. Quick: the answer is queued.
  bool handle(const std::string& line, double t_read_s);
  // No more answers (the child exited): queued ones are dropped.
  void stop();
  int answered() const { return answered_; }

 private:
  void write_line(const std::string& line);
  WindowAnswers answers_;
  int fd_;
  bool broken_ = false;  // the reader closed the channel
  std::atomic<int> answered_{0};
  ReplyQueue replies_;
};

}  // namespace gt::run
