// The Prometheus flags and one run's publication (see prometheus_options.h).
#include "cli/prometheus_options.h"

#include "cli/cli_number.h"
#include "experiment/environment.h"

namespace gt::cli {

void add_prometheus_options(CLI::App& cmd, prometheus::PublisherOptions& opts) {
  cmd.add_option("--prometheus-push", opts.push_url,
                 "push each run's energy, power, CO2e and duration, at the end of every phase "
                 "and of the run, to this Prometheus Pushgateway (e.g. http://127.0.0.1:9091)")
      ->group("Prometheus");
  cmd.add_option("--prometheus-textfile", opts.textfile,
                 "write the same metrics to this file, replaced atomically, for node_exporter's "
                 "textfile collector (name it *.prom)")
      ->group("Prometheus");
  cmd.add_option("--prometheus-timeout-s", opts.timeout_s,
                 "the most one push may take, and what the pushes may add to the end of the "
                 "command; a failed push is one warning, never an error")
      ->check(finite_number(0.001, 60))
      ->capture_default_str()
      ->group("Prometheus");
}

RunPublication::RunPublication(const prometheus::PublisherOptions& options)
    : publisher_(options), metrics_({"", "", run::standalone_run_id(), experiment::host_name()}) {}

run::PhaseObserver RunPublication::observer() {
  if (!publisher_.active()) return {};
  return [this](const run::LivePhase& live) {
    metrics_.add_live(live);
    publisher_.publish(metrics_.key(), metrics_.families());
  };
}

void RunPublication::finished(const run::MeteredResult& result) {
  if (!publisher_.active()) return;
  metrics_.set_result(result);
  publisher_.publish(metrics_.key(), metrics_.families());
}

}  // namespace gt::cli
