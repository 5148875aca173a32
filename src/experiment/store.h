// The results database: one SQLite file in WAL mode holding experiments (plan
// text and hash, factors, benchmark, environment), the sessions that ran them (host and
// environment of each `experiment run` invocation), one row per finished run (factors, block,
// repeat, warm-up flag, seed, status, times, exit code, stderr tail, energy totals and CO2e),
// per-run per-component energy with its source, per-run metrics, optional power samples, and
// idle baselines, and the earlier attempts of runs that were run again (a failed or aborted
// run replaced by a retry moves to run_attempts, so no measurement is ever lost). Each finished
// run is written in one transaction, so a crash loses at most the run in flight. The schema is
// documented in docs/database.md and versioned with PRAGMA user_version; opening an older file
// migrates it, a newer one is refused.
//
// Readers (analyze --db, report) use Store(path, Store::Mode::read_only), experiments(),
// experiment(name), runs(id), samples(run_row_id), idle_baselines(id), and runs_csv().
#pragma once
#include <cstdint>
#include <iosfwd>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/vocabulary.h"
#include "energy/gpu_settings.h"
#include "experiment/sqlite.h"

namespace gt::experiment {

inline constexpr int kSchemaVersion = 6;

struct ExperimentRecord {
  std::int64_t id = 0;
  std::string name;
  std::string plan_text;      // the plan file exactly as read
  std::string plan_hash;      // "sha256:<hex>" of a canonical form of the plan (see plan.h)
  std::string plan_path;      // where it was read from (informational)
  std::string workload_kind;  // builtin | command
  std::vector<std::string> factor_names;                  // in plan order; the CSV factor columns
  nlohmann::json factors = nlohmann::json::object();      // name -> [levels as strings]
  nlohmann::json benchmark = nlohmann::json::object();    // name -> level (string)
  nlohmann::json environment = nlohmann::json::object();  // snapshot when created
  int planned_runs = 0;    // runs in the expanded design, warm-up included
  std::string created_at;  // ISO 8601 UTC
  // Which run_id each (block, configuration) has (experiment/design.h Layout::to_json); null
  // for an experiment written before layouts were kept (its plan_text gives the layout).
  nlohmann::json layout;
};

struct SessionRecord {
  std::int64_t id = 0;
  std::int64_t experiment_id = 0;
  std::string started_at;
  std::string host;
  std::string shard;  // "i/n" when the session ran one shard of the plan, else empty
  nlohmann::json environment = nlohmann::json::object();
};

struct EnergyRecord {
  Component component = Component::gpu;
  std::string device;  // "0", "package-0", "" ...
  Source source = Source::measured;
  std::string model;  // how: "nvml-energy-counter", "rapl package", "tdp-linear(...)"
  double energy_j = 0;
  std::optional<double> avg_power_w = std::nullopt, peak_power_w = std::nullopt,
                        idle_power_w = std::nullopt, net_energy_j = std::nullopt;
  Scope attribution = Scope::machine;                     // the machine's or the run's tree's
  std::optional<double> machine_energy_j = std::nullopt;  // the whole machine's, when process
};

// One occurrence of a phase the workload marked (run/marks.h): energy between its
// begin and end marks, per component as JSON (energy::component_json objects).
struct PhaseRecord {
  std::string name;
  std::string parent;  // path of the occurrence it is nested in ("train"), "" at top level
  int occurrence = 1;  // 1-based per path
  double t_begin_s = 0, duration_s = 0, energy_j = 0;
  std::optional<double> net_energy_j = std::nullopt, gpu_energy_j = std::nullopt,
                        cpu_energy_j = std::nullopt, ram_energy_j = std::nullopt,
                        wall_energy_j = std::nullopt;
  double uncertainty_j = 0;
  nlohmann::json components = nlohmann::json::array();
  std::map<std::string, double> metrics;  // reported inside this occurrence (per-epoch accuracy)
  bool flagged = false;                   // uncertainty above the metered run's flag share
};

// Where a run ran (table run_provenance): the machine, the GPU board(s) it could use, resolved
// from CUDA_VISIBLE_DEVICES to NVML by UUID, its Slurm job and array task, and its lane under
// `experiment run --gpus`. Empty strings mean "not known / not under Slurm". And what each
// metered GPU ran under (table run_gpu_settings): power limits, clocks, persistence mode and the
// throttle reasons seen during the run.
struct RunProvenance {
  std::string host;                  // gethostname()
  std::string node;                  // SLURMD_NODENAME under Slurm, else the host
  std::string gpu_uuid;              // NVML UUID(s) of the run's GPU(s), comma-separated
  std::string gpu_pci_bus_id;        // NVML PCI bus id(s), same order
  std::string gpu_name;              // NVML name(s), same order
  std::string gpu_mapping;           // how the boards were found (see docs/database.md)
  std::string cuda_visible_devices;  // as the run saw it ("" = unset)
  std::string slurm_job_id;          // SLURM_JOB_ID
  std::string slurm_array_job_id;    // SLURM_ARRAY_JOB_ID
  std::string slurm_array_task_id;   // SLURM_ARRAY_TASK_ID
  std::optional<int> lane;           // lane of `experiment run --gpus`, else none
  std::vector<energy::GpuSettings> gpu_settings = {};  // one per metered GPU, in order
};

struct RunRecord {
  std::int64_t id = 0;  // database row id (for samples())
  std::int64_t experiment_id = 0;
  std::int64_t session_id = 0;
  int run_index = 0;     // 1-based position in the planned order; the CSV run_id
  int config_index = 0;  // index of the configuration in the expanded design
  int block = 0;         // 1-based; warm-up runs have block 0
  int repeat = 0;        // 1-based; warm-up runs have repeat 0
  bool warmup = false;
  std::vector<std::pair<std::string, std::string>> factors;  // in plan order
  std::int64_t seed = 0;
  RunStatus status = RunStatus::ok;
  std::string started_at, finished_at;  // ISO 8601 UTC
  std::optional<double> duration_s;
  std::optional<int> exit_code;
  std::string stderr_tail;
  std::string command;  // what was executed (argv joined, or the shell command)
  std::string note;     // why a run failed/aborted when there is no exit code, warnings
  // Totals over components (gpu+cpu+ram; wall reported separately), as in Summary.
  std::optional<double> energy_j, net_energy_j, wall_energy_j, avg_power_w, peak_power_w;
  std::optional<double> co2e_g, intensity_g_per_kwh, pue;
  std::map<std::string, double> metrics;  // test_accuracy, final_loss, anything else
  std::vector<EnergyRecord> energy;       // one per metered component
  std::vector<PhaseRecord> phases;        // in the order they ended
  RunProvenance provenance;

  std::optional<std::string> factor(std::string_view name) const;
  std::optional<double> component_energy_j(Component component) const;  // sum
};

// An earlier attempt of a run: the row a retry replaced (its energy per component, metrics and
// samples are not kept; its totals are).
struct RunAttempt {
  std::int64_t experiment_id = 0;
  std::int64_t session_id = 0;
  int run_index = 0, config_index = 0, block = 0;
  std::int64_t seed = 0;
  RunStatus status = RunStatus::failed;  // failed or aborted
  std::string started_at, finished_at, replaced_at;
  std::optional<double> duration_s, energy_j;
  std::optional<int> exit_code;
  std::string stderr_tail, note;
};

struct SampleRecord {
  double t_s = 0;
  Component component = Component::gpu;
  std::string device;
  double power_w = 0;
  std::optional<double> energy_j = std::nullopt, sm_clock_mhz = std::nullopt,
                        temperature_c = std::nullopt, utilization_pct = std::nullopt,
                        memory_used_mb = std::nullopt;
};

struct IdleBaseline {
  std::int64_t id = 0;
  std::int64_t experiment_id = 0;
  std::int64_t session_id = 0;
  int after_runs = 0;  // runs finished in the experiment when it was measured
  std::string measured_at;
  double duration_s = 0;
  Component component = Component::gpu;
  std::string device;
  Source source = Source::measured;
  double power_w = 0;
};

class Store {
 public:
  enum class Mode { read_write, read_only };
  // Opens (read_write: creating and migrating if needed) the database at `path`.
  explicit Store(const std::string& path, Mode mode = Mode::read_write);

  const std::string& path() const { return db_.path(); }
  int schema_version() const;

  // ---- read API ----
  std::vector<ExperimentRecord> experiments() const;
  std::optional<ExperimentRecord> find_experiment(std::string_view name) const;
  // By name; an empty name means "the only experiment" (error when there are several).
  ExperimentRecord experiment(std::string_view name) const;
  std::vector<SessionRecord> sessions(std::int64_t experiment_id) const;
  std::vector<RunRecord> runs(std::int64_t experiment_id) const;  // ordered by run_index
  std::vector<SampleRecord> samples(std::int64_t run_row_id) const;
  std::vector<IdleBaseline> idle_baselines(std::int64_t experiment_id) const;
  // Earlier attempts of runs that were run again, oldest first.
  std::vector<RunAttempt> attempts(std::int64_t experiment_id) const;

  // ---- write API (runner, merge) ----
  std::int64_t create_experiment(const ExperimentRecord& e);  // returns its id
  std::int64_t add_session(const SessionRecord& s);
  // One transaction: the run row, its energy, metrics and samples. A row with the same
  // (experiment, run_index) whose status is 'aborted' or 'failed' moves to the attempts and is
  // replaced; an 'ok' row makes this throw (nothing is ever duplicated).
  std::int64_t record_run(const RunRecord& r, const std::vector<SampleRecord>& samples = {});
  // After the plan grew: the plan text and hash now in force, its levels, the run layout and
  // the planned runs.
  void update_plan(std::int64_t experiment_id, const std::string& plan_text,
                   const std::string& plan_hash, const nlohmann::json& factors,
                   const nlohmann::json& layout, int planned_runs);
  void record_idle(const std::vector<IdleBaseline>& baselines);  // one transaction

  sql::Db& db() { return db_; }
  const sql::Db& db() const { return db_; }

 private:
  void migrate();
  std::string experiment_columns() const;
  sql::Db db_;
};

// The runs table (one CSV row per run, header first, as `greentrain export` writes it).
// `experiment` empty means the only experiment in the store.
std::string runs_csv(const Store& store, const std::string& experiment);
void write_runs_csv(const Store& store, const std::string& experiment, std::ostream& out);

// Copies every experiment of `inputs` into `out` (created if missing). Experiments with the
// same name must have the same plan hash; runs are matched by run_index: a run already in
// `out` is kept (an ok run replaces an aborted one). Returns {runs copied, runs skipped}.
std::pair<int, int> merge_stores(const std::string& out, const std::vector<std::string>& inputs);

// A run's value of a metric by its runs-table name: duration_s, energy_j, net_energy_j,
// wall_energy_j, avg_power_w, peak_power_w, co2e_g, <component>_energy_j (gpu, cpu, ram), or a
// recorded metric (test_accuracy, train_energy_j, ...). nullopt when the run lacks it.
std::optional<double> run_metric(const RunRecord& r, std::string_view name);

// "2026-11-27T03:43:05Z"
std::string utc_now_iso();

}  // namespace gt::experiment
