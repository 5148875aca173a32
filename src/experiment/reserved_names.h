// The names an experiment keeps for itself, in one list: the run fields a command template can
// use ({seed}, {run_id}, ...), the runs-table columns that export writes and analyze reads
// (run_id, status, the metered run's energy_j, co2e_g, ... of run/reserved_names.h, and the
// context columns host, pue, gpu_power_limit_w, ... of experiment/run_setup.h). A
// factor may not take any of them (nor two factors differ only by case, since both would become
// the same GREENTRAIN_FACTOR_<NAME> variable): checked when the plan is parsed, so the clash is
// a one-line error before any run. A metric or phase reported by a workload, from any source,
// passes the metered run's name check with the run fields and the factors added to it.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "run/reserved_names.h"

namespace gt::experiment {

// Run fields a command template may name besides the factors.
const std::vector<std::string>& run_placeholders();  // seed, run_id, block, repeat, metrics_file
// The runs table's fixed columns, in the order `export` writes them.
const std::vector<std::string>& run_columns();           // run_id, block, repeat, status, warmup
const std::vector<std::string>& fixed_metric_columns();  // test_accuracy, final_loss
// (the energy columns, duration_s ... co2e_g, are the metered run's: run::energy_columns())

// Why `name` cannot be a factor ("a column of the runs table", ...), or empty when it can.
// Compared without regard to case.
std::optional<std::string> reserved_factor_name(const std::string& name);

// The name check for a workload's metrics and phases in an experiment: the metered run's own
// names plus the run fields and columns (run_id, status, seed, ...) and `factors`.
run::NameCheck workload_name_check(const std::vector<std::string>& factors);

// The upper-case form used in GREENTRAIN_FACTOR_<NAME>.
std::string env_name(const std::string& factor);

}  // namespace gt::experiment
