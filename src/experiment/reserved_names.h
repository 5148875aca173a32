// The names greentrain keeps for itself, in one list: the run fields a command template can
// use ({seed}, {run_id}, ...), the runs-table columns that export writes and analyze reads
// (run_id, status, energy_j, co2e_g, ...). A factor may not take any of them (nor two factors
// differ only by case, since both would become the same GREENTRAIN_FACTOR_<NAME> variable), and
// a metric reported by a workload may not take a run field's or a factor's name. Checked when
// the plan is parsed, so the clash is a one-line error before any run.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace gt::experiment {

// Run fields a command template may name besides the factors.
const std::vector<std::string>& run_placeholders();  // seed, run_id, block, repeat, metrics_file
// The runs table's fixed columns, in the order `export` writes them.
const std::vector<std::string>& run_columns();           // run_id, block, repeat, status, warmup
const std::vector<std::string>& energy_columns();        // duration_s, energy_j, ..., co2e_g
const std::vector<std::string>& fixed_metric_columns();  // test_accuracy, final_loss

// Why `name` cannot be a factor ("a column of the runs table", ...), or empty when it can.
// Compared without regard to case.
std::optional<std::string> reserved_factor_name(const std::string& name);

// Why a workload's metric `name` cannot be stored under that name, or empty when it can: a run
// field or column (run_id, status, seed, ...) or one of `factors`. Energy columns are not
// refused here: the workload's own energy figures are stored with a `workload_` prefix.
std::optional<std::string> reserved_metric_name(const std::string& name,
                                                const std::vector<std::string>& factors);

// The upper-case form used in GREENTRAIN_FACTOR_<NAME>.
std::string env_name(const std::string& factor);

}  // namespace gt::experiment
