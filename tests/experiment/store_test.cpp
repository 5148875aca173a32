// Tests of the SQLite results store: schema version, round trip of every table, one row per
// run (aborted and failed rows replaced by a retry and kept as attempts, ok rows never
// duplicated), the layout and a version-1 file read and migrated, run_metric, the runs CSV
// (checked by parsing it back with Python's csv module), and merge (same plan joined,
// different plan refused).
#include "experiment/store.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "experiment/codecarbon_csv.h"

namespace gt::experiment {
namespace {

using testing::TempDir;

ExperimentRecord sample_experiment(const std::string& hash = "sha256:abc") {
  ExperimentRecord e;
  e.name = "demo";
  e.plan_text = "name = \"demo\"\n";
  e.plan_hash = hash;
  e.workload_kind = "command";
  e.factor_names = {"precision", "neurons"};
  e.factors = {{"precision", {"fp32", "bf16"}}, {"neurons", {"128", "512,256"}}};
  e.benchmark = {{"precision", "fp32"}, {"neurons", "128"}};
  e.environment = {{"host", "test"}};
  e.planned_runs = 4;
  return e;
}

RunRecord sample_run(std::int64_t eid, int index, const std::string& status = "ok") {
  RunRecord r;
  r.experiment_id = eid;
  r.run_index = index;
  r.config_index = index % 2;
  r.block = 1 + (index - 1) / 2;
  r.repeat = r.block;
  r.factors = {{"precision", index % 2 ? "fp32" : "bf16"}, {"neurons", "512,256"}};
  r.seed = 1000 + index;
  r.status = *parse_run_status(status);
  r.started_at = "2026-01-01T00:00:00Z";
  r.finished_at = "2026-01-01T00:00:10Z";
  r.duration_s = 10.0 + index;
  r.exit_code = 0;
  r.energy_j = 100.5 * index;
  r.avg_power_w = 42;
  r.co2e_g = 0.25;
  r.metrics = {{"test_accuracy", 0.8}, {"final_loss", 0.4}, {"samples_per_s", 1234.5}};
  r.energy = {
      {gt::Component::gpu, "0", gt::Source::measured, "nvml-energy-counter", 60.0 * index, 30, 50},
      {gt::Component::cpu, "package-0", gt::Source::estimated, "tdp-linear(65 W)", 40.5 * index}};
  return r;
}

TEST(Store, CreatesSchemaWithVersionAndWal) {
  TempDir dir;
  Store s(dir / "a.db");
  EXPECT_EQ(s.schema_version(), kSchemaVersion);
  sql::Stmt q(s.db(), "PRAGMA journal_mode");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.text(0), "wal");
}

TEST(Store, ASecondCreatorWaitsAndFindsTheSchemaDone) {
  TempDir dir;
  // The schema as SQL, from a database made the usual way.
  std::vector<std::string> schema;
  {
    Store made(dir / "template.db");
    sql::Stmt s(made.db(), "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid");
    while (s.step()) schema.push_back(s.text(0));
  }
  // Another process is creating the schema of a fresh file when a Store opens it: the Store
  // finds no schema yet, waits for the other's transaction, and must then find it done.
  const std::string path = dir / "fresh.db";
  sql::Db other(path, false);
  other.exec("PRAGMA journal_mode = WAL");
  other.exec("BEGIN IMMEDIATE");
  std::string failure;
  std::thread second([&] {
    try {
      Store s(path);
      if (s.schema_version() != kSchemaVersion) failure = "wrong schema version";
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (const auto& statement : schema) other.exec(statement);
  other.exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion));
  other.exec("COMMIT");
  second.join();
  EXPECT_EQ(failure, "");
}

TEST(Store, RoundTripsExperimentRunsSamplesAndIdle) {
  TempDir dir;
  std::int64_t eid;
  {
    Store s(dir / "a.db");
    eid = s.create_experiment(sample_experiment());
    auto sid = s.add_session({0, eid, "", "host1", "", {{"cpu", "x"}}});
    auto r = sample_run(eid, 1);
    r.session_id = sid;
    s.record_run(r, {{0.1, gt::Component::gpu, "0", 31.5, 3.1, 1400, 45, 99, 1000}});
    s.record_idle({{0, eid, sid, 0, "", 5.0, gt::Component::gpu, "0", gt::Source::measured, 20.5}});
  }
  Store s(dir / "a.db", Store::Mode::read_only);
  auto e = s.experiment("");
  EXPECT_EQ(e.name, "demo");
  EXPECT_EQ(e.factor_names, (std::vector<std::string>{"precision", "neurons"}));
  EXPECT_EQ(e.factors["neurons"][1], "512,256");
  EXPECT_EQ(e.environment["host"], "test");
  auto runs = s.runs(eid);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].factor("neurons"), "512,256");
  EXPECT_DOUBLE_EQ(runs[0].metrics.at("samples_per_s"), 1234.5);
  ASSERT_EQ(runs[0].energy.size(), 2u);
  EXPECT_EQ(runs[0].energy[1].source, gt::Source::estimated);
  EXPECT_DOUBLE_EQ(*runs[0].component_energy_j(gt::Component::gpu), 60.0);
  EXPECT_FALSE(runs[0].component_energy_j(gt::Component::wall).has_value());
  auto samples = s.samples(runs[0].id);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_DOUBLE_EQ(*samples[0].temperature_c, 45);
  auto idle = s.idle_baselines(eid);
  ASSERT_EQ(idle.size(), 1u);
  EXPECT_DOUBLE_EQ(idle[0].power_w, 20.5);
  EXPECT_EQ(s.sessions(eid).at(0).host, "host1");
}

TEST(Store, NeverDuplicatesARunButReplacesAnAbortedOne) {
  TempDir dir;
  Store s(dir / "a.db");
  auto eid = s.create_experiment(sample_experiment());
  s.record_run(sample_run(eid, 1, "aborted"));
  s.record_run(sample_run(eid, 1, "ok"));
  EXPECT_THROW(s.record_run(sample_run(eid, 1, "ok")), gt::Error);
  auto runs = s.runs(eid);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, gt::RunStatus::ok);
  EXPECT_EQ(runs[0].energy.size(), 2u);  // the aborted run's rows are gone
}

TEST(Store, ARetryMovesTheFailedAttemptToTheHistory) {
  TempDir dir;
  Store s(dir / "a.db");
  auto eid = s.create_experiment(sample_experiment());
  auto failed = sample_run(eid, 1, "failed");
  failed.exit_code = 3;
  failed.stderr_tail = "CUDA out of memory";
  s.record_run(failed);
  s.record_run(sample_run(eid, 1, "aborted"));  // a retry interrupted
  s.record_run(sample_run(eid, 1, "ok"));       // a retry that worked
  auto runs = s.runs(eid);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, gt::RunStatus::ok);
  auto history = s.attempts(eid);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].status, gt::RunStatus::failed);
  EXPECT_EQ(history[0].exit_code, 3);
  EXPECT_EQ(history[0].stderr_tail, "CUDA out of memory");
  EXPECT_EQ(history[0].run_index, 1);
  EXPECT_EQ(history[0].seed, 1001);
  EXPECT_DOUBLE_EQ(*history[0].energy_j, 100.5);
  EXPECT_FALSE(history[0].replaced_at.empty());
  EXPECT_EQ(history[1].status, gt::RunStatus::aborted);
  EXPECT_THROW(s.record_run(sample_run(eid, 1, "failed")), gt::Error);  // ok is final
}

TEST(Store, LayoutAndPlanUpdatesRoundTrip) {
  TempDir dir;
  Store s(dir / "a.db");
  auto e = sample_experiment();
  e.layout = {{"warmup_runs", 1}};
  auto eid = s.create_experiment(e);
  EXPECT_EQ(s.experiment("demo").layout, e.layout);
  s.update_plan(eid, "name = \"demo\" # grown\n", "sha256:def",
                {{"precision", {"fp32", "bf16", "fp16"}}, {"neurons", {"128"}}},
                {{"warmup_runs", 2}}, 9);
  auto now = s.experiment("demo");
  EXPECT_EQ(now.plan_text, "name = \"demo\" # grown\n");
  EXPECT_EQ(now.plan_hash, "sha256:def");
  EXPECT_EQ(now.layout["warmup_runs"], 2);
  EXPECT_EQ(now.planned_runs, 9);
  EXPECT_EQ(now.factors["precision"].size(), 3u);
}

TEST(Store, AVersionOneDatabaseIsReadAndMigrated) {
  TempDir dir;
  {
    Store s(dir / "old.db");
    s.record_run(sample_run(s.create_experiment(sample_experiment()), 1));
    // Back to schema 1: no layout column, no attempts table, no phases, no attribution, no
    // provenance, no GPU settings.
    s.db().exec("DROP TABLE run_gpu_settings");
    s.db().exec("DROP TABLE run_provenance");
    s.db().exec("DROP TABLE run_attempts");
    s.db().exec("ALTER TABLE experiments DROP COLUMN layout");
    s.db().exec("DROP TABLE run_phases");
    s.db().exec("ALTER TABLE run_energy DROP COLUMN attribution");
    s.db().exec("ALTER TABLE run_energy DROP COLUMN machine_energy_j");
    s.db().exec("PRAGMA user_version = 1");
  }
  {
    Store r(dir / "old.db", Store::Mode::read_only);
    EXPECT_TRUE(r.experiment("demo").layout.is_null());
    EXPECT_TRUE(r.attempts(r.experiment("demo").id).empty());
    const auto runs = r.runs(r.experiment("demo").id);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_TRUE(runs[0].phases.empty());
    for (const auto& e : runs[0].energy) EXPECT_EQ(e.attribution, gt::Scope::machine);
  }
  Store w(dir / "old.db");
  EXPECT_EQ(w.schema_version(), kSchemaVersion);
  EXPECT_EQ(w.runs(w.experiment("demo").id).size(), 1u);
  EXPECT_TRUE(w.experiment("demo").layout.is_null());
}

TEST(Store, PhasesAndAttributionRoundTrip) {
  TempDir dir;
  Store s(dir / "p.db");
  const auto id = s.create_experiment(sample_experiment());
  RunRecord r = sample_run(id, 1);
  r.energy.front().attribution = gt::Scope::process;
  r.energy.front().machine_energy_j = 500.0;
  PhaseRecord train;
  train.name = "train";
  train.t_begin_s = 1.25;
  train.duration_s = 0.75;
  train.energy_j = 120.5;
  train.gpu_energy_j = 110.0;
  train.uncertainty_j = 0.8;
  train.components = nlohmann::json::array({{{"component", "gpu"}, {"energy_j", 110.0}}});
  PhaseRecord epoch2 = train;
  epoch2.name = "epoch";
  epoch2.occurrence = 2;
  epoch2.net_energy_j = 12.0;
  // The same name and occurrence nested in train is another phase.
  PhaseRecord nested = epoch2;
  nested.parent = "train";
  nested.metrics = {{"val_accuracy", 0.875}};
  nested.flagged = true;
  r.phases = {train, epoch2, nested};
  s.record_run(r);
  const auto runs = s.runs(id);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].energy.front().attribution, gt::Scope::process);
  EXPECT_EQ(runs[0].energy.front().machine_energy_j, 500.0);
  ASSERT_EQ(runs[0].phases.size(), 3u);
  const auto& p = runs[0].phases[0];
  EXPECT_EQ(p.name, "train");
  EXPECT_EQ(p.occurrence, 1);
  EXPECT_DOUBLE_EQ(p.t_begin_s, 1.25);
  EXPECT_DOUBLE_EQ(p.energy_j, 120.5);
  EXPECT_EQ(p.gpu_energy_j, 110.0);
  EXPECT_FALSE(p.net_energy_j);
  EXPECT_FALSE(p.cpu_energy_j);
  EXPECT_EQ(p.components[0]["component"], "gpu");
  EXPECT_EQ(runs[0].phases[1].occurrence, 2);
  EXPECT_EQ(runs[0].phases[1].net_energy_j, 12.0);
  EXPECT_EQ(runs[0].phases[1].parent, "");
  EXPECT_FALSE(runs[0].phases[1].flagged);
  EXPECT_TRUE(runs[0].phases[1].metrics.empty());
  EXPECT_EQ(runs[0].phases[2].parent, "train");
  EXPECT_TRUE(runs[0].phases[2].flagged);
  EXPECT_EQ(runs[0].phases[2].metrics.at("val_accuracy"), 0.875);
}

TEST(Store, RunMetricFindsColumnsComponentsAndMetrics) {
  auto r = sample_run(1, 2);
  EXPECT_DOUBLE_EQ(*run_metric(r, "energy_j"), 201);
  EXPECT_DOUBLE_EQ(*run_metric(r, "duration_s"), 12);
  EXPECT_DOUBLE_EQ(*run_metric(r, "gpu_energy_j"), 120);
  EXPECT_DOUBLE_EQ(*run_metric(r, "test_accuracy"), 0.8);
  EXPECT_FALSE(run_metric(r, "train_energy_j"));
  EXPECT_FALSE(run_metric(r, "ram_energy_j"));
}

TEST(Store, RefusesNonGreentrainDatabaseAndUnknownExperiment) {
  TempDir dir;
  {
    sql::Db db(dir / "other.db", false);
    db.exec("CREATE TABLE t(x)");
  }
  EXPECT_THROW(Store(dir / "other.db"), gt::Error);
  Store s(dir / "a.db");
  EXPECT_THROW(s.experiment(""), gt::Error);
  s.create_experiment(sample_experiment());
  try {
    s.experiment("nope");
    FAIL();
  } catch (const gt::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("demo"), std::string::npos);
  }
}

TEST(Store, RunsCsvFollowsContractAndParsesBackWithPython) {
  TempDir dir;
  Store s(dir / "a.db");
  auto eid = s.create_experiment(sample_experiment());
  s.record_run(sample_run(eid, 1));
  auto failed = sample_run(eid, 2, "failed");
  failed.metrics.clear();
  failed.energy_j.reset();
  s.record_run(failed);
  auto csv = runs_csv(s, "demo");
  auto header = csv.substr(0, csv.find('\n'));
  EXPECT_EQ(header,
            "run_id,block,repeat,status,warmup,precision,neurons,duration_s,energy_j,"
            "gpu_energy_j,cpu_energy_j,ram_energy_j,wall_energy_j,net_energy_j,avg_power_w,"
            "peak_power_w,co2e_g,test_accuracy,final_loss,samples_per_s,started_at,finished_at,"
            "host,country,region,cpu_model,cpu_count,gpu_model,gpu_count,ram_total_gb,"
            "attribution,pue,gpu_power_limit_w,gpu_default_power_limit_w,gpu_min_power_limit_w,"
            "gpu_max_power_limit_w,gpu_app_sm_clock_mhz,gpu_app_memory_clock_mhz,"
            "gpu_max_sm_clock_mhz,gpu_max_memory_clock_mhz,gpu_persistence_mode,"
            "gpu_throttle_reasons");
  testing::write_file(dir / "runs.csv", csv);
  // An independent reader: Python's csv module.
  std::string script = dir / "check.py";
  testing::write_file(script, R"py(
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 2, rows
a, b = rows
assert a["neurons"] == "512,256", a
assert float(a["energy_j"]) == 100.5 and float(a["gpu_energy_j"]) == 60.0
assert float(a["cpu_energy_j"]) == 40.5 and a["ram_energy_j"] == "" and a["wall_energy_j"] == ""
assert float(a["test_accuracy"]) == 0.8 and a["warmup"] == "0" and a["status"] == "ok"
assert b["status"] == "failed" and b["test_accuracy"] == "" and b["energy_j"] == ""
# What the run ran on: its times, the experiment's host (no session), one GPU, no settings.
assert a["started_at"] == "2026-01-01T00:00:00Z" and a["finished_at"] == "2026-01-01T00:00:10Z"
assert a["host"] == "test" and a["gpu_count"] == "1" and a["attribution"] == "machine", a
assert a["gpu_power_limit_w"] == "" and a["gpu_throttle_reasons"] == "", a
print("OK")
)py");
  testing::ProcessOptions merged;
  merged.merge_stderr = true;
  const auto r = testing::run_process({"/usr/bin/python3", script, dir / "runs.csv"}, merged);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "OK\n");
}

TEST(Store, MergeJoinsShardsOfTheSamePlan) {
  TempDir dir;
  for (int shard = 0; shard < 2; ++shard) {
    Store s(dir / ("in" + std::to_string(shard) + ".db"));
    auto eid = s.create_experiment(sample_experiment());
    auto sid = s.add_session({0, eid, "", "host" + std::to_string(shard), "", {}});
    for (int i = 1 + shard; i <= 4; i += 2) {
      auto r = sample_run(eid, i);
      r.session_id = sid;
      s.record_run(r, {{0.5, gt::Component::gpu, "0", 10.0 * i}});
    }
    s.record_idle(
        {{0, eid, sid, 0, "", 1.0, gt::Component::gpu, "0", gt::Source::measured, 5.0 + shard}});
  }
  auto [copied, skipped] = merge_stores(dir / "out.db", {dir / "in0.db", dir / "in1.db"});
  EXPECT_EQ(copied, 4);
  EXPECT_EQ(skipped, 0);
  // Merging again adds nothing.
  auto again = merge_stores(dir / "out.db", {dir / "in0.db", dir / "in1.db"});
  EXPECT_EQ(again.first, 0);
  EXPECT_EQ(again.second, 4);
  Store out(dir / "out.db", Store::Mode::read_only);
  auto e = out.experiment("demo");
  auto runs = out.runs(e.id);
  ASSERT_EQ(runs.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(runs[i].run_index, i + 1);
    EXPECT_EQ(out.samples(runs[i].id).size(), 1u);
  }
  EXPECT_EQ(out.sessions(e.id).size(), 2u);
  EXPECT_EQ(out.idle_baselines(e.id).size(), 2u);
}

TEST(Store, MergeRefusesADifferentPlanAndWritesNothing) {
  TempDir dir;
  {
    Store a(dir / "a.db");
    a.record_run(sample_run(a.create_experiment(sample_experiment("sha256:aaa")), 1));
    Store b(dir / "b.db");
    b.record_run(sample_run(b.create_experiment(sample_experiment("sha256:bbb")), 2));
  }
  try {
    merge_stores(dir / "out.db", {dir / "a.db", dir / "b.db"});
    FAIL() << "expected an error";
  } catch (const gt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("different plan"), std::string::npos) << e.what();
  }
  Store out(dir / "out.db", Store::Mode::read_only);
  EXPECT_TRUE(out.experiments().empty());
}

TEST(Store, ProvenanceRoundTripsThroughMergeAndVersionThreeFilesMigrate) {
  TempDir dir;
  {
    Store s(dir / "a.db");
    auto eid = s.create_experiment(sample_experiment());
    auto r = sample_run(eid, 1);
    r.provenance = {"host-a",
                    "node-7",
                    "GPU-11111111-2222-3333-4444-555555555555",
                    "00000000:17:00.0",
                    "Fake H200",
                    "cuda-driver",
                    "1",
                    "42",
                    "40",
                    "2",
                    1};
    s.record_run(r);
    s.record_run(sample_run(eid, 2));  // no provenance: empty strings, no lane
  }
  merge_stores(dir / "out.db", {dir / "a.db"});
  Store out(dir / "out.db", Store::Mode::read_only);
  auto runs = out.runs(out.experiment("demo").id);
  ASSERT_EQ(runs.size(), 2u);
  const auto& p = runs[0].provenance;
  EXPECT_EQ(p.node, "node-7");
  EXPECT_EQ(p.gpu_uuid, "GPU-11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(p.gpu_pci_bus_id, "00000000:17:00.0");
  EXPECT_EQ(p.gpu_mapping, "cuda-driver");
  EXPECT_EQ(p.slurm_array_job_id, "40");
  EXPECT_EQ(p.slurm_array_task_id, "2");
  EXPECT_EQ(p.lane, 1);
  EXPECT_EQ(runs[1].provenance.host, "");
  EXPECT_FALSE(runs[1].provenance.lane.has_value());

  // A version-3 file (no run_provenance table) is migrated when opened for writing, and read
  // (without provenance) when opened read-only.
  {
    Store s(dir / "v3.db");
    s.create_experiment(sample_experiment());
    s.db().exec("DROP TABLE run_gpu_settings");
    s.db().exec("DROP TABLE run_provenance");
    s.db().exec("PRAGMA user_version = 3");
  }
  {
    Store ro(dir / "v3.db", Store::Mode::read_only);
    EXPECT_EQ(ro.schema_version(), 3);
    EXPECT_TRUE(ro.runs(ro.experiment("demo").id).empty());
  }
  Store rw(dir / "v3.db");
  EXPECT_EQ(rw.schema_version(), kSchemaVersion);
  auto r = sample_run(rw.experiment("demo").id, 1);
  r.provenance.host = "migrated";
  rw.record_run(r);
  EXPECT_EQ(rw.runs(r.experiment_id).at(0).provenance.host, "migrated");
}

// A version-4 file's phases (no parent, metrics or flag; keyed by name and occurrence) survive
// the rebuild of run_phases, as top-level phases, and a nested phase can then be added.
TEST(Store, VersionFourPhasesMigrateToNestedPhases) {
  TempDir dir;
  std::int64_t id = 0;
  {
    Store s(dir / "v4.db");
    id = s.create_experiment(sample_experiment());
    RunRecord r = sample_run(id, 1);
    PhaseRecord train;
    train.name = "train";
    train.duration_s = 2;
    train.energy_j = 50;
    train.uncertainty_j = 0.5;
    r.phases = {train};
    s.record_run(r);
    s.db().exec(
        "CREATE TABLE old AS SELECT run_id, name, occurrence, t_begin_s, duration_s, energy_j, "
        "net_energy_j, gpu_energy_j, cpu_energy_j, ram_energy_j, wall_energy_j, uncertainty_j, "
        "components FROM run_phases; DROP TABLE run_phases; ALTER TABLE old RENAME TO run_phases;"
        "DROP TABLE run_gpu_settings; PRAGMA user_version = 4");
  }
  {
    Store ro(dir / "v4.db", Store::Mode::read_only);
    EXPECT_EQ(ro.schema_version(), 4);
    EXPECT_EQ(ro.runs(id).at(0).phases.at(0).parent, "");
  }
  Store rw(dir / "v4.db");
  EXPECT_EQ(rw.schema_version(), kSchemaVersion);
  auto runs = rw.runs(id);
  ASSERT_EQ(runs.at(0).phases.size(), 1u);
  EXPECT_EQ(runs[0].phases[0].name, "train");
  EXPECT_DOUBLE_EQ(runs[0].phases[0].energy_j, 50);
  RunRecord r2 = sample_run(id, 2);
  PhaseRecord a, b;
  a.name = b.name = "epoch";
  b.parent = "train";
  r2.phases = {a, b};
  rw.record_run(r2);
  EXPECT_EQ(rw.runs(id).at(1).phases.size(), 2u);
}

energy::GpuSettings sample_gpu(const std::string& device, double limit_w) {
  energy::GpuSettings g;
  g.device = device;
  g.uuid = "GPU-" + device;
  g.name = "Fake H100";
  g.power_limit_w = limit_w;
  g.default_power_limit_w = 700;
  g.min_power_limit_w = 200;
  g.max_power_limit_w = 700;
  g.app_sm_clock_mhz = 1755;
  g.app_memory_clock_mhz = 2619;
  g.max_sm_clock_mhz = 1980;
  g.max_memory_clock_mhz = 2619;
  g.persistence_mode = true;
  g.throttle_reasons = 0x1 | 0x4;
  return g;
}

// The settings of each run's GPUs survive the store and a merge; a version-5 file (no
// run_gpu_settings) is read without them and migrated when opened for writing.
TEST(Store, GpuSettingsRoundTripThroughMergeAndVersionFiveFilesMigrate) {
  TempDir dir;
  {
    Store s(dir / "a.db");
    auto eid = s.create_experiment(sample_experiment());
    auto r = sample_run(eid, 1);
    energy::GpuSettings unknown;  // a board that reported nothing
    unknown.device = "1";
    r.provenance.gpu_settings = {sample_gpu("0", 450), unknown};
    s.record_run(r);
    r = sample_run(eid, 2);
    r.provenance.gpu_settings = {sample_gpu("0", 700), sample_gpu("1", 700)};
    s.record_run(r);
    s.record_run(sample_run(eid, 3));
  }
  merge_stores(dir / "out.db", {dir / "a.db"});
  Store out(dir / "out.db", Store::Mode::read_only);
  auto runs = out.runs(out.experiment("demo").id);
  ASSERT_EQ(runs.size(), 3u);
  ASSERT_EQ(runs[0].provenance.gpu_settings.size(), 2u);
  const auto& g = runs[0].provenance.gpu_settings[0];
  EXPECT_EQ(g.fields(), sample_gpu("0", 450).fields());
  EXPECT_EQ(g.uuid, "GPU-0");
  EXPECT_EQ(g.name, "Fake H100");
  EXPECT_EQ(g.throttle_reasons, 5u);
  const auto& u = runs[0].provenance.gpu_settings[1];
  EXPECT_EQ(u.device, "1");
  EXPECT_FALSE(u.power_limit_w || u.persistence_mode || u.throttle_reasons);
  EXPECT_EQ(runs[1].provenance.gpu_settings.size(), 2u);
  EXPECT_TRUE(runs[2].provenance.gpu_settings.empty());
  // The runs table: a value where the run's GPUs agree (run 2), none where they differ (run 1)
  // or where nothing was recorded (run 3).
  const auto csv = runs_csv(out, "demo");
  std::vector<std::string> lines;
  for (size_t p = 0, nl; (nl = csv.find('\n', p)) != std::string::npos; p = nl + 1)
    lines.push_back(csv.substr(p, nl - p));
  ASSERT_EQ(lines.size(), 4u);
  const std::string none = ",,,,,,,,,";  // the ten setting columns, empty
  EXPECT_EQ(lines[1].substr(lines[1].size() - none.size()), none) << lines[1];
  EXPECT_NE(
      lines[2].find(",2,,machine,,700,700,200,700,1755,2619,1980,2619,on,gpu_idle sw_power_cap"),
      std::string::npos)
      << lines[2];
  EXPECT_EQ(lines[3].substr(lines[3].size() - none.size()), none) << lines[3];

  {
    Store s(dir / "v5.db");
    auto eid = s.create_experiment(sample_experiment());
    s.record_run(sample_run(eid, 1));
    s.db().exec("DROP TABLE run_gpu_settings; PRAGMA user_version = 5");
  }
  {
    Store ro(dir / "v5.db", Store::Mode::read_only);
    EXPECT_EQ(ro.schema_version(), 5);
    EXPECT_TRUE(ro.runs(ro.experiment("demo").id).at(0).provenance.gpu_settings.empty());
  }
  Store rw(dir / "v5.db");
  EXPECT_EQ(rw.schema_version(), kSchemaVersion);
  auto r = sample_run(rw.experiment("demo").id, 2);
  r.provenance.gpu_settings = {sample_gpu("0", 700)};
  rw.record_run(r);
  EXPECT_EQ(rw.runs(r.experiment_id).at(1).provenance.gpu_settings.at(0).power_limit_w, 700.0);
}

// CodeCarbon's emissions.csv, read back by pandas with CodeCarbon 3.3.0's column names (the
// EmissionsData fields, in order), its units checked against greentrain's own figures.
TEST(Store, CodeCarbonExportReadsBackWithPandas) {
  TempDir dir;
  Store s(dir / "a.db");
  auto e = sample_experiment();
  e.plan_text =
      "name = \"demo\"\n[workload]\nkind = \"command\"\ncommand = \"true {precision} {neurons}\"\n"
      "[factors]\nprecision = [\"fp32\", \"bf16\"]\nneurons = [\"128\", \"512,256\"]\n"
      "[carbon]\ncountry = \"FRA\"\npue = 1.2\n";
  auto eid = s.create_experiment(e);
  auto sid = s.add_session({0,
                            eid,
                            "",
                            "node-1",
                            "",
                            {{"host", "node-1"},
                             {"os", "Linux 6.1.0 x86_64"},
                             {"cpu_model", "Fake Xeon"},
                             {"cpu_cores", 64},
                             {"ram_bytes", 512.0 * 1024 * 1024 * 1024}}});
  for (int i = 1; i <= 2; ++i) {
    auto r = sample_run(eid, i);
    r.session_id = sid;
    r.pue = 1.2;
    r.intensity_g_per_kwh = 56;
    r.co2e_g = *r.energy_j / 3.6e6 * 1.2 * 56;
    r.provenance.gpu_settings = {sample_gpu("0", 700)};
    PhaseRecord train;
    train.name = "train";
    train.t_begin_s = 1;
    train.duration_s = 5;
    train.energy_j = 80;
    train.gpu_energy_j = 60;
    train.cpu_energy_j = 20;
    PhaseRecord epoch = train;
    epoch.name = "epoch";
    epoch.parent = "train";
    epoch.energy_j = 40;
    r.phases = {train, epoch};
    s.record_run(r);
  }
  for (const bool phases : {false, true}) {
    std::ostringstream out;
    write_codecarbon_csv(s, "demo", phases, out);
    testing::write_file(dir / (phases ? "tasks.csv" : "emissions.csv"), out.str());
  }
  const std::string script = dir / "check.py";
  testing::write_file(script, R"py(
import sys, pandas as pd
# CodeCarbon 3.3.0, codecarbon/output_methods/emissions_data.py: EmissionsData, TaskEmissionsData.
run_columns = """timestamp project_name run_id experiment_id duration emissions emissions_rate
cpu_power gpu_power ram_power cpu_energy gpu_energy ram_energy energy_consumed water_consumed
country_name country_iso_code region cloud_provider cloud_region os python_version
codecarbon_version cpu_count cpu_model gpu_count gpu_model longitude latitude ram_total_size
tracking_mode cpu_utilization_percent gpu_utilization_percent ram_utilization_percent ram_used_gb
on_cloud pue wue""".split()
task_columns = ["task_name"] + [c for c in run_columns if c not in ("experiment_id", "pue", "wue")]
df = pd.read_csv(sys.argv[1])
assert list(df.columns) == run_columns, list(df.columns)
assert len(df) == 2
a = df.iloc[0]
j = 100.5  # run 1's energy_j; gpu 60 J, cpu 40.5 J, over 11 s, PUE 1.2, 56 g/kWh
assert abs(a.energy_consumed - j / 3.6e6 * 1.2) < 1e-15, a.energy_consumed
assert abs(a.gpu_energy - 60 / 3.6e6 * 1.2) < 1e-15 and abs(a.cpu_energy - 40.5 / 3.6e6 * 1.2) < 1e-15
assert pd.isna(a.ram_energy) and pd.isna(a.ram_power) and pd.isna(a.water_consumed)
assert abs(a.emissions - j / 3.6e6 * 1.2 * 56 / 1000) < 1e-15
assert abs(a.emissions_rate - a.emissions / 11) < 1e-18
assert abs(a.emissions - a.energy_consumed * 56 / 1000) < 1e-15  # CodeCarbon's own relation
assert abs(a.gpu_power - 60 / 11) < 1e-12 and a.duration == 11
assert a.project_name == "demo" and a.run_id == 1 and a.experiment_id == "precision=fp32 neurons=512,256"
assert a.country_name == "France" and a.country_iso_code == "FRA" and a.on_cloud == "N"
assert a.os == "Linux 6.1.0 x86_64" and a.cpu_model == "Fake Xeon" and a.cpu_count == 64
assert a.gpu_count == 1 and a.gpu_model == "1 x Fake H100" and a.ram_total_size == 512
assert a.tracking_mode == "machine" and a.pue == 1.2 and a.timestamp == "2026-01-01T00:00:10Z"
t = pd.read_csv(sys.argv[2])
assert list(t.columns) == task_columns, list(t.columns)
assert list(t.task_name) == ["train", "train/epoch"] * 2
assert list(t.timestamp[:2]) == ["2026-01-01T00:00:06Z"] * 2
assert abs(t.energy_consumed[1] - 40 / 3.6e6 * 1.2) < 1e-15
assert abs(t.emissions[0] - 80 / 3.6e6 * 1.2 * 56 / 1000) < 1e-15 and t.duration[0] == 5
print("OK")
)py");
  testing::ProcessOptions merged;
  merged.merge_stderr = true;
  const auto r = testing::run_process(
      {"/usr/bin/python3", script, dir / "emissions.csv", dir / "tasks.csv"}, merged);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "OK\n");
}

}  // namespace
}  // namespace gt::experiment
