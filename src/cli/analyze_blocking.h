// `greentrain analyze --db DB --block-by COLUMN`: the GPU board (its UUID), the node, the GPU
// model, or a setting the GPUs ran under (gpu_power_limit_w, gpu_app_sm_clock_mhz, ...,
// gpu_throttle_reasons) of each run, from the runs' provenance in the database, as a blocking
// factor of a Type II factorial ANOVA per metric (stats/blocking.h). Kept apart from
// analyze.cpp: it needs the database's provenance, which the runs-table CSV does not carry whole.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gt::cli {

// What --block-by accepts: gpu, host, gpu_model, and gpu_<setting> for each
// energy::setting_fields() entry.
const std::vector<std::string>& blocking_columns();

// {"by": "gpu", "metrics": {metric: blocked ANOVA JSON}} over the ok, non-warm-up runs of the
// experiment, for each of `metrics` present in the runs. Throws gt::Error
// (one line) when a run has no recorded board or host.
nlohmann::json blocking_analysis(const std::string& db, const std::string& experiment,
                                 const std::string& by, const std::vector<std::string>& metrics);

}  // namespace gt::cli
