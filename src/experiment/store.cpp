// The results database (see store.h and docs/database.md): schema creation and migrations,
// the read API other modules use, and the one-transaction-per-run writes of the runner.
#include "experiment/store.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <set>
#include <sstream>

#include "common/csv.h"
#include "common/error.h"
#include "experiment/epochs.h"
#include "experiment/reserved_names.h"
#include "experiment/run_setup.h"

namespace gt::experiment {
namespace {

// Version 1 of the schema. Later versions append a migration step to kMigrations; the
// database's PRAGMA user_version says how many steps it has applied.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE experiments (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  plan_text     TEXT NOT NULL,
  plan_hash     TEXT NOT NULL,
  plan_path     TEXT NOT NULL DEFAULT '',
  workload_kind TEXT NOT NULL,
  factor_names  TEXT NOT NULL,
  factors       TEXT NOT NULL,
  benchmark     TEXT NOT NULL,
  environment   TEXT NOT NULL,
  planned_runs  INTEGER NOT NULL,
  created_at    TEXT NOT NULL
);
CREATE TABLE sessions (
  id            INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  started_at    TEXT NOT NULL,
  host          TEXT NOT NULL,
  shard         TEXT NOT NULL DEFAULT '',
  environment   TEXT NOT NULL
);
CREATE TABLE runs (
  id                  INTEGER PRIMARY KEY,
  experiment_id       INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  session_id          INTEGER REFERENCES sessions(id),
  run_index           INTEGER NOT NULL,
  config_index        INTEGER NOT NULL,
  block               INTEGER NOT NULL,
  repeat              INTEGER NOT NULL,
  warmup              INTEGER NOT NULL CHECK (warmup IN (0, 1)),
  seed                INTEGER NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'aborted')),
  started_at          TEXT NOT NULL,
  finished_at         TEXT NOT NULL,
  duration_s          REAL,
  exit_code           INTEGER,
  stderr_tail         TEXT NOT NULL DEFAULT '',
  command             TEXT NOT NULL DEFAULT '',
  note                TEXT NOT NULL DEFAULT '',
  energy_j            REAL,
  net_energy_j        REAL,
  wall_energy_j       REAL,
  avg_power_w         REAL,
  peak_power_w        REAL,
  co2e_g              REAL,
  intensity_g_per_kwh REAL,
  pue                 REAL,
  UNIQUE (experiment_id, run_index)
);
CREATE TABLE run_factors (
  run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  name     TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (run_id, name)
);
CREATE TABLE run_energy (
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component    TEXT NOT NULL,
  device       TEXT NOT NULL DEFAULT '',
  source       TEXT NOT NULL CHECK (source IN ('measured', 'estimated')),
  model        TEXT NOT NULL DEFAULT '',
  energy_j     REAL NOT NULL,
  avg_power_w  REAL,
  peak_power_w REAL,
  idle_power_w REAL,
  net_energy_j REAL
);
CREATE INDEX run_energy_run ON run_energy(run_id);
CREATE TABLE run_metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name   TEXT NOT NULL,
  value  REAL NOT NULL,
  PRIMARY KEY (run_id, name)
);
CREATE TABLE power_samples (
  run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  t_s             REAL NOT NULL,
  component       TEXT NOT NULL,
  device          TEXT NOT NULL DEFAULT '',
  power_w         REAL NOT NULL,
  energy_j        REAL,
  sm_clock_mhz    REAL,
  temperature_c   REAL,
  utilization_pct REAL,
  memory_used_mb  REAL
);
CREATE INDEX power_samples_run ON power_samples(run_id);
CREATE TABLE idle_baselines (
  id            INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  session_id    INTEGER REFERENCES sessions(id),
  after_runs    INTEGER NOT NULL,
  measured_at   TEXT NOT NULL,
  duration_s    REAL NOT NULL,
  component     TEXT NOT NULL,
  device        TEXT NOT NULL DEFAULT '',
  source        TEXT NOT NULL,
  power_w       REAL NOT NULL
);
)sql";

// Version 2: the run layout of an experiment that can grow, and the attempts a retry replaced.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE experiments ADD COLUMN layout TEXT NOT NULL DEFAULT '';
CREATE TABLE run_attempts (
  id            INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  session_id    INTEGER REFERENCES sessions(id),
  run_index     INTEGER NOT NULL,
  config_index  INTEGER NOT NULL,
  block         INTEGER NOT NULL,
  seed          INTEGER NOT NULL,
  status        TEXT NOT NULL,
  started_at    TEXT NOT NULL,
  finished_at   TEXT NOT NULL,
  replaced_at   TEXT NOT NULL,
  duration_s    REAL,
  exit_code     INTEGER,
  energy_j      REAL,
  stderr_tail   TEXT NOT NULL DEFAULT '',
  note          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX run_attempts_run ON run_attempts(experiment_id, run_index);
)sql";

// Version 3: phases (run_phases) and process attribution of component energy.
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE run_energy ADD COLUMN attribution TEXT NOT NULL DEFAULT 'machine'
  CHECK (attribution IN ('machine', 'process'));
ALTER TABLE run_energy ADD COLUMN machine_energy_j REAL;
CREATE TABLE run_phases (
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  occurrence    INTEGER NOT NULL,
  t_begin_s     REAL NOT NULL,
  duration_s    REAL NOT NULL,
  energy_j      REAL NOT NULL,
  net_energy_j  REAL,
  gpu_energy_j  REAL,
  cpu_energy_j  REAL,
  ram_energy_j  REAL,
  wall_energy_j REAL,
  uncertainty_j REAL NOT NULL,
  components    TEXT NOT NULL,
  PRIMARY KEY (run_id, name, occurrence)
);
)sql";

// Version 4: where each run ran (host, Slurm node and ids, GPU board by UUID and PCI bus id,
// lane). A separate table, so older files migrate without rewriting their runs.
constexpr const char* kSchemaV4Provenance = R"sql(
CREATE TABLE run_provenance (
  run_id               INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  host                 TEXT NOT NULL DEFAULT '',
  node                 TEXT NOT NULL DEFAULT '',
  gpu_uuid             TEXT NOT NULL DEFAULT '',
  gpu_pci_bus_id       TEXT NOT NULL DEFAULT '',
  gpu_name             TEXT NOT NULL DEFAULT '',
  gpu_mapping          TEXT NOT NULL DEFAULT '',
  cuda_visible_devices TEXT NOT NULL DEFAULT '',
  slurm_job_id         TEXT NOT NULL DEFAULT '',
  slurm_array_job_id   TEXT NOT NULL DEFAULT '',
  slurm_array_task_id  TEXT NOT NULL DEFAULT '',
  lane                 INTEGER
);
)sql";

// Version 5: nested phases (an occurrence knows the path of the one it is inside, so train/epoch
// and a top-level epoch are different rows), the metrics reported inside an occurrence, and the
// flag of an occurrence whose energy uncertainty was too large. The table is rebuilt because its
// primary key gains the parent.
constexpr const char* kSchemaV5NestedPhases = R"sql(
CREATE TABLE run_phases_v5 (
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  parent        TEXT NOT NULL DEFAULT '',
  name          TEXT NOT NULL,
  occurrence    INTEGER NOT NULL,
  t_begin_s     REAL NOT NULL,
  duration_s    REAL NOT NULL,
  energy_j      REAL NOT NULL,
  net_energy_j  REAL,
  gpu_energy_j  REAL,
  cpu_energy_j  REAL,
  ram_energy_j  REAL,
  wall_energy_j REAL,
  uncertainty_j REAL NOT NULL,
  components    TEXT NOT NULL,
  metrics       TEXT NOT NULL DEFAULT '{}',
  flagged       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, parent, name, occurrence)
);
INSERT INTO run_phases_v5 (run_id, name, occurrence, t_begin_s, duration_s, energy_j,
  net_energy_j, gpu_energy_j, cpu_energy_j, ram_energy_j, wall_energy_j, uncertainty_j,
  components)
  SELECT run_id, name, occurrence, t_begin_s, duration_s, energy_j, net_energy_j, gpu_energy_j,
         cpu_energy_j, ram_energy_j, wall_energy_j, uncertainty_j, components FROM run_phases;
DROP TABLE run_phases;
ALTER TABLE run_phases_v5 RENAME TO run_phases;
)sql";

// Version 6: the settings each metered GPU ran under (read-only NVML): power limits, application
// and maximum clocks, persistence mode and the union of the clock-throttle reason bits seen
// during the run. One row per GPU of the run; NULL where the board could not say.
constexpr const char* kSchemaV6GpuSettings = R"sql(
CREATE TABLE run_gpu_settings (
  run_id                INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  position              INTEGER NOT NULL,
  device                TEXT NOT NULL DEFAULT '',
  uuid                  TEXT NOT NULL DEFAULT '',
  name                  TEXT NOT NULL DEFAULT '',
  power_limit_w         REAL,
  default_power_limit_w REAL,
  min_power_limit_w     REAL,
  max_power_limit_w     REAL,
  app_sm_clock_mhz      REAL,
  app_memory_clock_mhz  REAL,
  max_sm_clock_mhz      REAL,
  max_memory_clock_mhz  REAL,
  persistence_mode      INTEGER CHECK (persistence_mode IN (0, 1)),
  throttle_reasons      INTEGER,
  PRIMARY KEY (run_id, position)
);
)sql";

constexpr const char* kMigrations[] = {
    kSchemaV1,           kSchemaV2, kSchemaV3, kSchemaV4Provenance, kSchemaV5NestedPhases,
    kSchemaV6GpuSettings};
static_assert(std::size(kMigrations) == kSchemaVersion);

// A word of the records' vocabulary (common/vocabulary.h) read from a column; a word this
// version does not know means the file is not one of its databases.
template <class T>
T word(const sql::Stmt& s, const char* column, std::optional<T> (*parse)(std::string_view)) {
  const std::string text = s.text(column);
  if (auto v = parse(text)) return *v;
  throw gt::Error(fmt::format("the database has {} = '{}', which this version does not know",
                              column, text.substr(0, 40)));
}

nlohmann::json parse_json(const std::string& text) {
  if (text.empty()) return nlohmann::json::object();
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

constexpr const char* kExperimentCols =
    "id, name, plan_text, plan_hash, plan_path, workload_kind, factor_names, factors, "
    "benchmark, environment, planned_runs, created_at";

ExperimentRecord read_experiment(const sql::Stmt& s) {
  ExperimentRecord e;
  e.id = s.i64("id");
  e.name = s.text("name");
  e.plan_text = s.text("plan_text");
  e.plan_hash = s.text("plan_hash");
  e.plan_path = s.text("plan_path");
  e.workload_kind = s.text("workload_kind");
  auto names = parse_json(s.text("factor_names"));
  if (!names.is_array())
    throw gt::Error(
        fmt::format("experiment '{}': its factor names in the database are not a "
                    "JSON list (the database is damaged)",
                    e.name));
  for (auto& n : names) {
    if (!n.is_string())
      throw gt::Error(
          fmt::format("experiment '{}': a factor name in the database is {} instead "
                      "of a string (the database is damaged)",
                      e.name, n.dump().substr(0, 40)));
    e.factor_names.push_back(n.get<std::string>());
  }
  e.factors = parse_json(s.text("factors"));
  e.benchmark = parse_json(s.text("benchmark"));
  e.environment = parse_json(s.text("environment"));
  e.planned_runs = static_cast<int>(s.i64("planned_runs"));
  e.created_at = s.text("created_at");
  const std::string layout = s.text("layout");
  if (!layout.empty()) e.layout = nlohmann::json::parse(layout, nullptr, false);
  return e;
}

// The columns a run and each replaced attempt of it share (runs, run_attempts), read by name.
template <class Row>
void read_run_columns(const sql::Stmt& s, Row& r) {
  r.experiment_id = s.i64("experiment_id");
  r.session_id = s.opt_i64("session_id").value_or(0);
  r.run_index = static_cast<int>(s.i64("run_index"));
  r.config_index = static_cast<int>(s.i64("config_index"));
  r.block = static_cast<int>(s.i64("block"));
  r.seed = s.i64("seed");
  r.status = word(s, "status", parse_run_status);
  r.started_at = s.text("started_at");
  r.finished_at = s.text("finished_at");
  r.duration_s = s.opt_f64("duration_s");
  if (auto c = s.opt_i64("exit_code")) r.exit_code = static_cast<int>(*c);
  r.energy_j = s.opt_f64("energy_j");
  r.stderr_tail = s.text("stderr_tail");
  r.note = s.text("note");
}

}  // namespace

std::string utc_now_iso() {
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::string> RunRecord::factor(std::string_view name) const {
  for (const auto& [k, v] : factors)
    if (k == name) return v;
  return std::nullopt;
}

std::optional<double> RunRecord::component_energy_j(Component component) const {
  std::optional<double> total;
  for (const auto& e : energy)
    if (e.component == component) total = total.value_or(0) + e.energy_j;
  return total;
}

Store::Store(const std::string& path, Mode mode) : db_(path, mode == Mode::read_only) {
  db_.exec("PRAGMA foreign_keys = ON");
  if (mode == Mode::read_only) {
    int v = schema_version();
    if (v == 0) throw gt::Error(fmt::format("{}: not a greentrain database (no schema)", path));
    if (v > kSchemaVersion)
      throw gt::Error(fmt::format(
          "{}: database schema version {} is newer than this greentrain understands ({})", path, v,
          kSchemaVersion));
    return;
  }
  db_.exec("PRAGMA journal_mode = WAL");
  db_.exec("PRAGMA synchronous = NORMAL");
  migrate();
}

std::string Store::experiment_columns() const {
  // A version-1 file opened read-only has no layout column.
  return std::string(kExperimentCols) + (schema_version() >= 2 ? ", layout" : ", '' AS layout");
}

int Store::schema_version() const {
  sql::Stmt s(db_, "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.i64(0));
}

void Store::migrate() {
  if (schema_version() == kSchemaVersion) return;
  // One write transaction from reading the version to the last step: a second process creating
  // or migrating the same file at the same moment waits, then finds the schema done.
  sql::Transaction tx(db_);
  int v = schema_version();
  if (v > kSchemaVersion)
    throw gt::Error(
        fmt::format("{}: database schema version {} is newer than this greentrain understands ({})",
                    path(), v, kSchemaVersion));
  if (v == 0) {
    // A version-0 file must be empty: refuse to scribble tables into someone else's database.
    sql::Stmt s(db_, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'");
    s.step();
    if (s.i64(0) != 0)
      throw gt::Error(fmt::format("{}: not a greentrain database (it has other tables)", path()));
  }
  if (v == kSchemaVersion) return;
  for (; v < kSchemaVersion; ++v) db_.exec(kMigrations[v]);
  db_.exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion));
  tx.commit();
}

std::vector<ExperimentRecord> Store::experiments() const {
  sql::Stmt s(db_, fmt::format("SELECT {} FROM experiments ORDER BY id", experiment_columns()));
  std::vector<ExperimentRecord> out;
  while (s.step()) out.push_back(read_experiment(s));
  return out;
}

std::optional<ExperimentRecord> Store::find_experiment(std::string_view name) const {
  sql::Stmt s(db_, fmt::format("SELECT {} FROM experiments WHERE name = ?", experiment_columns()));
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return read_experiment(s);
}

ExperimentRecord Store::experiment(std::string_view name) const {
  auto all = experiments();
  if (all.empty()) throw gt::Error(fmt::format("{}: the database has no experiments", path()));
  std::string names;
  for (const auto& e : all) names += (names.empty() ? "" : ", ") + e.name;
  if (name.empty()) {
    if (all.size() == 1) return all.front();
    throw gt::UsageError(fmt::format("{}: holds {} experiments ({}); name one with --experiment",
                                     path(), all.size(), names));
  }
  for (auto& e : all)
    if (e.name == name) return e;
  throw gt::UsageError(
      fmt::format("{}: no experiment named '{}' (it has: {})", path(), name, names));
}

std::vector<SessionRecord> Store::sessions(std::int64_t experiment_id) const {
  sql::Stmt s(db_,
              "SELECT id, experiment_id, started_at, host, shard, environment FROM sessions "
              "WHERE experiment_id = ? ORDER BY id");
  s.bind(1, experiment_id);
  std::vector<SessionRecord> out;
  while (s.step())
    out.push_back({s.i64("id"), s.i64("experiment_id"), s.text("started_at"), s.text("host"),
                   s.text("shard"), parse_json(s.text("environment"))});
  return out;
}

namespace {

// The rows of one experiment's runs and of their child tables, read into `out` (by_id: a run's
// row id -> its place in `out`).
using RunIndex = std::map<std::int64_t, size_t>;

void read_runs(const sql::Db& db, std::int64_t experiment_id, std::vector<RunRecord>& out,
               RunIndex& by_id) {
  sql::Stmt s(db,
              "SELECT id, experiment_id, session_id, run_index, config_index, block, repeat, "
              "warmup, seed, status, started_at, finished_at, duration_s, exit_code, "
              "stderr_tail, command, note, energy_j, net_energy_j, wall_energy_j, "
              "avg_power_w, peak_power_w, co2e_g, intensity_g_per_kwh, pue FROM runs "
              "WHERE experiment_id = ? ORDER BY run_index");
  s.bind(1, experiment_id);
  while (s.step()) {
    RunRecord r;
    read_run_columns(s, r);
    r.id = s.i64("id");
    r.repeat = static_cast<int>(s.i64("repeat"));
    r.warmup = s.i64("warmup") != 0;
    r.command = s.text("command");
    r.net_energy_j = s.opt_f64("net_energy_j");
    r.wall_energy_j = s.opt_f64("wall_energy_j");
    r.avg_power_w = s.opt_f64("avg_power_w");
    r.peak_power_w = s.opt_f64("peak_power_w");
    r.co2e_g = s.opt_f64("co2e_g");
    r.intensity_g_per_kwh = s.opt_f64("intensity_g_per_kwh");
    r.pue = s.opt_f64("pue");
    by_id[r.id] = out.size();
    out.push_back(std::move(r));
  }
}

void read_run_factors(const sql::Db& db, std::int64_t experiment_id, std::vector<RunRecord>& out,
                      const RunIndex& by_id) {
  sql::Stmt s(db,
              "SELECT f.run_id, f.name, f.value FROM run_factors f JOIN runs r ON r.id = "
              "f.run_id WHERE r.experiment_id = ? ORDER BY f.run_id, f.position");
  s.bind(1, experiment_id);
  while (s.step())
    out[by_id.at(s.i64("run_id"))].factors.emplace_back(s.text("name"), s.text("value"));
}

void read_run_metrics(const sql::Db& db, std::int64_t experiment_id, std::vector<RunRecord>& out,
                      const RunIndex& by_id) {
  sql::Stmt s(db,
              "SELECT m.run_id, m.name, m.value FROM run_metrics m JOIN runs r ON r.id = "
              "m.run_id WHERE r.experiment_id = ?");
  s.bind(1, experiment_id);
  while (s.step()) out[by_id.at(s.i64("run_id"))].metrics[s.text("name")] = s.f64("value");
}

// Before version 3, every row was the machine's.
void read_run_energy(const sql::Db& db, std::int64_t experiment_id, int version,
                     std::vector<RunRecord>& out, const RunIndex& by_id) {
  const bool v3 = version >= 3;
  sql::Stmt s(db,
              "SELECT e.run_id, e.component, e.device, e.source, e.model, e.energy_j, "
              "e.avg_power_w, e.peak_power_w, e.idle_power_w, e.net_energy_j, " +
                  std::string(v3 ? "e.attribution, e.machine_energy_j"
                                 : "'machine' AS attribution, NULL AS machine_energy_j") +
                  " FROM run_energy e JOIN runs r ON r.id = e.run_id WHERE r.experiment_id = ? "
                  "ORDER BY e.rowid");
  s.bind(1, experiment_id);
  while (s.step())
    out[by_id.at(s.i64("run_id"))].energy.push_back(
        {word(s, "component", parse_component), s.text("device"), word(s, "source", parse_source),
         s.text("model"), s.f64("energy_j"), s.opt_f64("avg_power_w"), s.opt_f64("peak_power_w"),
         s.opt_f64("idle_power_w"), s.opt_f64("net_energy_j"), word(s, "attribution", parse_scope),
         s.opt_f64("machine_energy_j")});
}

// Version 5 added nested phases, their metrics and flags.
void read_run_phases(const sql::Db& db, std::int64_t experiment_id, int version,
                     std::vector<RunRecord>& out, const RunIndex& by_id) {
  const bool v5 = version >= 5;  // nested phases, their metrics and flags
  sql::Stmt s(db,
              "SELECT p.run_id, p.name, p.occurrence, p.t_begin_s, p.duration_s, p.energy_j, "
              "p.net_energy_j, p.gpu_energy_j, p.cpu_energy_j, p.ram_energy_j, "
              "p.wall_energy_j, p.uncertainty_j, p.components, " +
                  std::string(v5 ? "p.parent, p.metrics, p.flagged"
                                 : "'' AS parent, '{}' AS metrics, 0 AS flagged") +
                  " FROM run_phases p JOIN runs r ON r.id = p.run_id WHERE r.experiment_id = ? "
                  "ORDER BY p.run_id, p.rowid");
  s.bind(1, experiment_id);
  while (s.step()) {
    PhaseRecord p;
    p.name = s.text("name");
    p.parent = s.text("parent");
    p.flagged = s.i64("flagged") != 0;
    const nlohmann::json metrics = parse_json(s.text("metrics"));
    if (metrics.is_object())
      for (const auto& [k, v] : metrics.items())
        if (v.is_number()) p.metrics[k] = v.get<double>();
    p.occurrence = static_cast<int>(s.i64("occurrence"));
    p.t_begin_s = s.f64("t_begin_s");
    p.duration_s = s.f64("duration_s");
    p.energy_j = s.f64("energy_j");
    p.net_energy_j = s.opt_f64("net_energy_j");
    p.gpu_energy_j = s.opt_f64("gpu_energy_j");
    p.cpu_energy_j = s.opt_f64("cpu_energy_j");
    p.ram_energy_j = s.opt_f64("ram_energy_j");
    p.wall_energy_j = s.opt_f64("wall_energy_j");
    p.uncertainty_j = s.f64("uncertainty_j");
    p.components = parse_json(s.text("components"));
    out[by_id.at(s.i64("run_id"))].phases.push_back(std::move(p));
  }
}

void read_run_provenance(const sql::Db& db, std::int64_t experiment_id, std::vector<RunRecord>& out,
                         const RunIndex& by_id) {
  sql::Stmt s(db,
              "SELECT p.run_id, p.host, p.node, p.gpu_uuid, p.gpu_pci_bus_id, p.gpu_name, "
              "p.gpu_mapping, p.cuda_visible_devices, p.slurm_job_id, p.slurm_array_job_id, "
              "p.slurm_array_task_id, p.lane FROM run_provenance p JOIN runs r ON r.id = "
              "p.run_id WHERE r.experiment_id = ?");
  s.bind(1, experiment_id);
  while (s.step()) {
    auto& p = out[by_id.at(s.i64(0))].provenance;
    p = {s.text(1), s.text(2), s.text(3), s.text(4),  s.text(5),   s.text(6),
         s.text(7), s.text(8), s.text(9), s.text(10), std::nullopt};
    if (auto lane = s.opt_i64(11)) p.lane = static_cast<int>(*lane);
  }
}

void read_run_gpu_settings(const sql::Db& db, std::int64_t experiment_id,
                           std::vector<RunRecord>& out, const RunIndex& by_id) {
  sql::Stmt s(db,
              "SELECT g.run_id, g.device, g.uuid, g.name, g.power_limit_w, "
              "g.default_power_limit_w, g.min_power_limit_w, g.max_power_limit_w, "
              "g.app_sm_clock_mhz, g.app_memory_clock_mhz, g.max_sm_clock_mhz, "
              "g.max_memory_clock_mhz, g.persistence_mode, g.throttle_reasons FROM "
              "run_gpu_settings g JOIN runs r ON r.id = g.run_id WHERE r.experiment_id = ? "
              "ORDER BY g.run_id, g.position");
  s.bind(1, experiment_id);
  while (s.step()) {
    energy::GpuSettings g;
    g.device = s.text("device");
    g.uuid = s.text("uuid");
    g.name = s.text("name");
    g.power_limit_w = s.opt_f64("power_limit_w");
    g.default_power_limit_w = s.opt_f64("default_power_limit_w");
    g.min_power_limit_w = s.opt_f64("min_power_limit_w");
    g.max_power_limit_w = s.opt_f64("max_power_limit_w");
    g.app_sm_clock_mhz = s.opt_f64("app_sm_clock_mhz");
    g.app_memory_clock_mhz = s.opt_f64("app_memory_clock_mhz");
    g.max_sm_clock_mhz = s.opt_f64("max_sm_clock_mhz");
    g.max_memory_clock_mhz = s.opt_f64("max_memory_clock_mhz");
    if (auto m = s.opt_i64("persistence_mode")) g.persistence_mode = *m != 0;
    if (auto t = s.opt_i64("throttle_reasons")) g.throttle_reasons = static_cast<std::uint64_t>(*t);
    out[by_id.at(s.i64("run_id"))].provenance.gpu_settings.push_back(std::move(g));
  }
}

}  // namespace

std::vector<RunRecord> Store::runs(std::int64_t experiment_id) const {
  std::vector<RunRecord> out;
  RunIndex by_id;
  const int version = schema_version();
  read_runs(db_, experiment_id, out, by_id);
  read_run_factors(db_, experiment_id, out, by_id);
  read_run_metrics(db_, experiment_id, out, by_id);
  read_run_energy(db_, experiment_id, version, out, by_id);
  // A file opened read-only before version 3 has no phases, before 4 no provenance, before 6
  // no GPU settings.
  if (version >= 3) read_run_phases(db_, experiment_id, version, out, by_id);
  if (version >= 4) read_run_provenance(db_, experiment_id, out, by_id);
  if (version >= 6) read_run_gpu_settings(db_, experiment_id, out, by_id);
  return out;
}

std::vector<SampleRecord> Store::samples(std::int64_t run_row_id) const {
  return sql::query_rows(db_,
                         "SELECT t_s, component, device, power_w, energy_j, sm_clock_mhz, "
                         "temperature_c, utilization_pct, memory_used_mb FROM power_samples "
                         "WHERE run_id = ? ORDER BY rowid",
                         run_row_id, [](const sql::Stmt& s) {
                           return SampleRecord{s.f64("t_s"),
                                               word(s, "component", parse_component),
                                               s.text("device"),
                                               s.f64("power_w"),
                                               s.opt_f64("energy_j"),
                                               s.opt_f64("sm_clock_mhz"),
                                               s.opt_f64("temperature_c"),
                                               s.opt_f64("utilization_pct"),
                                               s.opt_f64("memory_used_mb")};
                         });
}

std::vector<IdleBaseline> Store::idle_baselines(std::int64_t experiment_id) const {
  return sql::query_rows(
      db_,
      "SELECT id, experiment_id, session_id, after_runs, measured_at, duration_s, "
      "component, device, source, power_w FROM idle_baselines "
      "WHERE experiment_id = ? ORDER BY id",
      experiment_id, [](const sql::Stmt& s) {
        return IdleBaseline{s.i64("id"),
                            s.i64("experiment_id"),
                            s.opt_i64("session_id").value_or(0),
                            static_cast<int>(s.i64("after_runs")),
                            s.text("measured_at"),
                            s.f64("duration_s"),
                            word(s, "component", parse_component),
                            s.text("device"),
                            word(s, "source", parse_source),
                            s.f64("power_w")};
      });
}

std::int64_t Store::create_experiment(const ExperimentRecord& e) {
  sql::Transaction tx(db_);
  sql::Stmt s(db_,
              "INSERT INTO experiments (name, plan_text, plan_hash, plan_path, workload_kind, "
              "factor_names, factors, benchmark, environment, planned_runs, created_at, layout) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  s.bind_all(e.name, e.plan_text, e.plan_hash, e.plan_path, e.workload_kind,
             nlohmann::json(e.factor_names).dump(), e.factors.dump(), e.benchmark.dump(),
             e.environment.dump(), e.planned_runs,
             e.created_at.empty() ? utc_now_iso() : e.created_at,
             e.layout.is_null() ? std::string() : e.layout.dump());
  s.run();
  auto id = db_.last_insert_id();
  tx.commit();
  return id;
}

std::int64_t Store::add_session(const SessionRecord& r) {
  sql::Stmt s(db_,
              "INSERT INTO sessions (experiment_id, started_at, host, shard, environment) "
              "VALUES (?,?,?,?,?)");
  s.bind_all(r.experiment_id, r.started_at.empty() ? utc_now_iso() : r.started_at, r.host, r.shard,
             r.environment.dump());
  s.run();
  return db_.last_insert_id();
}

namespace {

// A run recorded before (aborted or failed) moves to run_attempts, its rows gone; a finished
// one is never replaced. Takes the database path for the message.
void replace_earlier_attempt(sql::Db& db, const RunRecord& r, const std::string& path) {
  sql::Stmt q(db, "SELECT id, status FROM runs WHERE experiment_id = ? AND run_index = ?");
  q.bind(1, r.experiment_id).bind(2, r.run_index);
  if (q.step()) {
    if (parse_run_status(q.text("status")) == RunStatus::ok)
      throw gt::Error(fmt::format("{}: run {} of experiment {} is already recorded ({})", path,
                                  r.run_index, r.experiment_id, q.text("status")));
    auto old = q.i64("id");
    sql::Stmt keep(db,
                   "INSERT INTO run_attempts (experiment_id, session_id, run_index, "
                   "config_index, block, seed, status, started_at, finished_at, replaced_at, "
                   "duration_s, exit_code, energy_j, stderr_tail, note) SELECT experiment_id, "
                   "session_id, run_index, config_index, block, seed, status, started_at, "
                   "finished_at, ?, duration_s, exit_code, energy_j, stderr_tail, note FROM "
                   "runs WHERE id = ?");
    keep.bind(1, utc_now_iso()).bind(2, old).run();
    for (const char* table : {"run_factors", "run_metrics", "run_energy", "power_samples",
                              "run_phases", "run_provenance", "run_gpu_settings"}) {
      sql::Stmt d(db, fmt::format("DELETE FROM {} WHERE run_id = ?", table));
      d.bind(1, old).run();
    }
    sql::Stmt d(db, "DELETE FROM runs WHERE id = ?");
    d.bind(1, old).run();
  }
}

// The runs row itself; returns its id.
std::int64_t insert_run_row(sql::Db& db, const RunRecord& r) {
  sql::Stmt s(db,
              "INSERT INTO runs (experiment_id, session_id, run_index, config_index, block, "
              "repeat, warmup, seed, status, started_at, finished_at, duration_s, exit_code, "
              "stderr_tail, command, note, energy_j, net_energy_j, wall_energy_j, avg_power_w, "
              "peak_power_w, co2e_g, intensity_g_per_kwh, pue) VALUES "
              "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  std::optional<std::int64_t> session;
  if (r.session_id) session = r.session_id;
  std::optional<std::int64_t> exit_code;
  if (r.exit_code) exit_code = *r.exit_code;
  s.bind_all(r.experiment_id, session, r.run_index, r.config_index, r.block, r.repeat,
             r.warmup ? 1 : 0, r.seed, to_string(r.status), r.started_at, r.finished_at,
             r.duration_s, exit_code, r.stderr_tail, r.command, r.note, r.energy_j, r.net_energy_j,
             r.wall_energy_j, r.avg_power_w, r.peak_power_w, r.co2e_g, r.intensity_g_per_kwh,
             r.pue);
  s.run();
  return db.last_insert_id();
}

void insert_run_factors(sql::Db& db, const RunRecord& r, std::int64_t id) {
  sql::Stmt f(db, "INSERT INTO run_factors (run_id, position, name, value) VALUES (?,?,?,?)");
  int pos = 0;
  for (const auto& [k, v] : r.factors) f.bind(1, id).bind(2, pos++).bind(3, k).bind(4, v).run();
}

void insert_run_metrics(sql::Db& db, const RunRecord& r, std::int64_t id) {
  sql::Stmt m(db, "INSERT INTO run_metrics (run_id, name, value) VALUES (?,?,?)");
  for (const auto& [k, v] : r.metrics)
    if (std::isfinite(v)) m.bind(1, id).bind(2, k).bind(3, v).run();
}

void insert_run_energy(sql::Db& db, const RunRecord& r, std::int64_t id) {
  sql::Stmt e(db,
              "INSERT INTO run_energy (run_id, component, device, source, model, energy_j, "
              "avg_power_w, peak_power_w, idle_power_w, net_energy_j, attribution, "
              "machine_energy_j) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  for (const auto& c : r.energy) {
    if (!std::isfinite(c.energy_j)) continue;  // the meters never give one; never fail the run
    e.bind_all(id, to_string(c.component), c.device, to_string(c.source), c.model, c.energy_j,
               c.avg_power_w, c.peak_power_w, c.idle_power_w, c.net_energy_j,
               to_string(c.attribution), c.machine_energy_j)
        .run();
  }
}

void insert_run_phases(sql::Db& db, const RunRecord& r, std::int64_t id) {
  sql::Stmt p(db,
              "INSERT INTO run_phases (run_id, parent, name, occurrence, t_begin_s, duration_s, "
              "energy_j, net_energy_j, gpu_energy_j, cpu_energy_j, ram_energy_j, "
              "wall_energy_j, uncertainty_j, components, metrics, flagged) VALUES "
              "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  auto finite = [](const std::optional<double>& v) {
    return v && std::isfinite(*v) ? v : std::nullopt;
  };
  for (const auto& x : r.phases) {
    if (!std::isfinite(x.energy_j) || !std::isfinite(x.duration_s)) continue;
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [k, v] : x.metrics)
      if (std::isfinite(v)) metrics[k] = v;
    p.bind_all(id, x.parent, x.name, x.occurrence, x.t_begin_s, x.duration_s, x.energy_j,
               finite(x.net_energy_j), finite(x.gpu_energy_j), finite(x.cpu_energy_j),
               finite(x.ram_energy_j), finite(x.wall_energy_j),
               std::isfinite(x.uncertainty_j) ? x.uncertainty_j : 0.0, x.components.dump(),
               metrics.dump(), std::int64_t{x.flagged})
        .run();
  }
}

void insert_run_provenance(sql::Db& db, const RunRecord& r, std::int64_t id) {
  const auto& p = r.provenance;
  std::optional<std::int64_t> lane;
  if (p.lane) lane = *p.lane;
  sql::Stmt q(db,
              "INSERT INTO run_provenance (run_id, host, node, gpu_uuid, gpu_pci_bus_id, "
              "gpu_name, gpu_mapping, cuda_visible_devices, slurm_job_id, slurm_array_job_id, "
              "slurm_array_task_id, lane) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  q.bind_all(id, p.host, p.node, p.gpu_uuid, p.gpu_pci_bus_id, p.gpu_name, p.gpu_mapping,
             p.cuda_visible_devices, p.slurm_job_id, p.slurm_array_job_id, p.slurm_array_task_id,
             lane)
      .run();
}

void insert_run_gpu_settings(sql::Db& db, const RunRecord& r, std::int64_t id) {
  sql::Stmt q(db,
              "INSERT INTO run_gpu_settings (run_id, position, device, uuid, name, "
              "power_limit_w, default_power_limit_w, min_power_limit_w, max_power_limit_w, "
              "app_sm_clock_mhz, app_memory_clock_mhz, max_sm_clock_mhz, max_memory_clock_mhz, "
              "persistence_mode, throttle_reasons) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  int position = 0;
  for (const auto& g : r.provenance.gpu_settings) {
    std::optional<std::int64_t> persistence, reasons;
    if (g.persistence_mode) persistence = *g.persistence_mode ? 1 : 0;
    if (g.throttle_reasons) reasons = static_cast<std::int64_t>(*g.throttle_reasons);
    q.bind_all(id, position++, g.device, g.uuid, g.name, g.power_limit_w, g.default_power_limit_w,
               g.min_power_limit_w, g.max_power_limit_w, g.app_sm_clock_mhz, g.app_memory_clock_mhz,
               g.max_sm_clock_mhz, g.max_memory_clock_mhz, persistence, reasons)
        .run();
  }
}

void insert_power_samples(sql::Db& db, std::int64_t id, const std::vector<SampleRecord>& samples) {
  sql::Stmt p(db,
              "INSERT INTO power_samples (run_id, t_s, component, device, power_w, energy_j, "
              "sm_clock_mhz, temperature_c, utilization_pct, memory_used_mb) VALUES "
              "(?,?,?,?,?,?,?,?,?,?)");
  for (const auto& x : samples)
    p.bind_all(id, x.t_s, to_string(x.component), x.device, x.power_w, x.energy_j, x.sm_clock_mhz,
               x.temperature_c, x.utilization_pct, x.memory_used_mb)
        .run();
}

}  // namespace

std::int64_t Store::record_run(const RunRecord& r, const std::vector<SampleRecord>& samples) {
  sql::Transaction tx(db_);
  replace_earlier_attempt(db_, r, path());
  const auto id = insert_run_row(db_, r);
  insert_run_factors(db_, r, id);
  insert_run_metrics(db_, r, id);
  insert_run_energy(db_, r, id);
  insert_run_phases(db_, r, id);
  insert_run_provenance(db_, r, id);
  insert_run_gpu_settings(db_, r, id);
  if (!samples.empty()) insert_power_samples(db_, id, samples);
  tx.commit();
  return id;
}

std::vector<RunAttempt> Store::attempts(std::int64_t experiment_id) const {
  if (schema_version() < 2) return {};
  sql::Stmt s(db_,
              "SELECT experiment_id, session_id, run_index, config_index, block, seed, status, "
              "started_at, finished_at, replaced_at, duration_s, exit_code, energy_j, "
              "stderr_tail, note FROM run_attempts WHERE experiment_id = ? ORDER BY id");
  s.bind(1, experiment_id);
  std::vector<RunAttempt> out;
  while (s.step()) {
    RunAttempt a;
    read_run_columns(s, a);
    a.replaced_at = s.text("replaced_at");
    out.push_back(std::move(a));
  }
  return out;
}

void Store::update_plan(std::int64_t experiment_id, const std::string& plan_text,
                        const std::string& plan_hash, const nlohmann::json& factors,
                        const nlohmann::json& layout, int planned_runs) {
  sql::Stmt s(db_,
              "UPDATE experiments SET plan_text = ?, plan_hash = ?, factors = ?, layout = ?, "
              "planned_runs = ? WHERE id = ?");
  s.bind(1, plan_text).bind(2, plan_hash).bind(3, factors.dump()).bind(4, layout.dump());
  s.bind(5, planned_runs).bind(6, experiment_id).run();
}

std::optional<double> run_metric(const RunRecord& r, std::string_view name) {
  if (name == "duration_s") return r.duration_s;
  if (name == "energy_j") return r.energy_j;
  if (name == "net_energy_j") return r.net_energy_j;
  if (name == "wall_energy_j")
    return r.wall_energy_j ? r.wall_energy_j : r.component_energy_j(Component::wall);
  if (name == "avg_power_w") return r.avg_power_w;
  if (name == "peak_power_w") return r.peak_power_w;
  if (name == "co2e_g") return r.co2e_g;
  for (Component c : {Component::gpu, Component::cpu, Component::ram})
    if (name == std::string(to_string(c)) + "_energy_j") return r.component_energy_j(c);
  if (auto it = r.metrics.find(std::string(name)); it != r.metrics.end()) return it->second;
  return std::nullopt;
}

void Store::record_idle(const std::vector<IdleBaseline>& baselines) {
  sql::Transaction tx(db_);
  sql::Stmt s(db_,
              "INSERT INTO idle_baselines (experiment_id, session_id, after_runs, measured_at, "
              "duration_s, component, device, source, power_w) VALUES (?,?,?,?,?,?,?,?,?)");
  for (const auto& b : baselines) {
    std::optional<std::int64_t> session;
    if (b.session_id) session = b.session_id;
    s.bind_all(b.experiment_id, session, b.after_runs,
               b.measured_at.empty() ? utc_now_iso() : b.measured_at, b.duration_s,
               to_string(b.component), b.device, to_string(b.source), b.power_w)
        .run();
  }
  tx.commit();
}

void write_runs_csv(const Store& store, const std::string& experiment, std::ostream& out) {
  const auto e = store.experiment(experiment);
  auto runs = store.runs(e.id);
  const auto target = target_accuracy(e);  // epochs counted and energy to target (epochs.h)
  for (auto& r : runs)
    for (const auto& [k, v] : derived_metrics(r, e.factor_names, target)) r.metrics.emplace(k, v);
  const std::vector<std::string>& kFixedMetrics = fixed_metric_columns();
  std::set<std::string> extra;
  for (const auto& r : runs)
    for (const auto& [k, v] : r.metrics)
      if (std::find(kFixedMetrics.begin(), kFixedMetrics.end(), k) == kFixedMetrics.end())
        extra.insert(k);

  // What each run ran on and under, after the measured columns; a column whose name a metric of
  // an older database already takes is left out.
  const RunSetups setups(store, e);
  std::vector<std::string> context;
  for (const auto& c : context_columns())
    if (!extra.count(c)) context.push_back(c);

  std::vector<std::string> header = run_columns();
  for (const auto& f : e.factor_names) header.push_back(f);
  for (const auto& c : run::energy_columns()) header.push_back(c);
  for (const auto& m : kFixedMetrics) header.push_back(m);
  for (const auto& m : extra) header.push_back(m);
  for (const auto& c : context) header.push_back(c);
  out << csv::format_record(header);

  for (const auto& r : runs) {
    std::vector<std::string> row = {std::to_string(r.run_index), std::to_string(r.block),
                                    std::to_string(r.repeat), to_string(r.status),
                                    r.warmup ? "1" : "0"};
    for (const auto& f : e.factor_names) row.push_back(r.factor(f).value_or(""));
    auto wall = r.wall_energy_j ? r.wall_energy_j : r.component_energy_j(Component::wall);
    for (const auto& v :
         {r.duration_s, r.energy_j, r.component_energy_j(Component::gpu),
          r.component_energy_j(Component::cpu), r.component_energy_j(Component::ram), wall,
          r.net_energy_j, r.avg_power_w, r.peak_power_w, r.co2e_g})
      row.push_back(csv::number_field(v));
    auto metric = [&](const std::string& k) -> std::optional<double> {
      auto it = r.metrics.find(k);
      if (it == r.metrics.end()) return std::nullopt;
      return it->second;
    };
    for (const auto& m : kFixedMetrics) row.push_back(csv::number_field(metric(m)));
    for (const auto& m : extra) row.push_back(csv::number_field(metric(m)));
    const RunSetup setup = setups.of(r);
    for (const auto& c : context) row.push_back(context_value(setup, c));
    out << csv::format_record(row);
  }
}

std::string runs_csv(const Store& store, const std::string& experiment) {
  std::ostringstream out;
  write_runs_csv(store, experiment, out);
  return out.str();
}

}  // namespace gt::experiment
