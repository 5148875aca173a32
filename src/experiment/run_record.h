// The pieces of an experiment run's database row that come from its metered run: each phase's
// record, the run's status with the note that explains it, the energy per component with its
// totals and CO2e, the notes joined once each, and the one line the runner logs for the run.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "experiment/store.h"
#include "experiment/workload.h"
#include "run/metered_run.h"

namespace gt::experiment {

// One phase of the metered run as the store keeps it.
PhaseRecord phase_record(const run::PhaseResult& phase);

// The workload's metrics (from its file or stdout), then the mark channel's and the phases',
// and the load on the machine around the run.
void add_metrics(RunRecord& rec, const Metrics& metrics, const run::MeteredResult& metered);

// Why a run ended as it did: the status its row takes, and (first in `notes`) why it is not ok.
struct RunEnd {
  const run::ChildResult& child;
  int signal = 0;             // the signal that stopped the session, for an aborted run
  double timeout_s = 0;       // workload.timeout_s
  bool needs_result = false;  // a builtin workload, which must write its --json result
  bool result_read = false;
};
RunStatus run_status(const RunEnd& end, std::vector<std::string>& notes);

// The energy rows per component, the totals over gpu, cpu and ram, and the GPU settings; a run
// whose meters gave none of those gets a note instead.
void add_energy(RunRecord& rec, const energy::Summary& summary, std::vector<std::string>& notes);

// The notes joined with "; ", each once (stdout metrics are read by the metered run and again
// from the stdout file).
std::string join_notes(const std::vector<std::string>& notes);

// The run's summary line: status, duration, energy, CO2e, accuracy and loss, and why it failed
// with the last line of its stderr. `lane_run`: the run index, shown when lanes run in parallel.
std::string result_line(const RunRecord& rec, double duration_s,
                        const std::vector<std::string>& notes, std::optional<int> lane_run);

}  // namespace gt::experiment
