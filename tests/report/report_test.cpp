// Unit tests of the report: ordering and labels, the data behind each chart (numbers equal the
// analysis JSON's), the headline and its interval (against SciPy), the Pareto front, carbon on
// other grids, the Markdown summary, the HTML page's structure and safety (no external
// reference, scripts cannot be closed early by data), and the degenerate experiments.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "report/charts.h"
#include "report/format.h"
#include "report/gpu_settings_table.h"
#include "report/model.h"
#include "report/sections.h"
#include "report/writers.h"
#include "synthetic.h"

namespace gt::report {
namespace {

using nlohmann::json;
using testing::busy_machine;
using testing::full_experiment;

// Runs a Python snippet with Debian's python3; returns its standard output and error.
std::string python(const std::string& code) {
  gt::testing::TempDir dir("gt-report-ref");
  gt::testing::write_file(dir / "snippet.py", code);
  gt::testing::ProcessOptions merged;
  merged.merge_stderr = true;
  return gt::testing::run_process({"/usr/bin/python3", dir / "snippet.py"}, merged).out;
}

std::string py_list(const std::vector<double>& v) {
  std::ostringstream s;
  s.precision(17);
  s << "[";
  for (size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
  return s.str() + "]";
}

const json* mean_row(const Chart& c, const std::string& label) {
  for (const auto& r : c.data)
    if (r["kind"] == "mean" && r["config"] == label) return &r;
  return nullptr;
}

TEST(ReportModel, ConfigurationsOrderedByPrecisionBenchmarkFirst) {
  auto d = full_experiment();
  auto configs = configurations(d);
  ASSERT_EQ(configs.size(), 6u);
  EXPECT_EQ(config_label(configs[0], d.factors), "fp32 \u00b7 batch 32");
  EXPECT_EQ(config_label(configs[1], d.factors),
            "fp32 \u00b7 batch 128");  // 128 after 32 numerically
  EXPECT_EQ(configs[2].at("precision"), "fp16");
  EXPECT_EQ(configs[5].at("precision"), "bf16");
  EXPECT_EQ(
      config_label({{"precision", "fp16"}, {"neurons", "512,256"}, {"epochs", "1"}, {"lr", "0.1"}},
                   {"precision", "neurons", "epochs", "lr"}),
      "fp16 \u00b7 512,256 neurons \u00b7 1 epoch \u00b7 lr=0.1");
}

TEST(ReportCharts, EnergyChartTakesMeansAndIntervalsFromTheAnalysis) {
  auto d = full_experiment();
  ASSERT_TRUE(d.analysis) << d.analysis_note;
  // Make the analysis visibly different from what the runs alone would give.
  stats::MetricAnalysis* energy = nullptr;
  for (auto& m : d.analysis->metrics)
    if (m.metric == "energy_j") energy = &m;
  ASSERT_NE(energy, nullptr);
  for (auto& c : energy->cells) c.mean += 1.5;
  auto chart = metric_chart(d, "energy_j", "energy", "Energy", "J");
  ASSERT_TRUE(chart);
  for (const auto& cell : energy->cells) {
    Config c = config_of(d, cell.config);
    std::string label = config_label(c, d.factors) + (c == d.benchmark ? " (benchmark)" : "");
    const json* row = mean_row(*chart, label);
    ASSERT_NE(row, nullptr) << label;
    EXPECT_DOUBLE_EQ((*row)["value"].get<double>(), cell.mean);
    EXPECT_DOUBLE_EQ((*row)["ci95_low"].get<double>(), cell.ci95_low);
    EXPECT_DOUBLE_EQ((*row)["ci95_high"].get<double>(), cell.ci95_high);
    EXPECT_EQ((*row)["n"].get<size_t>(), cell.n);
    EXPECT_EQ((*row)["benchmark"].get<bool>(), c == d.benchmark);
  }
  // One point per analysed run: the warm-up run (99999 J) is left out.
  int runs = 0;
  for (const auto& r : chart->data)
    if (r["kind"] == "run") {
      ++runs;
      EXPECT_LT(r["value"].get<double>(), 99999.0);
    }
  EXPECT_EQ(runs, 30);
  EXPECT_EQ(chart->table.rows.size(), 6u);
  EXPECT_EQ(chart->spec["data"]["values"], chart->data);
  EXPECT_EQ(chart->spec["$schema"], "https://vega.github.io/schema/vega-lite/v6.json");
}

TEST(ReportCharts, LocalSummaryWhenAnalysisIsMissingMatchesScipy) {
  auto d = testing::single_configuration();
  auto values = metric_values(d, "energy_j", d.benchmark);
  ASSERT_EQ(values.size(), 3u);
  auto chart = metric_chart(d, "energy_j", "energy", "Energy", "J");
  ASSERT_TRUE(chart);
  const json* row = mean_row(*chart, config_label(d.benchmark, d.factors) + " (benchmark)");
  ASSERT_NE(row, nullptr);
  auto out = python("import numpy as np, scipy.stats as st\nv=np.array(" + py_list(values) +
                    ")\nlo,hi=st.t.interval(0.95, len(v)-1, loc=v.mean(), "
                    "scale=st.sem(v))\nprint(repr(v.mean()), repr(lo), repr(hi))\n");
  std::istringstream in(out);
  double m, lo, hi;
  ASSERT_TRUE(in >> m >> lo >> hi) << out;
  EXPECT_NEAR((*row)["value"].get<double>(), m, 1e-9 * m);
  EXPECT_NEAR((*row)["ci95_low"].get<double>(), lo, 1e-9 * m);
  EXPECT_NEAR((*row)["ci95_high"].get<double>(), hi, 1e-9 * m);
}

TEST(ReportCharts, ComponentsAreMeansOverRunsGrossAndNet) {
  auto d = full_experiment();
  auto chart = components_chart(d);
  ASSERT_TRUE(chart);
  Config c{{"precision", "fp16"}, {"batch_size", "32"}};
  double gross = 0, net = 0;
  int n = 0;
  for (const auto& r : d.runs)
    if (r.analysed() && r.config == c)
      for (const auto& e : r.components)
        if (e.component == gt::Component::gpu) gross += e.energy_j, net += *e.net_energy_j, ++n;
  bool found_gross = false, found_net = false;
  for (const auto& row : chart->data) {
    if (row["config"] != "fp16 \u00b7 batch 32" || row["component"] != "gpu") continue;
    EXPECT_EQ(row["source"], "measured");
    if (row["measure"] == "gross") {
      found_gross = true;
      EXPECT_NEAR(row["energy_j"].get<double>(), gross / n, 1e-9 * gross);
    }
    if (row["measure"] == "net of idle") {
      found_net = true;
      EXPECT_NEAR(row["energy_j"].get<double>(), net / n, 1e-9 * gross);
    }
  }
  EXPECT_TRUE(found_gross);
  EXPECT_TRUE(found_net);
  // CPU is an estimate and the wall meter sits in its own group.
  bool cpu_estimated = false, wall_grouped = false;
  for (const auto& row : chart->data) {
    if (row["component"] == "cpu") cpu_estimated = row["source"] == "estimated";
    if (row["component"] == "wall") wall_grouped = row["group"] == "wall meter";
  }
  EXPECT_TRUE(cpu_estimated);
  EXPECT_TRUE(wall_grouped);
}

TEST(ReportCharts, PowerChartShowsTheMedianRunThinned) {
  auto d = full_experiment();
  Config c{{"precision", "fp32"}, {"batch_size", "128"}};
  const report::Run* run = median_run(d, c);
  ASSERT_NE(run, nullptr);
  std::vector<double> energies;
  for (const auto& r : d.runs)
    if (r.analysed() && r.config == c) energies.push_back(r.metrics.at("energy_j"));
  std::sort(energies.begin(), energies.end());
  EXPECT_DOUBLE_EQ(run->metrics.at("energy_j"), energies[energies.size() / 2]);
  auto chart = power_chart(d);
  ASSERT_TRUE(chart);
  std::map<std::string, int> points;
  for (const auto& row : chart->data) {
    if (row["config"] == "fp32 \u00b7 batch 128") {
      EXPECT_EQ(row["run_id"], run->run_id);
    }
    ++points[row["config"].get<std::string>() + "/" + row["meter"].get<std::string>()];
  }
  EXPECT_EQ(points.size(), 12u);  // 6 configurations × (gpu, cpu)
  for (auto& [k, n] : points) {
    EXPECT_LE(n, 401) << k;
    EXPECT_GE(n, 300) << k;
  }
}

// A busy machine is visible: the idle baseline is shown as not valid and no net figure comes
// from it, the run beside a CPU hog is listed, and the power chart draws the run's share of the
// machine-wide meters (what the energy tables count), with legends a reader understands.
TEST(ReportBusyMachine, BusyBaselineAndContendedRunsAreMarked) {
  const auto d = busy_machine();
  ASSERT_TRUE(d.analysis) << d.analysis_note;
  EXPECT_FALSE(idle_baseline_valid(d));
  ASSERT_EQ(contended_runs(d).size(), 1u);
  EXPECT_EQ(contended_runs(d)[0]->run_id, "9");
  const auto tables = method_tables(d);
  const NamedTable* idle = nullptr;
  const NamedTable* busy = nullptr;
  for (const auto& t : tables) {
    if (t.title == "Idle baseline") idle = &t;
    if (t.title == "Runs on a busy machine") busy = &t;
  }
  ASSERT_NE(idle, nullptr);
  EXPECT_EQ(idle->note.rfind("Not valid: the machine was 55 % busy", 0), 0u) << idle->note;
  for (const auto& row : idle->table.rows) EXPECT_EQ(row.back(), "no: machine busy");
  ASSERT_NE(busy, nullptr);
  ASSERT_EQ(busy->table.rows.size(), 1u);
  EXPECT_EQ(busy->table.rows[0][0], "9");
  EXPECT_EQ(busy->table.rows[0][3], "45.0 %");
  auto components = components_chart(d);
  ASSERT_TRUE(components);
  for (const auto& row : components->data) EXPECT_NE(row["measure"], "net of idle");
  EXPECT_NE(components->description.find("The idle baseline is not valid"), std::string::npos);
  const std::string notes = d.analysis->to_json()["notes"].dump();
  EXPECT_NE(notes.find("contended: 1 run"), std::string::npos) << notes;
  const std::string html = render_html(d);
  EXPECT_NE(html.find("CPU busy outside the run"), std::string::npos);  // the listed run
  // The full experiment on a quiet machine keeps its net figures.
  EXPECT_TRUE(idle_baseline_valid(full_experiment()));
}

TEST(ReportBusyMachine, PowerChartUsesTheEnergyTablesAttribution) {
  const auto d = busy_machine();
  auto chart = power_chart(d);
  ASSERT_TRUE(chart);
  std::set<std::string> meters;
  for (const auto& row : chart->data) meters.insert(row["meter"].get<std::string>());
  EXPECT_EQ(meters, (std::set<std::string>{"CPU package-0 (run's share)", "GPU 0"}))
      << chart->data.dump();
  // The CPU curve's energy is the CPU energy the tables give the run: a third of the machine's.
  Config c{{"precision", "fp32"}, {"batch_size", "128"}};
  const report::Run* run = median_run(d, c);
  ASSERT_NE(run, nullptr);
  double sample_mean = 0, n = 0;
  for (const auto& s : run->samples)
    if (s.component == gt::Component::cpu) sample_mean += s.power_w, ++n;
  sample_mean /= n;
  for (const auto& row : chart->table.rows)
    if (row[0] == "fp32 \u00b7 batch 128" && row[2] == "CPU package-0 (run's share)") {
      EXPECT_NEAR(std::stod(row[5]), sample_mean / 3, 0.01 * sample_mean);
    }
  // On a quiet machine with the machine's own figures, the legends read plainly too.
  std::set<std::string> plain;
  const auto quiet = power_chart(full_experiment());
  ASSERT_TRUE(quiet);
  for (const auto& row : quiet->data) plain.insert(row["meter"].get<std::string>());
  EXPECT_EQ(plain, (std::set<std::string>{"CPU package-0", "GPU 0"}));
}

TEST(ReportModel, ParetoFront) {
  ReportData d;
  d.factors = {"precision"};
  d.benchmark = {{"precision", "a"}};
  auto add = [&](std::string p, double e, double acc) {
    report::Run r;
    r.run_id = p;
    r.config = {{"precision", p}};
    r.metrics = {{"energy_j", e}, {"test_accuracy", acc}};
    d.runs.push_back(r);
  };
  add("a", 10, 0.90);  // front: most accurate
  add("b", 8, 0.89);   // front
  add("c", 9, 0.88);   // dominated by b
  add("d", 5, 0.80);   // front: cheapest
  add("e", 8, 0.85);   // dominated by b (same energy, less accurate)
  auto front = pareto_front(d);
  std::set<std::string> names;
  for (const auto& c : front) names.insert(c.at("precision"));
  EXPECT_EQ(names, (std::set<std::string>{"a", "b", "d"}));
  auto chart = pareto_chart(d);
  ASSERT_TRUE(chart);
  int flagged = 0;
  for (const auto& r : chart->data)
    if (r["kind"] == "mean" && r["pareto"].get<bool>()) ++flagged;
  EXPECT_EQ(flagged, 3);
}

TEST(ReportModel, HeadlinePicksCheapestEquivalentConfigurationWithLogRatioInterval) {
  auto d = full_experiment();
  auto h = headline(d);
  ASSERT_TRUE(h.available) << h.title;
  EXPECT_EQ(h.kind, "winner") << h.title;
  // bf16 is cheaper but not equivalent in accuracy: fp16 · batch 128 wins.
  EXPECT_EQ(h.best, (Config{{"precision", "fp16"}, {"batch_size", "128"}}));
  auto best = metric_values(d, "energy_j", h.best);
  auto bench = metric_values(d, "energy_j", d.benchmark);
  auto out = python(
      "import numpy as np, scipy.stats as st\nb=np.log(" + py_list(best) + ")\na=np.log(" +
      py_list(bench) +
      ")\nr=st.ttest_ind(b, a, equal_var=False)\nvb=b.var(ddof=1)/len(b); va=a.var(ddof=1)/len(a)\n"
      "df=(va+vb)**2/(va**2/(len(a)-1)+vb**2/(len(b)-1)); d=b.mean()-a.mean(); q=st.t.ppf(0.975, "
      "df)*np.sqrt(va+vb)\n"
      "print(repr(np.exp(d)), repr(np.exp(d-q)), repr(np.exp(d+q)), "
      "repr((np.exp(a).mean()-np.exp(b).mean())/3.6e6))\n");
  std::istringstream in(out);
  double ratio, lo, hi, kwh;
  ASSERT_TRUE(in >> ratio >> lo >> hi >> kwh) << out;
  const stats::Comparison* c = comparison(d, "energy_j", h.best);
  ASSERT_NE(c, nullptr);
  EXPECT_NEAR(c->ratio, ratio, 1e-12);
  EXPECT_NEAR(c->ratio_ci_low, lo, 1e-9);
  EXPECT_NEAR(c->ratio_ci_high, hi, 1e-9);
  EXPECT_GT(c->ratio_ci_low, 0);  // a ratio's interval never reaches zero
  ASSERT_TRUE(h.saving_kwh);
  EXPECT_NEAR(*h.saving_kwh, kwh, 1e-12);
  EXPECT_NEAR(*h.saving_co2e_g, *h.saving_kwh * 1.2 * 381, 1e-9);
  // The title answers the plan's question (precision first); the cheapest configuration that
  // kept accuracy follows, with its saving and interval.
  EXPECT_EQ(h.title.rfind("bf16 versus fp32: ", 0), 0u) << h.title;
  std::string cheapest;
  for (const auto& line : h.details)
    if (line.rfind("Cheapest that kept accuracy: ", 0) == 0) cheapest = line;
  EXPECT_NE(cheapest.find("fp16 \u00b7 batch 128 is the best configuration by energy"),
            std::string::npos)
      << cheapest;
  EXPECT_NE(cheapest.find(fmt::format("{:.1f} % less energy", 100 * (1 - ratio))),
            std::string::npos)
      << cheapest;
  EXPECT_NE(cheapest.find(fmt::format("[{:+.1f}, {:+.1f} %]", 100 * (lo - 1), 100 * (hi - 1))),
            std::string::npos)
      << cheapest;
}

TEST(ReportModel, PerPhaseEnergyBecomesThePrimaryMetric) {
  auto d = full_experiment();
  for (auto& r : d.runs)
    if (r.metrics.count("energy_j")) r.metrics["train_energy_j"] = 0.8 * r.metrics["energy_j"];
  d.analysis = analyze_runs(d, &d.analysis_note);
  ASSERT_TRUE(d.analysis) << d.analysis_note;
  EXPECT_EQ(d.analysis->primary_metric, "train_energy_j");
  auto h = headline(d);
  EXPECT_EQ(h.metric, "train_energy_j");
  EXPECT_NE(h.title.find("training energy"), std::string::npos) << h.title;
  ASSERT_TRUE(h.saving_kwh);
  const auto best = summarize(d, "train_energy_j", h.best),
             base = summarize(d, "train_energy_j", d.benchmark);
  EXPECT_NEAR(*h.saving_kwh, (base->mean - best->mean) / 3.6e6, 1e-12);
  auto charts = all_charts(d);
  ASSERT_FALSE(charts.empty());
  EXPECT_EQ(charts.front().id, "train_energy");
  EXPECT_NE(render_markdown(d).find("training energy (J)"), std::string::npos);
}

TEST(ReportModel, HeadlineExplainsWhenThereIsNothingToCompare) {
  auto h = headline(testing::single_configuration());
  EXPECT_FALSE(h.available);
  EXPECT_NE(h.title.find("only one configuration"), std::string::npos);
  auto no_acc = headline(testing::without_gpu());  // no accuracy: best by energy alone, and said so
  ASSERT_TRUE(no_acc.available);
  EXPECT_EQ(no_acc.best, (Config{{"precision", "fp16"}, {"batch_size", "128"}}));
  bool said = false;
  for (const auto& line : no_acc.details)
    said = said || line.find("competed on energy alone") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST(ReportCarbon, OtherGridsScaleThePlanGridsCarbon) {
  auto d = full_experiment();
  Config c = d.benchmark;
  auto co2 = summarize(d, "co2e_g", c);
  ASSERT_TRUE(co2);
  auto fra = co2e_on_grid(d, c, d.other_grids[0]);
  ASSERT_TRUE(fra);
  EXPECT_NEAR(*fra, co2->mean * 56.0 / 381.0, 1e-9 * *fra);
  // Same answer from energy when the runs carry no co2e_g.
  auto e = summarize(d, "energy_j", c);
  EXPECT_NEAR(*fra, e->mean / 3.6e6 * 1.2 * 56, 1e-6 * *fra);
  auto chart = carbon_chart(d);
  ASSERT_TRUE(chart);
  ASSERT_EQ(chart->table.columns[5], "gCO2e per epoch");
  EXPECT_EQ(chart->table.rows[0][5], format_number(co2->mean / 10));
  EXPECT_EQ(chart->table.rows[0][6], format_number(co2->mean / (10 * 54000 / 1000.0)));
  auto grids = grids_chart(d);
  ASSERT_TRUE(grids);
  EXPECT_EQ(grids->table.rows.size(), 5u);  // plan grid + FRA USA IND World
  EXPECT_EQ(grids->table.rows[0][0], "Germany (DEU)");
}

TEST(ReportCharts, FailedRunsAreCountedNotPlotted) {
  auto d = testing::with_failed_runs();
  auto chart = metric_chart(d, "energy_j", "energy", "Energy", "J");
  ASSERT_TRUE(chart);
  bool all_failed_row = false;
  for (const auto& row : chart->table.rows)
    if (row[0] == "bf16 \u00b7 batch 128") {
      all_failed_row = true;
      EXPECT_EQ(row[1], "0");
      EXPECT_EQ(row[7], "4");
    }
  EXPECT_TRUE(all_failed_row);
  for (const auto& r : chart->data) EXPECT_NE(r["config"], "bf16 \u00b7 batch 128");
  auto h = headline(d);
  EXPECT_TRUE(h.available);
  bool named = false;
  for (const auto& line : h.details)
    named = named || line.find("bf16 \u00b7 batch 128: 4 of 4 runs failed, no successful run") !=
                         std::string::npos;
  EXPECT_TRUE(named) << h.title;
  auto html = render_html(d);
  EXPECT_NE(html.find("bf16 \u00b7 batch 128: 4 of 4 runs failed"), std::string::npos);
}

TEST(ReportCharts, NoGpuDataStillGivesChartsWithoutPowerOfTheGpu) {
  auto d = testing::without_gpu();
  auto charts = all_charts(d);
  std::set<std::string> ids;
  for (const auto& c : charts) ids.insert(c.id);
  EXPECT_TRUE(ids.count("energy"));
  EXPECT_TRUE(ids.count("components"));
  EXPECT_TRUE(ids.count("power"));
  EXPECT_FALSE(ids.count("pareto"));  // no accuracy metric
  auto components = components_chart(d);
  ASSERT_TRUE(components);
  for (const auto& row : components->data) EXPECT_NE(row["component"], "gpu");
}

TEST(ReportMarkdown, SummaryHasHeadlineTablesAndStatistics) {
  auto d = full_experiment();
  auto md = render_markdown(d);
  EXPECT_NE(md.find("# greentrain report: synthetic"), std::string::npos);
  EXPECT_NE(md.find("Cheapest that kept accuracy: fp16 \u00b7 batch 128 is the best "
                    "configuration by energy with accuracy equivalent to the baseline's"),
            std::string::npos)
      << md.substr(0, 600);
  auto e = summarize(d, "energy_j", d.benchmark);
  std::string cell = format_number(e->mean) + " [" + format_number(e->ci95_low) + ", " +
                     format_number(e->ci95_high) + "]";
  EXPECT_NE(md.find("| fp32 \u00b7 batch 32 (benchmark) | 5 | 0 | " + markdown_cell(cell) + " |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("### Factorial ANOVA: energy (J)"), std::string::npos);
  EXPECT_NE(md.find("### Equivalence with the benchmark (TOST)"), std::string::npos);
  EXPECT_NE(md.find("| ---: |"), std::string::npos);
  EXPECT_NE(md.find("France (FRA)"), std::string::npos);
  auto single = render_markdown(testing::single_configuration());
  EXPECT_NE(single.find("No headline: only one configuration was run"), std::string::npos);
  EXPECT_NE(single.find("only one configuration (fp32 \u00b7 batch 32) among the 3 usable runs"),
            std::string::npos)
      << single;
}

TEST(ReportMarkdown, CellsEscapePipes) {
  auto d = full_experiment();
  d.environment["odd"] = "a|b\nc";
  auto md = render_markdown(d);
  EXPECT_NE(md.find("a\\|b c"), std::string::npos);
}

TEST(ReportMarkdown, NamesAndLevelsCannotInjectHtml) {
  auto d = full_experiment();
  d.experiment = "<script>alert(1)</script>";
  for (auto& r : d.runs)
    if (r.config["precision"] == "bf16") r.config["precision"] = "<img src=x onerror=alert(1)>";
  d.analysis = analyze_runs(d, &d.analysis_note);
  ASSERT_TRUE(d.analysis) << d.analysis_note;
  auto md = render_markdown(d);
  EXPECT_EQ(md.find("<script"), std::string::npos);
  EXPECT_EQ(md.find("<img"), std::string::npos);
  EXPECT_NE(md.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(md.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos) << md;
}

TEST(ReportHtml, PageHasEverySectionChartAndTableAndNoExternalReference) {
  auto d = full_experiment();
  auto html = render_html(d);
  for (const char* id : {"headline", "per-config", "components", "power-time", "accuracy", "carbon",
                         "statistics", "method"})
    EXPECT_NE(html.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  auto charts = all_charts(d);
  EXPECT_EQ(charts.size(), 8u);
  for (const auto& c : charts) {
    EXPECT_NE(html.find("id=\"chart-" + c.id + "\""), std::string::npos) << c.id;
    EXPECT_NE(html.find("id=\"dl-" + c.id + "\""), std::string::npos) << c.id;
  }
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
  EXPECT_EQ(html.find("sourceMappingURL"), std::string::npos);
  // Tables are in the static HTML: the page reads without scripts.
  HtmlOptions plain;
  plain.inline_libraries = false;
  auto bare = render_html(d, plain);
  size_t tables = 0;
  for (size_t p = 0; (p = bare.find("<table>", p)) != std::string::npos; ++p) ++tables;
  EXPECT_GE(tables, charts.size() + 4);
  EXPECT_LT(bare.size(), html.size());
}

TEST(ReportHtml, DataCannotCloseTheScriptElement) {
  auto d = full_experiment();
  for (auto& r : d.runs)
    r.config["precision"] =
        r.config["precision"] == "fp16" ? "</script><b>x" : r.config["precision"];
  d.plan_text = "</pre><script>alert(1)</script>";
  auto html = render_html(d);
  EXPECT_EQ(html.find("</script><b>"), std::string::npos);
  EXPECT_EQ(html.find("<script>alert(1)"), std::string::npos);
  EXPECT_NE(html.find("&lt;/script&gt;&lt;b&gt;x"), std::string::npos);
}

TEST(ReportHtml, DegenerateExperimentsGiveSensiblePages) {
  auto single = render_html(testing::single_configuration());
  EXPECT_NE(single.find("No headline: only one configuration was run"), std::string::npos);
  EXPECT_NE(single.find("id=\"chart-energy\""), std::string::npos);
  auto nogpu = render_html(testing::without_gpu());
  EXPECT_NE(nogpu.find("no accuracy–energy trade-off"), std::string::npos);
  ReportData empty;
  auto blank = render_html(empty);
  EXPECT_NE(blank.find("No successful run recorded energy"), std::string::npos);
  EXPECT_NE(blank.find("No headline"), std::string::npos);
  EXPECT_NE(render_markdown(empty).find("No headline"), std::string::npos);
}

TEST(ReportFormat, NumbersAndCsv) {
  EXPECT_EQ(format_number(1234.6), "1235");
  EXPECT_EQ(format_number(0.0123456), "0.01235");
  EXPECT_EQ(format_number(12.0), "12.00");
  EXPECT_EQ(format_number(7.6e-14), "0");
  EXPECT_EQ(format_signed_pct(-12.34), "\u221212.3 %");
  EXPECT_EQ(format_signed_pct(3.0), "+3.0 %");
  EXPECT_EQ(format_p(0.0004), "< 0.001");
  EXPECT_EQ(format_energy(7200), "7.20 kJ (2.00 Wh)");
  EXPECT_EQ(to_csv(json::array({{{"a", 1}, {"b", "x,y"}}, {{"a", 2}, {"c", "q\"r"}}})),
            "a,b,c\n1,\"x,y\",\n2,,\"q\"\"r\"\n");
}

TEST(ReportFiles, UnwritablePathIsOneClearError) {
  try {
    write_file("/nonexistent-dir/report.html", "x");
    FAIL() << "expected gt::Error";
  } catch (const gt::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("/nonexistent-dir/report.html"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos);
  }
}

// The GPU settings each run ran under, as the loader fills them: one power limit for every run,
// or block 1 capped at 450 W while the others ran at 700 W.
ReportData with_gpu_settings(bool capped_block_one) {
  auto d = full_experiment();
  d.gpu_setting_columns = {"gpu_power_limit_w", "gpu_app_sm_clock_mhz", "gpu_persistence_mode",
                           "gpu_throttle_reasons"};
  d.gpu_comparability_columns = {"gpu_power_limit_w", "gpu_app_sm_clock_mhz"};
  for (auto& r : d.runs) {
    const bool capped = capped_block_one && r.block == 1;
    r.gpu_settings = {{"gpu_power_limit_w", capped ? "450" : "700"},
                      {"gpu_app_sm_clock_mhz", "1755"},
                      {"gpu_persistence_mode", "on"},
                      {"gpu_throttle_reasons", capped ? "sw_power_cap" : "none"}};
  }
  return d;
}

TEST(ReportGpuSettings, RunsUnderDifferentLimitsAreWarnedAbout) {
  const auto d = with_gpu_settings(true);
  std::vector<std::string> capped, full;
  for (const auto& r : d.runs)
    if (r.analysed()) (r.block == 1 ? capped : full).push_back(r.run_id);
  ASSERT_FALSE(capped.empty());
  const auto warning = gpu_settings_warning(d);
  ASSERT_TRUE(warning);
  EXPECT_NE(warning->find("gpu_power_limit_w 450 (runs " + capped.front()), std::string::npos)
      << *warning;
  EXPECT_NE(warning->find("700 (runs " + full.front()), std::string::npos) << *warning;
  EXPECT_EQ(warning->find("gpu_app_sm_clock_mhz"), std::string::npos);  // the same everywhere
  EXPECT_NE(warning->find("--block-by gpu_power_limit_w"), std::string::npos);
  const auto t = gpu_settings_table(d);
  ASSERT_EQ(t.table.rows.size(), 2u);
  EXPECT_EQ(t.table.columns.front(), "runs");
  EXPECT_EQ(t.table.rows[0][1], d.runs.front().block == 1 ? "450" : "700");
  const std::string md = render_markdown(d);
  EXPECT_NE(md.find("### Runs under different GPU settings"), std::string::npos);
  EXPECT_NE(md.find("### GPU power limits and clocks"), std::string::npos);
  EXPECT_NE(md.find("sw_power_cap"), std::string::npos);
  EXPECT_NE(render_html(d).find("Runs under different GPU settings"), std::string::npos);
}

TEST(ReportGpuSettings, OneSettingOrNoneGivesNoWarning) {
  const auto same = with_gpu_settings(false);
  EXPECT_FALSE(gpu_settings_warning(same));
  const auto t = gpu_settings_table(same);
  ASSERT_EQ(t.table.rows.size(), 1u);
  EXPECT_EQ(t.table.rows[0][1], "700");
  EXPECT_EQ(t.table.rows[0].back(), "none");
  EXPECT_NE(t.note.find("same GPU power limits and clocks"), std::string::npos);
  EXPECT_EQ(render_markdown(same).find("Runs under different GPU settings"), std::string::npos);
  // A failed run under another limit is not compared: no warning.
  auto d = testing::with_failed_runs();
  d.gpu_comparability_columns = {"gpu_power_limit_w"};
  int failed = 0;
  for (auto& r : d.runs) {
    r.gpu_settings["gpu_power_limit_w"] = r.analysed() ? "700" : "300";
    failed += !r.analysed();
  }
  ASSERT_GT(failed, 0);
  EXPECT_FALSE(gpu_settings_warning(d));
  const auto none = gpu_settings_table(full_experiment());
  EXPECT_TRUE(none.table.rows.empty());
  EXPECT_NE(none.note.find("Not recorded"), std::string::npos);
}

}  // namespace
}  // namespace gt::report
