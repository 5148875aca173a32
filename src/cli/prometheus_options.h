// The Prometheus flags of the verbs that meter (measure, train, experiment run, meter --serve):
// --prometheus-push URL (a Pushgateway), --prometheus-textfile PATH (node_exporter's textfile
// collector) and --prometheus-timeout-s (what a push may cost at most). They fill the
// prometheus module's plain PublisherOptions. RunPublication publishes one metered run outside
// an experiment: each phase as it ends, then the finished run (docs/prometheus.md).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "prometheus/publisher.h"
#include "run/metered_run.h"
#include "run/run_metrics.h"

namespace gt::cli {

void add_prometheus_options(CLI::App& cmd, prometheus::PublisherOptions& opts);

class RunPublication {
 public:
  // Checks the flags (gt::UsageError) before any work; the run is labelled with this host and
  // standalone_run_id().
  explicit RunPublication(const prometheus::PublisherOptions& options);
  // The observer to give MeteredRun::run (empty when nothing is published).
  run::PhaseObserver observer();
  // Publishes the finished run.
  void finished(const run::MeteredResult& result);
  // Waits for the pushes, at most the timeout.
  void finish() { publisher_.finish(); }

 private:
  prometheus::Publisher publisher_;
  run::RunMetrics metrics_;
};

}  // namespace gt::cli
