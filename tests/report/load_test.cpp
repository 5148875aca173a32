// Tests of the report's loader over a real results database written through the store's API:
// runs, metrics, energy and idle baselines come back; only each configuration's median run
// carries its power samples; the grids; the analysis, with the page's numbers equal to
// `greentrain analyze --format json` for the same database; clear errors for a missing database
// entry or an unknown country.
#include "report/load.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/error.h"
#include "common/locations.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "report/charts.h"
#include "report/format.h"
#include "report/model.h"
#include "report/writers.h"
#include "store_fixture.h"
#include "synthetic.h"

namespace gt::report {
namespace {

// A results database in its own temporary folder.
struct TempDb {
  gt::testing::TempDir dir{"gt-report-load"};
  std::string path() const { return dir / "results.db"; }
};

// The synthetic experiment's plan as a command workload over its two factors.
const std::string kCommandPlan = R"(name = "synthetic"
[workload]
kind = "command"
command = "python3 train.py --precision {precision} --batch-size {batch_size}"
[factors]
precision = ["fp32", "fp16", "bf16"]
batch_size = [32, 128]
)";

// `source` written to `db` through the store and loaded back, as `greentrain report` loads it.
ReportData write_and_load(const ReportData& source, const TempDb& db) {
  testing::write_store(source, db.path());
  LoadOptions o;
  o.db_path = db.path();
  return load_report(o);
}

// `greentrain analyze --db DB --format json` on the same database.
nlohmann::json analyze_json(const TempDb& db) {
  const auto r = gt::testing::run_process(
      {gt::testing::greentrain_binary(), "analyze", "--db", db.path(), "--format", "json"});
  EXPECT_EQ(r.code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(ReportLoad, RoundTripsRunsEnergyAndIdle) {
  TempDb db;
  auto source = testing::full_experiment();
  testing::write_store(source, db.path());
  LoadOptions o;
  o.db_path = db.path();
  auto d = load_report(o);
  EXPECT_EQ(d.experiment, "synthetic");
  EXPECT_EQ(d.factors, source.factors);
  EXPECT_EQ(d.benchmark, source.benchmark);
  ASSERT_EQ(d.runs.size(), source.runs.size());
  for (size_t i = 0; i < d.runs.size(); ++i) {
    EXPECT_EQ(d.runs[i].config, source.runs[i].config);
    EXPECT_EQ(d.runs[i].warmup, source.runs[i].warmup);
    EXPECT_EQ(d.runs[i].status, source.runs[i].status);
    EXPECT_DOUBLE_EQ(d.runs[i].metrics.at("energy_j"), source.runs[i].metrics.at("energy_j"));
    EXPECT_EQ(d.runs[i].components.size(), source.runs[i].components.size());
  }
  ASSERT_EQ(d.idle.size(), source.idle.size());
  EXPECT_NE(d.plan_text.find("[design]"), std::string::npos);
  EXPECT_EQ(d.design.value("design.repeats", 0), 5);
  EXPECT_EQ(d.design.value("meters.interval_ms", 0), 100);
  ASSERT_TRUE(d.train_samples_per_epoch);
  EXPECT_DOUBLE_EQ(*d.train_samples_per_epoch, 54000);
}

TEST(ReportLoad, OnlyMedianRunsCarrySamples) {
  TempDb db;
  auto source = testing::full_experiment();
  testing::write_store(source, db.path());
  LoadOptions o;
  o.db_path = db.path();
  auto d = load_report(o);
  for (const auto& c : configurations(d)) {
    int with = 0;
    for (const auto& r : d.runs)
      if (same_config(r.config, c, d.factors) && !r.samples.empty()) ++with;
    EXPECT_EQ(with, 1);
    const report::Run* m = median_run(d, c);
    ASSERT_NE(m, nullptr);
    std::vector<double> e = metric_values(d, "energy_j", c);
    std::sort(e.begin(), e.end());
    EXPECT_DOUBLE_EQ(m->metrics.at("energy_j"), e[(e.size() - 1) / 2]);
    EXPECT_EQ(m->samples.size(), 1800u);  // gpu + cpu, 900 each
  }
}

TEST(ReportLoad, GridsAndCarbonFactorsFromTheRuns) {
  TempDb db;
  testing::write_store(testing::full_experiment(), db.path());
  LoadOptions o;
  o.db_path = db.path();
  o.countries = {"fra", "World", "USA", "FRA"};
  auto d = load_report(o);
  EXPECT_DOUBLE_EQ(d.plan_grid.g_per_kwh, 381);  // what the runs were converted with
  EXPECT_DOUBLE_EQ(d.pue, 1.2);
  ASSERT_EQ(d.other_grids.size(), 3u);
  EXPECT_EQ(d.other_grids[0].code, "FRA");
  EXPECT_EQ(d.other_grids[1].code, "WLD");
  EXPECT_FALSE(d.carbon_attribution.empty());
  EXPECT_THROW(grids_for({"XYZ"}), gt::UsageError);
}

TEST(ReportLoad, ChartsShowAnalyzesNumbers) {
  TempDb db;
  testing::write_store(testing::full_experiment(), db.path());
  LoadOptions o;
  o.db_path = db.path();
  auto d = load_report(o);
  ASSERT_TRUE(d.analysis) << d.analysis_note;
  auto chart = metric_chart(d, "energy_j", "energy", "Energy", "J");
  ASSERT_TRUE(chart);
  int checked = 0;
  for (const auto& cell : d.analysis->metric("energy_j")->cells) {
    Config c = config_of(d, cell.config);
    for (const auto& row : chart->data)
      if (row["kind"] == "mean" &&
          row["config"].get<std::string>().rfind(config_label(d, c), 0) == 0) {
        EXPECT_DOUBLE_EQ(row["value"].get<double>(), cell.mean);
        EXPECT_DOUBLE_EQ(row["ci95_low"].get<double>(), cell.ci95_low);
        ++checked;
      }
  }
  EXPECT_EQ(checked, 6);
  auto h = headline(d);
  ASSERT_TRUE(h.available) << h.title;
  EXPECT_EQ(h.title, d.analysis->headline.title);
  EXPECT_EQ(h.best, (Config{{"precision", "fp16"}, {"batch_size", "128"}}));
}

// The page's numbers are `analyze --format json`'s numbers for the same database: the whole
// analysis is equal, and the figures printed on the page are those of the JSON.
TEST(ReportLoad, PageAgreesWithAnalyzeJson) {
  TempDb db;
  auto d = write_and_load(testing::with_failed_runs(), db);
  ASSERT_TRUE(d.analysis) << d.analysis_note;
  const auto j = analyze_json(db);
  EXPECT_EQ(d.analysis->to_json(), j);

  const std::string html = render_html(d), md = render_markdown(d);
  // Headline: the JSON's sentence, word for word.
  EXPECT_NE(html.find(html_escape(j["headline"]["title"].get<std::string>())), std::string::npos)
      << j["headline"]["title"];
  EXPECT_NE(md.find(markdown_cell(j["headline"]["title"].get<std::string>())), std::string::npos);
  for (const auto& detail : j["headline"]["details"])
    EXPECT_NE(html.find(html_escape(detail.get<std::string>())), std::string::npos) << detail;
  // Per configuration: mean and 95 % interval of every metric cell, in the Markdown table and
  // the HTML chart tables.
  int cells = 0;
  for (const char* metric : {"energy_j", "duration_s", "avg_power_w"})
    for (const auto& c : j["metrics"][metric]["cells"]) {
      const std::string text = format_number(c["mean"].get<double>()) + " [" +
                               format_number(c["ci95_low"].get<double>()) + ", " +
                               format_number(c["ci95_high"].get<double>()) + "]";
      EXPECT_NE(md.find(markdown_cell(text)), std::string::npos) << metric << " " << text;
      EXPECT_NE(html.find("<td class=\"n\">" + format_number(c["ci95_low"].get<double>()) +
                          "</td><td class=\"n\">" + format_number(c["ci95_high"].get<double>()) +
                          "</td>"),
                std::string::npos)
          << metric << " " << text;
      ++cells;
    }
  EXPECT_EQ(cells, 15);
  // Versus the benchmark: the ratio interval of each comparison.
  int comparisons = 0;
  for (const auto& v : j["metrics"]["energy_j"]["versus_baseline"]) {
    const std::string row =
        "<td class=\"n\">" + format_signed_pct(100 * (v["ratio"].get<double>() - 1)) +
        "</td><td class=\"n\">" + format_signed_pct(100 * (v["ratio_ci_low"].get<double>() - 1)) +
        "</td><td class=\"n\">" + format_signed_pct(100 * (v["ratio_ci_high"].get<double>() - 1)) +
        "</td><td class=\"n\">" + html_escape(format_p_value(v["ratio_p_holm"].get<double>())) +
        "</td>";
    EXPECT_NE(html.find(row), std::string::npos) << row;
    ++comparisons;
  }
  EXPECT_EQ(comparisons, 4);
  // Verdicts: every line of the JSON is on the page, one per list item.
  for (const auto& v : j["verdict_lines"])
    for (const auto& line : v["lines"])
      EXPECT_NE(html.find("<li>" + html_escape(line.get<std::string>()) + "</li>"),
                std::string::npos)
          << line;
}

// A script that opens only `epoch` windows: its runs have epoch_energy_j and no
// train_energy_j. analyze and the report choose one primary metric and one headline (never
// "the runs have no energy_j values"), with or without the plan naming it.
TEST(ReportLoad, PrimaryMetricAndHeadlineAreAnalyzesForEpochWindows) {
  for (const std::string primary : {"", "epoch_energy_j"}) {
    auto source = testing::full_experiment();
    source.plan_text = kCommandPlan;
    if (!primary.empty()) source.plan_text += "[analysis]\nprimary_metric = \"" + primary + "\"\n";
    for (auto& r : source.runs)
      if (r.metrics.count("energy_j")) r.metrics["epoch_energy_j"] = 0.8 * r.metrics["energy_j"];
    TempDb db;
    const auto d = write_and_load(source, db);
    ASSERT_TRUE(d.analysis) << d.analysis_note;
    const auto j = analyze_json(db);
    EXPECT_EQ(j["primary_metric"], primary.empty() ? "energy_j" : primary);
    EXPECT_EQ(d.analysis->primary_metric, j["primary_metric"]);
    EXPECT_EQ(j["headline"], d.analysis->to_json()["headline"]);
    EXPECT_NE(j["headline"]["kind"], "unavailable") << j["headline"]["title"];
    EXPECT_TRUE(j["metrics"].contains("epoch_energy_j"));
    const auto h = headline(d);
    EXPECT_EQ(h.metric, j["primary_metric"]);
    EXPECT_EQ(h.title, j["headline"]["title"]);
    EXPECT_NE(render_html(d).find(html_escape(j["headline"]["title"].get<std::string>())),
              std::string::npos);
  }
}

// The plan's [labels] name levels wherever the report names a configuration, and the design
// table lists them; configurations without a label keep their level.
TEST(ReportLoad, PlanLabelsNameTheirLevelsInThePage) {
  auto source = testing::full_experiment();
  const std::string label = "TF32 (Keras' default FP32 on Ampere and newer)";
  source.plan_text = kCommandPlan + "[labels.precision]\nfp32 = \"" + label + "\"\n";
  TempDb db;
  const auto d = write_and_load(source, db);
  ASSERT_EQ(d.level_labels.at("precision").at("fp32"), label);
  EXPECT_EQ(config_label(d, {{"precision", "fp32"}, {"batch_size", "32"}}),
            label + " \u00b7 batch 32");
  EXPECT_EQ(config_label(d, {{"precision", "bf16"}, {"batch_size", "32"}}), "bf16 \u00b7 batch 32");
  const std::string md = render_markdown(d);
  EXPECT_NE(md.find(label), std::string::npos);
  EXPECT_NE(render_html(d).find(html_escape(label)), std::string::npos);
}

// Energy to a target accuracy on a workload with known per-epoch accuracy: the loader derives
// each run's energy_to_target_j, epochs_to_target and target_reached from its epoch phases (as
// the runs table export writes does), equal to what the accuracies give; runs that never reach
// it are counted, not dropped; the analysis and `analyze --db` treat it like any metric.
TEST(ReportLoad, EnergyToTargetComesFromTheEpochPhases) {
  const auto source = testing::epochs_experiment();
  TempDb db;
  const auto d = write_and_load(source, db);
  ASSERT_TRUE(d.analysis) << d.analysis_note;
  EXPECT_EQ(d.target_accuracy, std::optional<double>(0.86));
  ASSERT_EQ(d.runs.size(), source.runs.size());
  int reached = 0, missed = 0;
  for (size_t i = 0; i < d.runs.size(); ++i) {
    const auto& loaded = d.runs[i];
    const auto& known = source.runs[i];
    if (known.warmup) continue;
    EXPECT_EQ(loaded.epochs.size(), 8u);
    EXPECT_EQ(loaded.metrics.at("epochs"), 8);  // counted from the phases
    EXPECT_EQ(loaded.metrics.at("target_reached"), known.metrics.at("target_reached"));
    if (known.metrics.at("target_reached") == 1) {
      ++reached;
      EXPECT_NEAR(loaded.metrics.at("energy_to_target_j"), known.metrics.at("energy_to_target_j"),
                  1e-9 * known.metrics.at("energy_to_target_j"));
      EXPECT_EQ(loaded.metrics.at("epochs_to_target"), known.metrics.at("epochs_to_target"));
    } else {
      ++missed;
      EXPECT_FALSE(loaded.metrics.count("energy_to_target_j"));
    }
  }
  EXPECT_EQ(reached, 14);
  EXPECT_EQ(missed, 2);
  const stats::MetricAnalysis* m = d.analysis->metric("energy_to_target_j");
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->positive);
  ASSERT_EQ(d.analysis->target_missed.size(), 1u);
  EXPECT_EQ(d.analysis->target_missed[0].missed, 2u);
  EXPECT_EQ(d.analysis->target_missed[0].of, 4u);
  const auto j = analyze_json(db);
  EXPECT_EQ(d.analysis->to_json(), j);
  EXPECT_EQ(j["target_not_reached"][0]["label"], "bf16 \u00b7 batch 512");
  // The page: the per-epoch and accuracy-against-energy charts, the energy-to-target strip.
  const std::string html = render_html(d);
  for (const char* id : {"chart-epochs", "chart-to_target", "chart-target_energy"})
    EXPECT_NE(html.find(id), std::string::npos) << id;
  const auto target = target_chart(d);
  ASSERT_TRUE(target);
  bool bf16_512 = false;
  for (const auto& row : target->table.rows)
    if (row[0] == "bf16 \u00b7 batch 512") {
      bf16_512 = true;
      EXPECT_EQ(row[2], "2 of 4");
    }
  EXPECT_TRUE(bf16_512);
  // gCO2e per epoch from the epochs greentrain counted, not "—".
  const auto carbon = carbon_chart(d);
  ASSERT_TRUE(carbon);
  EXPECT_NE(carbon->table.rows[0][5], "—");
}

TEST(ReportLoad, DegenerateDatabasesLoad) {
  for (auto source :
       {testing::with_failed_runs(), testing::single_configuration(), testing::without_gpu()}) {
    TempDb db;
    testing::write_store(source, db.path());
    LoadOptions o;
    o.db_path = db.path();
    auto d = load_report(o);
    EXPECT_EQ(d.runs.size(), source.runs.size());
    auto html = render_html(d);
    EXPECT_NE(html.find("id=\"chart-energy\""), std::string::npos);
    EXPECT_FALSE(render_markdown(d).empty());
  }
}

TEST(ReportLoad, UnknownExperimentIsAClearError) {
  TempDb db;
  testing::write_store(testing::full_experiment(), db.path());
  LoadOptions o;
  o.db_path = db.path();
  o.experiment = "nope";
  try {
    load_report(o);
    FAIL() << "expected gt::Error";
  } catch (const gt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gt::report
