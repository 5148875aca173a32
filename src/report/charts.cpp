// Chart builders (see charts.h). Specs are plain Vega-Lite v6 with inline data; colours of
// precisions and components are fixed scales so every chart reads the same way.
#include "report/charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "report/format.h"
#include "report/model.h"
#include "stats/descriptive.h"

namespace gt::report {
namespace {

using nlohmann::json;
using RunValue = std::function<std::optional<double>(const Run&)>;
using CellOf = std::function<std::optional<stats::Description>(const Config&)>;

const char* kSchema = "https://vega.github.io/schema/vega-lite/v6.json";

std::string precision_of(const Config& c) {
  auto it = c.find("precision");
  return it == c.end() ? "all" : it->second;
}

// The label shown on axes: the benchmark carries a marker so it stands out everywhere.
std::string axis_label(const ReportData& data, const Config& c) {
  std::string l = config_label(data, c);
  return same_config(c, data.benchmark, data.factors) ? l + " (benchmark)" : l;
}

json precision_scale(const ReportData& data) {
  std::vector<std::string> domain;
  for (const auto& c : configurations(data)) {
    auto p = precision_of(c);
    if (std::find(domain.begin(), domain.end(), p) == domain.end()) domain.push_back(p);
  }
  return {{"domain", domain}, {"scheme", "tableau10"}};
}

json label_sort(const ReportData& data, const std::vector<Config>& configs) {
  json out = json::array();
  for (const auto& c : configs) out.push_back(axis_label(data, c));
  return out;
}

// Legends and axis labels are never truncated (configuration labels are long).
json base_spec(const std::string& title, const json& values) {
  return {{"$schema", kSchema},
          {"title", title},
          {"data", {{"values", values}}},
          {"config",
           {{"font", "system-ui, sans-serif"},
            {"view", {{"stroke", nullptr}}},
            {"legend", {{"labelLimit", 0}, {"titleLimit", 0}}},
            {"axis", {{"labelLimit", 0}}}}}};
}

// Tick labels in plain units: "12 kJ", "350 mg", "1.5 kg" (never "20m" grams).
json unit_axis(const std::string& unit) {
  if (unit == "J")
    return {{"labelExpr",
             "abs(datum.value) >= 1e6 ? format(datum.value / 1e6, '~g') + ' MJ' : abs(datum.value) "
             ">= 1e3 ? "
             "format(datum.value / 1e3, '~g') + ' kJ' : format(datum.value, '~g') + ' J'"}};
  if (unit == "g")
    return {{"labelExpr",
             "datum.value == 0 ? '0 g' : abs(datum.value) >= 1e3 ? format(datum.value / 1e3, '~g') "
             "+ ' kg' : "
             "abs(datum.value) >= 1 ? format(datum.value, '~g') + ' g' : format(datum.value * 1e3, "
             "'~g') + ' mg'"}};
  return {{"labelExpr", "format(datum.value, ',~g') + '" + (unit.empty() ? "" : " " + unit) + "'"}};
}

// The unit of a metric from its key's suffix ("energy_j" -> "J").
std::string unit_of(const std::string& metric) {
  for (const auto& [suffix, unit] : std::vector<std::pair<std::string, std::string>>{
           {"_j", "J"}, {"_g", "g"}, {"_w", "W"}, {"_s", "s"}})
    if (metric.size() > suffix.size() && metric.ends_with(suffix)) return unit;
  return "";
}

// A chart with its id, title and one-sentence description; spec, table and data to be filled.
Chart titled_chart(std::string id, std::string title, std::string description) {
  return Chart{std::move(id), std::move(title), std::move(description), {}, {}, {}};
}

std::optional<Chart> strip_chart(const ReportData& data, const std::string& id,
                                 const std::string& title, const std::string& description,
                                 const std::string& axis_title, const std::string& unit,
                                 const RunValue& run_value, const CellOf& cell_of) {
  auto configs = configurations(data);
  json rows = json::array();
  Chart chart = titled_chart(id, title, description);
  chart.table.columns = {"configuration", "n",  "mean",   "95 % CI low",
                         "95 % CI high",  "sd", "median", "failed runs"};
  chart.table.numeric = {false, true, true, true, true, true, true, true};
  bool any = false, below_zero = false;
  for (const auto& c : configs) {
    std::string label = axis_label(data, c);
    for (const auto& r : data.runs) {
      if (!r.analysed() || !same_config(r.config, c, data.factors)) continue;
      auto v = run_value(r);
      if (!v || !std::isfinite(*v)) continue;
      rows.push_back({{"kind", "run"},
                      {"config", label},
                      {"precision", precision_of(c)},
                      {"run_id", r.run_id},
                      {"block", r.block},
                      {"value", *v}});
    }
    auto s = cell_of(c);
    int failed = failed_runs(data, c);
    if (s && s->n > 0) {
      any = true;
      below_zero = below_zero || s->ci95_low < 0;
      rows.push_back({{"kind", "mean"},
                      {"config", label},
                      {"precision", precision_of(c)},
                      {"benchmark", same_config(c, data.benchmark, data.factors)},
                      {"n", s->n},
                      {"value", s->mean},
                      {"ci95_low", s->ci95_low},
                      {"ci95_high", s->ci95_high}});
      chart.table.rows.push_back({label, std::to_string(s->n), format_number(s->mean),
                                  format_number(s->ci95_low), format_number(s->ci95_high),
                                  format_number(s->sd, 3), format_number(s->median),
                                  std::to_string(failed)});
    } else if (failed > 0) {
      chart.table.rows.push_back({label, "0", "—", "—", "—", "—", "—", std::to_string(failed)});
    }
  }
  if (!any) return std::nullopt;
  // A positive quantity's axis stops at zero even when a small sample's t-interval does not.
  json scale = {{"zero", false}};
  if (below_zero && !unit.empty()) scale["domainMin"] = 0;
  json y = {{"field", "value"},
            {"type", "quantitative"},
            {"title", axis_title},
            {"scale", scale},
            {"axis", unit_axis(unit)}};
  json color = {{"field", "precision"},
                {"type", "nominal"},
                {"title", "precision"},
                {"scale", precision_scale(data)}};
  json spec = base_spec(title, rows);
  spec["width"] = "container";
  spec["height"] = 260;
  spec["encoding"] = {{"x",
                       {{"field", "config"},
                        {"type", "nominal"},
                        {"title", nullptr},
                        {"sort", label_sort(data, configs)},
                        {"axis", {{"labelAngle", -35}, {"labelLimit", 260}}}}}};
  json run_layer = {
      {"transform", {{{"filter", "datum.kind === 'run'"}}}},
      {"mark", {{"type", "point"}, {"filled", true}, {"opacity", 0.45}, {"size", 36}}},
      {"encoding",
       {{"y", y},
        {"color", color},
        {"tooltip",
         {{{"field", "config"}},
          {{"field", "run_id"}, {"title", "run"}},
          {{"field", "block"}},
          {{"field", "value"}, {"title", axis_title}, {"format", ".4~g"}}}}}}};
  json y_low = {{"field", "ci95_low"}, {"type", "quantitative"}, {"title", axis_title}};
  json bar_layer = {
      {"transform", {{{"filter", "datum.kind === 'mean'"}}}},
      {"mark", {{"type", "errorbar"}, {"ticks", true}, {"color", "#333"}, {"clip", true}}},
      {"encoding", {{"y", y_low}, {"y2", {{"field", "ci95_high"}}}}}};
  json mean_layer = {
      {"transform", {{{"filter", "datum.kind === 'mean'"}}}},
      {"mark",
       {{"type", "point"},
        {"shape", "diamond"},
        {"filled", true},
        {"size", 130},
        {"stroke", "#000"}}},
      {"encoding",
       {{"y", {{"field", "value"}, {"type", "quantitative"}, {"title", axis_title}}},
        {"color", color},
        {"strokeWidth",
         {{"condition", {{"test", "datum.benchmark"}, {"value", 2.5}}}, {"value", 0}}},
        {"tooltip",
         {{{"field", "config"}},
          {{"field", "n"}},
          {{"field", "value"}, {"title", "mean"}, {"format", ".4~g"}},
          {{"field", "ci95_low"}, {"title", "95 % CI low"}, {"format", ".4~g"}},
          {{"field", "ci95_high"}, {"title", "95 % CI high"}, {"format", ".4~g"}}}}}}};
  spec["layer"] = {run_layer, bar_layer, mean_layer};
  chart.spec = spec;
  chart.data = rows;
  return chart;
}

std::optional<double> metric_of(const Run& r, const std::string& metric) {
  auto it = r.metrics.find(metric);
  if (it == r.metrics.end()) return std::nullopt;
  return it->second;
}

// The share of a machine-wide meter's energy the energy tables attribute to the run: its
// components of this kind with process attribution, energy over the machine's (1 when the
// figure is the machine's own).
double run_share(const Run& run, Component component) {
  double mine = 0, machine = 0;
  for (const auto& c : run.components)
    if (c.component == component && c.attribution == Scope::process && c.machine_energy_j &&
        *c.machine_energy_j > 0) {
      mine += c.energy_j;
      machine += *c.machine_energy_j;
    }
  return machine > 0 ? std::clamp(mine / machine, 0.0, 1.0) : 1.0;
}

// A legend entry a reader understands: "GPU 0", "CPU", "RAM (run's share)", "wall meter".
std::string meter_name(Component component, const std::string& device, bool shared) {
  std::string name = component == Component::gpu   ? "GPU"
                     : component == Component::cpu ? "CPU"
                     : component == Component::ram ? "RAM"
                                                   : "wall meter";
  if (!device.empty() && device != to_string(component) && device != "system" &&
      device != "wattmeter")
    name += " " + device;
  return shared ? name + " (run's share)" : name;
}

}  // namespace

std::string to_csv(const json& rows) {
  std::vector<std::string> keys;
  for (const auto& row : rows)
    for (auto& [k, v] : row.items())
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  auto cell = [](const json& v) -> std::string {
    if (v.is_null()) return "";
    std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i) out += (i ? "," : "") + cell(keys[i]);
  out += "\n";
  for (const auto& row : rows) {
    for (size_t i = 0; i < keys.size(); ++i)
      out += (i ? "," : "") + cell(row.contains(keys[i]) ? row[keys[i]] : json());
    out += "\n";
  }
  return out;
}

std::optional<Chart> metric_chart(const ReportData& data, const std::string& metric,
                                  const std::string& id, const std::string& title,
                                  const std::string& axis_title) {
  return strip_chart(
      data, id, title,
      "Each dot is one run; the diamond is the mean with its 95 % confidence interval; the "
      "benchmark's diamond has a black outline.",
      axis_title, unit_of(metric), [&](const Run& r) { return metric_of(r, metric); },
      [&](const Config& c) { return summarize(data, metric, c); });
}

// (measure, component, source), listed as their words sort.
using MeasureKey = std::tuple<std::string, Component, Source>;
struct MeasureLess {
  static auto words(const MeasureKey& k) {
    return std::tuple(std::get<0>(k), std::string_view(to_string(std::get<1>(k))),
                      std::string_view(to_string(std::get<2>(k))));
  }
  bool operator()(const MeasureKey& a, const MeasureKey& b) const { return words(a) < words(b); }
};

std::optional<Chart> components_chart(const ReportData& data) {
  auto configs = configurations(data);
  json rows = json::array();
  Chart chart = titled_chart(
      "components", "Energy by component",
      "Mean energy per run of each component, gross and net of the idle baseline; faded "
      "bars are estimates "
      "(a model, not a meter). The wall meter measures the whole machine and is drawn "
      "beside the sum of "
      "the components, not stacked on it.");
  chart.table.columns = {"configuration", "measure",         "component",
                         "source",        "mean energy (J)", "runs"};
  chart.table.numeric = {false, false, false, false, true, true};
  // Net of idle only from a measured baseline taken with the machine at rest.
  const bool net = !data.idle.empty() && idle_baseline_valid(data);
  if (!net)
    chart.description += data.idle.empty()
                             ? " No idle baseline was measured, so only gross energy is shown."
                             : " The idle baseline is not valid (the machine was busy while it "
                               "was measured), so only gross energy is shown.";
  for (const auto& c : configs) {
    // per (measure, component, source): per-run totals over devices
    std::map<MeasureKey, std::vector<double>, MeasureLess> per_run;
    for (const auto& r : data.runs) {
      if (!r.analysed() || !same_config(r.config, c, data.factors) || r.components.empty())
        continue;
      std::map<MeasureKey, double, MeasureLess> totals;
      for (const auto& ce : r.components) {
        totals[{"gross", ce.component, ce.source}] += ce.energy_j;
        if (ce.net_energy_j && net)
          totals[{"net of idle", ce.component, ce.source}] += *ce.net_energy_j;
      }
      for (auto& [k, v] : totals) per_run[k].push_back(v);
    }
    std::string label = axis_label(data, c);
    for (auto& [k, v] : per_run) {
      auto& [measure, component, source] = k;
      const double mean = stats::mean(v);
      rows.push_back({{"config", label},
                      {"measure", measure},
                      {"group", component == Component::wall ? "wall meter" : "components"},
                      {"component", component},
                      {"source", source},
                      {"energy_j", mean},
                      {"runs", v.size()}});
      chart.table.rows.push_back({label, measure, to_string(component), to_string(source),
                                  format_number(mean), std::to_string(v.size())});
    }
  }
  if (rows.empty()) return std::nullopt;
  json spec = base_spec(chart.title, rows);
  // Bars fill about the card's width (a faceted chart cannot take the container's width).
  spec["width"] = {
      {"step", std::clamp(640 / std::max<int>(1, 2 * static_cast<int>(configs.size())), 12, 80)}};
  spec["height"] = 200;
  spec["mark"] = {{"type", "bar"}};
  spec["encoding"] = {
      {"row",
       {{"field", "measure"},
        {"type", "nominal"},
        {"title", nullptr},
        {"sort", {"gross", "net of idle"}}}},
      {"x",
       {{"field", "config"},
        {"type", "nominal"},
        {"title", nullptr},
        {"sort", label_sort(data, configs)},
        {"axis", {{"labelAngle", -35}, {"labelLimit", 260}}}}},
      {"xOffset",
       {{"field", "group"}, {"type", "nominal"}, {"sort", {"components", "wall meter"}}}},
      {"y",
       {{"field", "energy_j"},
        {"type", "quantitative"},
        {"title", "mean energy per run"},
        {"stack", "zero"},
        {"axis", unit_axis("J")}}},
      {"color",
       {{"field", "component"},
        {"type", "nominal"},
        {"title", "component"},
        {"scale",
         {{"domain", {"gpu", "cpu", "ram", "wall"}},
          {"range", {"#4c78a8", "#f58518", "#54a24b", "#9d755d"}}}}}},
      {"opacity",
       {{"field", "source"},
        {"type", "ordinal"},
        {"title", "source"},
        {"sort", {"measured", "estimated"}},
        {"scale", {{"domain", {"measured", "estimated"}}, {"range", {1.0, 0.4}}}}}},
      {"tooltip",
       {{{"field", "config"}},
        {{"field", "measure"}},
        {{"field", "component"}},
        {{"field", "source"}},
        {{"field", "energy_j"}, {"title", "energy (J)"}, {"format", ".4~g"}},
        {{"field", "runs"}}}}};
  chart.spec = spec;
  chart.data = rows;
  return chart;
}

std::optional<Chart> power_chart(const ReportData& data) {
  auto configs = configurations(data);
  json rows = json::array();
  Chart chart = titled_chart(
      "power", "Power over time (median run of each configuration)",
      "Instant power of each meter during the run whose energy is the median of its "
      "configuration: look for warm-up, steady state and tails. Meters marked “run's share” "
      "read the whole machine; their power is scaled to the run's share of that energy, the "
      "attribution of the energy tables, so the curves add up to the run's energy.");
  chart.table.columns = {"configuration",  "run",           "meter", "samples", "duration (s)",
                         "mean power (W)", "peak power (W)"};
  chart.table.numeric = {false, false, false, true, true, true, true};
  std::vector<Config> shown;
  for (const auto& c : configs) {
    const Run* run = median_run(data, c);
    if (!run) continue;
    shown.push_back(c);
    std::string label = axis_label(data, c);
    std::map<std::string, std::vector<const PowerSample*>> series;
    std::map<std::string, double> scale;  // meter name -> the run's share of the machine's power
    for (const auto& s : run->samples) {
      const double share = run_share(*run, s.component);
      const std::string name = meter_name(s.component, s.device, share < 1);
      series[name].push_back(&s);
      scale[name] = share;
    }
    for (auto& [name, pts] : series) {
      std::sort(pts.begin(), pts.end(), [](auto* a, auto* b) { return a->t_s < b->t_s; });
      size_t stride = std::max<size_t>(1, (pts.size() + 399) / 400);  // at most ~400 points a line
      std::vector<double> power;
      double peak = 0;
      for (size_t i = 0; i < pts.size(); ++i) {
        const double w = pts[i]->power_w * scale[name];
        power.push_back(w);
        peak = std::max(peak, w);
        if (i % stride == 0 || i + 1 == pts.size())
          rows.push_back({{"config", label},
                          {"run_id", run->run_id},
                          {"meter", name},
                          {"t_s", pts[i]->t_s},
                          {"power_w", w}});
      }
      double duration = pts.back()->t_s - pts.front()->t_s;
      chart.table.rows.push_back({label, run->run_id, name, std::to_string(pts.size()),
                                  format_number(duration, 3), format_number(stats::mean(power)),
                                  format_number(peak)});
    }
  }
  if (rows.empty()) return std::nullopt;
  json spec = base_spec(chart.title, rows);
  spec["width"] = 460;  // two facets side by side fill the card
  spec["height"] = 160;
  spec["mark"] = {{"type", "line"}, {"strokeWidth", 1.4}};
  spec["encoding"] = {
      {"facet",
       {{"field", "config"},
        {"type", "nominal"},
        {"columns", 2},
        {"title", nullptr},
        {"sort", label_sort(data, shown)}}},
      {"x", {{"field", "t_s"}, {"type", "quantitative"}, {"title", "time since start (s)"}}},
      {"y", {{"field", "power_w"}, {"type", "quantitative"}, {"title", "power (W)"}}},
      {"color", {{"field", "meter"}, {"type", "nominal"}, {"title", "meter"}}},
      {"tooltip",
       {{{"field", "config"}},
        {{"field", "meter"}},
        {{"field", "t_s"}, {"title", "t (s)"}, {"format", ".3~f"}},
        {{"field", "power_w"}, {"title", "power (W)"}, {"format", ".4~g"}}}}};
  chart.spec = spec;
  chart.data = rows;
  return chart;
}

std::optional<Chart> pareto_chart(const ReportData& data) {
  if (!has_metric(data, "test_accuracy") || !has_metric(data, "energy_j")) return std::nullopt;
  auto configs = configurations(data);
  auto front = pareto_front(data);
  auto on_front = [&](const Config& c) {
    return std::any_of(front.begin(), front.end(),
                       [&](const Config& f) { return same_config(f, c, data.factors); });
  };
  json rows = json::array();
  Chart chart = titled_chart(
      "pareto", "Accuracy versus energy",
      "Faint dots are runs, large dots configuration means. Black-outlined diamonds joined by the "
      "dashed "
      "line are the Pareto front: configurations that no other beats on both energy and accuracy.");
  chart.table.columns = {"configuration", "mean energy (J)", "mean test accuracy", "Pareto front"};
  chart.table.numeric = {false, true, true, false};
  for (const auto& c : configs) {
    std::string label = axis_label(data, c);
    for (const auto& r : data.runs) {
      if (!r.analysed() || !same_config(r.config, c, data.factors)) continue;
      auto e = metric_of(r, "energy_j");
      auto a = metric_of(r, "test_accuracy");
      if (e && a)
        rows.push_back({{"kind", "run"},
                        {"config", label},
                        {"precision", precision_of(c)},
                        {"run_id", r.run_id},
                        {"energy_j", *e},
                        {"test_accuracy", *a}});
    }
    auto e = summarize(data, "energy_j", c);
    auto a = summarize(data, "test_accuracy", c);
    if (!e || !a || e->n == 0 || a->n == 0) continue;
    bool pareto = on_front(c);
    rows.push_back({{"kind", "mean"},
                    {"config", label},
                    {"precision", precision_of(c)},
                    {"energy_j", e->mean},
                    {"test_accuracy", a->mean},
                    {"pareto", pareto}});
    chart.table.rows.push_back(
        {label, format_number(e->mean), format_number(a->mean, 4), pareto ? "yes" : ""});
  }
  if (chart.table.rows.empty()) return std::nullopt;
  json x = {{"field", "energy_j"},
            {"type", "quantitative"},
            {"title", "energy per run"},
            {"scale", {{"zero", false}}},
            {"axis", unit_axis("J")}};
  json y = {{"field", "test_accuracy"},
            {"type", "quantitative"},
            {"title", "test accuracy"},
            {"scale", {{"zero", false}}}};
  json color = {{"field", "precision"},
                {"type", "nominal"},
                {"title", "precision"},
                {"scale", precision_scale(data)}};
  json tooltip = {{{"field", "config"}},
                  {{"field", "energy_j"}, {"title", "energy (J)"}, {"format", ".4~g"}},
                  {{"field", "test_accuracy"}, {"title", "test accuracy"}, {"format", ".4~f"}}};
  json spec = base_spec(chart.title, rows);
  spec["width"] = "container";
  spec["height"] = 320;
  spec["layer"] = {
      {{"transform", {{{"filter", "datum.kind === 'mean' && datum.pareto"}}}},
       {"mark", {{"type", "line"}, {"color", "#888"}, {"strokeDash", {4, 3}}}},
       {"encoding",
        {{"x", x}, {"y", y}, {"order", {{"field", "energy_j"}, {"type", "quantitative"}}}}}},
      {{"transform", {{{"filter", "datum.kind === 'run'"}}}},
       {"mark", {{"type", "point"}, {"filled", true}, {"opacity", 0.3}, {"size", 25}}},
       {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"tooltip", tooltip}}}},
      {{"transform", {{{"filter", "datum.kind === 'mean'"}}}},
       {"mark", {{"type", "point"}, {"filled", true}, {"size", 140}, {"stroke", "#000"}}},
       {"encoding",
        {{"x", x},
         {"y", y},
         {"color", color},
         {"strokeWidth", {{"condition", {{"test", "datum.pareto"}, {"value", 2}}}, {"value", 0}}},
         {"shape",
          {{"condition", {{"test", "datum.pareto"}, {"value", "diamond"}}}, {"value", "circle"}}},
         {"tooltip", tooltip}}}}};
  chart.spec = spec;
  chart.data = rows;
  return chart;
}

namespace {

// Per configuration and epoch: the mean energy, time and accuracy over the analysed runs that
// have that epoch.
struct EpochMeans {
  Config config;
  int epoch = 0;
  size_t runs = 0;
  double energy_j = 0, duration_s = 0, energy_so_far_j = 0;
  std::optional<double> accuracy;
};

std::vector<EpochMeans> epoch_means(const ReportData& data) {
  std::vector<EpochMeans> out;
  for (const auto& c : configurations(data)) {
    std::map<int, std::vector<const EpochPoint*>> by_epoch;
    for (const auto& r : data.runs)
      if (r.analysed() && same_config(r.config, c, data.factors))
        for (const auto& e : r.epochs) by_epoch[e.epoch].push_back(&e);
    double so_far = 0;
    for (const auto& [epoch, points] : by_epoch) {
      std::vector<double> energy, time, accuracy;
      for (const auto* p : points) {
        energy.push_back(p->energy_j);
        time.push_back(p->duration_s);
        if (p->accuracy) accuracy.push_back(*p->accuracy);
      }
      EpochMeans m{c, epoch, points.size(), stats::mean(energy), stats::mean(time), 0, {}};
      so_far += m.energy_j;
      m.energy_so_far_j = so_far;
      if (!accuracy.empty()) m.accuracy = stats::mean(accuracy);
      out.push_back(m);
    }
  }
  return out;
}

}  // namespace

std::optional<Chart> epochs_chart(const ReportData& data) {
  const auto means = epoch_means(data);
  if (means.empty()) return std::nullopt;
  const bool accuracy = std::any_of(means.begin(), means.end(),
                                    [](const EpochMeans& m) { return m.accuracy.has_value(); });
  Chart chart = titled_chart(
      "epochs", "Energy, time and accuracy per epoch",
      std::string("Mean over the runs of each configuration, epoch by epoch (the windows the "
                  "workload marked `epoch`)") +
          (accuracy ? "; accuracy is what the workload reported inside each epoch (validation "
                      "accuracy for the built-in trainer)."
                    : "."));
  chart.table.columns = {"configuration", "epoch", "runs", "energy (J)", "time (s)", "accuracy"};
  chart.table.numeric = {false, true, true, true, true, true};
  json rows = json::array();
  std::vector<Config> shown;
  for (const auto& m : means) {
    const std::string label = axis_label(data, m.config);
    if (shown.empty() || !same_config(shown.back(), m.config, data.factors))
      shown.push_back(m.config);
    rows.push_back({{"config", label},
                    {"epoch", m.epoch},
                    {"measure", "energy per epoch (J)"},
                    {"value", m.energy_j}});
    rows.push_back({{"config", label},
                    {"epoch", m.epoch},
                    {"measure", "time per epoch (s)"},
                    {"value", m.duration_s}});
    if (m.accuracy)
      rows.push_back(
          {{"config", label}, {"epoch", m.epoch}, {"measure", "accuracy"}, {"value", *m.accuracy}});
    chart.table.rows.push_back({label, std::to_string(m.epoch), std::to_string(m.runs),
                                format_number(m.energy_j), format_number(m.duration_s, 3),
                                m.accuracy ? format_number(*m.accuracy, 4) : "—"});
  }
  json measures = {"energy per epoch (J)", "time per epoch (s)"};
  if (accuracy) measures.push_back("accuracy");
  json spec = base_spec(chart.title, rows);
  spec["width"] = 560;
  spec["height"] = 150;
  spec["mark"] = {{"type", "line"}, {"point", true}};
  spec["resolve"] = {{"scale", {{"y", "independent"}}}};
  spec["encoding"] = {{"facet",
                       {{"field", "measure"},
                        {"type", "nominal"},
                        {"columns", 1},
                        {"title", nullptr},
                        {"sort", measures}}},
                      {"x",
                       {{"field", "epoch"},
                        {"type", "quantitative"},
                        {"title", "epoch"},
                        {"axis", {{"tickMinStep", 1}, {"format", "d"}}}}},
                      {"y",
                       {{"field", "value"},
                        {"type", "quantitative"},
                        {"title", nullptr},
                        {"scale", {{"zero", false}}}}},
                      {"color",
                       {{"field", "config"},
                        {"type", "nominal"},
                        {"title", "configuration"},
                        {"sort", label_sort(data, shown)}}},
                      {"tooltip",
                       {{{"field", "config"}},
                        {{"field", "epoch"}},
                        {{"field", "measure"}},
                        {{"field", "value"}, {"format", ".4~g"}}}}};
  chart.spec = spec;
  chart.data = rows;
  return chart;
}

std::optional<Chart> target_chart(const ReportData& data) {
  const auto means = epoch_means(data);
  std::vector<const EpochMeans*> with_accuracy;
  for (const auto& m : means)
    if (m.accuracy) with_accuracy.push_back(&m);
  if (with_accuracy.empty()) return std::nullopt;
  const std::string target =
      data.target_accuracy ? fmt::format("{:g}", *data.target_accuracy) : std::string();
  Chart chart = titled_chart(
      "to_target", "Accuracy against the training energy spent",
      "Each point is an epoch: the mean accuracy reached against the mean training energy spent "
      "so far, per configuration" +
          (target.empty() ? std::string(". Set [analysis] target_accuracy in the plan for the "
                                        "energy each run needs to reach it.")
                          : "; the dashed line is the target accuracy " + target +
                                " (energy_to_target_j: the training energy until a run's first "
                                "epoch at or above it)."));
  chart.table.columns = {"configuration", "runs", "reached the target", "energy to target (J)",
                         "epochs to target"};
  chart.table.numeric = {false, true, true, true, true};
  json rows = json::array();
  std::vector<Config> shown;
  for (const auto* m : with_accuracy) {
    rows.push_back({{"kind", "epoch"},
                    {"config", axis_label(data, m->config)},
                    {"epoch", m->epoch},
                    {"energy_j", m->energy_so_far_j},
                    {"accuracy", *m->accuracy}});
    if (shown.empty() || !same_config(shown.back(), m->config, data.factors))
      shown.push_back(m->config);
  }
  for (const auto& c : shown) {
    int runs = 0, reached = 0;
    for (const auto& r : data.runs)
      if (r.analysed() && same_config(r.config, c, data.factors) && !r.epochs.empty()) {
        ++runs;
        if (auto it = r.metrics.find("target_reached"); it != r.metrics.end() && it->second == 1)
          ++reached;
      }
    auto energy = summarize(data, "energy_to_target_j", c);
    auto epochs = summarize(data, "epochs_to_target", c);
    chart.table.rows.push_back({axis_label(data, c), std::to_string(runs),
                                target.empty() ? "—" : fmt::format("{} of {}", reached, runs),
                                energy && energy->n ? format_number(energy->mean) : "—",
                                epochs && epochs->n ? format_number(epochs->mean, 3) : "—"});
  }
  json x = {{"field", "energy_j"},
            {"type", "quantitative"},
            {"title", "training energy spent so far"},
            {"axis", unit_axis("J")}};
  json y = {{"field", "accuracy"},
            {"type", "quantitative"},
            {"title", "accuracy"},
            {"scale", {{"zero", false}}}};
  json color = {{"field", "config"},
                {"type", "nominal"},
                {"title", "configuration"},
                {"sort", label_sort(data, shown)}};
  json layers = json::array();
  layers.push_back({{"transform", {{{"filter", "datum.kind === 'epoch'"}}}},
                    {"mark", {{"type", "line"}, {"point", true}}},
                    {"encoding",
                     {{"x", x},
                      {"y", y},
                      {"color", color},
                      {"order", {{"field", "epoch"}, {"type", "quantitative"}}},
                      {"tooltip",
                       {{{"field", "config"}},
                        {{"field", "epoch"}},
                        {{"field", "energy_j"}, {"title", "energy so far (J)"}, {"format", ".4~g"}},
                        {{"field", "accuracy"}, {"format", ".4~f"}}}}}}});
  if (data.target_accuracy) {
    rows.push_back({{"kind", "target"}, {"accuracy", *data.target_accuracy}});
    layers.push_back({{"transform", {{{"filter", "datum.kind === 'target'"}}}},
                      {"mark", {{"type", "rule"}, {"strokeDash", {5, 4}}, {"color", "#444"}}},
                      {"encoding", {{"y", y}}}});
  }
  json spec = base_spec(chart.title, rows);
  spec["width"] = "container";
  spec["height"] = 280;
  spec["layer"] = layers;
  chart.spec = spec;
  chart.data = rows;
  return chart;
}

std::optional<Chart> carbon_chart(const ReportData& data) {
  bool stored = has_metric(data, "co2e_g");
  auto run_value = [&](const Run& r) -> std::optional<double> {
    if (stored) return metric_of(r, "co2e_g");
    auto e = metric_of(r, "energy_j");
    if (!e || data.plan_grid.g_per_kwh <= 0) return std::nullopt;
    return co2e_on(data, *e, data.plan_grid);
  };
  auto cell_of = [&](const Config& c) -> std::optional<stats::Description> {
    if (stored) return summarize(data, "co2e_g", c);
    std::vector<double> v;
    for (const auto& r : data.runs)
      if (r.analysed() && same_config(r.config, c, data.factors))
        if (auto x = run_value(r)) v.push_back(*x);
    if (v.empty()) return std::nullopt;
    return stats::describe(v);
  };
  std::string grid = data.plan_grid.label.empty() ? "the plan's grid" : data.plan_grid.label;
  auto chart =
      strip_chart(data, "carbon", "Carbon per run (" + grid + ")",
                  "gCO2e of each run on " + grid + " (" +
                      format_number(data.plan_grid.g_per_kwh, 3) + " gCO2e/kWh, PUE " +
                      format_number(data.pue, 3) + "); diamonds are means with 95 % intervals.",
                  "CO2e per run", "g", run_value, cell_of);
  if (!chart) return chart;
  chart->table.columns = {"configuration",
                          "n",
                          "gCO2e per run",
                          "95 % CI low",
                          "95 % CI high",
                          "gCO2e per epoch",
                          "gCO2e per 1 000 samples",
                          "failed runs"};
  chart->table.numeric = {false, true, true, true, true, true, true, true};
  auto configs = configurations(data);
  size_t row = 0;
  for (const auto& c : configs) {
    auto s = cell_of(c);
    if (!s || s->n == 0) {
      if (failed_runs(data, c) > 0) {
        chart->table.rows[row] = {axis_label(data, c),
                                  "0",
                                  "—",
                                  "—",
                                  "—",
                                  "—",
                                  "—",
                                  std::to_string(failed_runs(data, c))};
        ++row;
      }
      continue;
    }
    auto epochs = epochs_of(data, c);
    std::string per_epoch = epochs && *epochs > 0 ? format_number(s->mean / *epochs) : "—";
    std::string per_k =
        epochs && data.train_samples_per_epoch && *data.train_samples_per_epoch > 0
            ? format_number(s->mean / (*epochs * *data.train_samples_per_epoch / 1000.0))
            : "—";
    chart->table.rows[row] = {axis_label(data, c),
                              std::to_string(s->n),
                              format_number(s->mean),
                              format_number(s->ci95_low),
                              format_number(s->ci95_high),
                              per_epoch,
                              per_k,
                              std::to_string(failed_runs(data, c))};
    ++row;
  }
  return chart;
}

std::optional<Chart> grids_chart(const ReportData& data) {
  std::vector<Grid> grids;
  if (data.plan_grid.g_per_kwh > 0) grids.push_back(data.plan_grid);
  for (const auto& g : data.other_grids)
    if (std::none_of(grids.begin(), grids.end(), [&](const Grid& o) { return o.label == g.label; }))
      grids.push_back(g);
  if (grids.empty()) return std::nullopt;
  auto all = configurations(data);
  std::vector<Config> shown;
  if (all.size() <= 6)
    shown = all;
  else {
    shown.push_back(data.benchmark);
    auto h = headline(data);
    if (!h.best.empty() && !same_config(h.best, data.benchmark, data.factors))
      shown.push_back(h.best);
  }
  Chart chart = titled_chart(
      "grids", "The same energy on other grids",
      "Mean gCO2e per run if the same energy had been drawn from other electricity grids "
      "(same PUE).");
  chart.table.columns = {"grid", "gCO2e/kWh"};
  chart.table.numeric = {false, true};
  for (const auto& c : shown) {
    chart.table.columns.push_back(axis_label(data, c));
    chart.table.numeric.push_back(true);
  }
  json rows = json::array();
  json grid_order = json::array();
  for (const auto& g : grids) {
    std::vector<std::string> cells{g.label, format_number(g.g_per_kwh, 3)};
    grid_order.push_back(g.label);
    for (const auto& c : shown) {
      auto v = co2e_on_grid(data, c, g);
      cells.push_back(format_optional(v));
      if (v)
        rows.push_back({{"grid", g.label},
                        {"g_per_kwh", g.g_per_kwh},
                        {"config", axis_label(data, c)},
                        {"co2e_g", *v}});
    }
    chart.table.rows.push_back(cells);
  }
  if (rows.empty()) return std::nullopt;
  json spec = base_spec(chart.title, rows);
  spec["width"] = {
      {"step",
       std::clamp(640 / std::max<int>(1, static_cast<int>(grids.size() * shown.size())), 6, 40)}};
  spec["height"] = 240;
  spec["mark"] = {{"type", "bar"}};
  spec["encoding"] = {
      {"x",
       {{"field", "grid"},
        {"type", "nominal"},
        {"title", nullptr},
        {"sort", grid_order},
        {"axis", {{"labelAngle", -30}}}}},
      {"xOffset", {{"field", "config"}, {"type", "nominal"}, {"sort", label_sort(data, shown)}}},
      {"y",
       {{"field", "co2e_g"},
        {"type", "quantitative"},
        {"title", "CO2e per run"},
        {"axis", unit_axis("g")}}},
      {"color",
       {{"field", "config"},
        {"type", "nominal"},
        {"title", "configuration"},
        {"sort", label_sort(data, shown)}}},
      {"tooltip",
       {{{"field", "grid"}},
        {{"field", "g_per_kwh"}, {"title", "gCO2e/kWh"}},
        {{"field", "config"}},
        {{"field", "co2e_g"}, {"title", "gCO2e"}, {"format", ".4~g"}}}}};
  chart.spec = spec;
  chart.data = rows;
  return chart;
}

std::vector<Chart> all_charts(const ReportData& data) {
  std::vector<Chart> out;
  auto add = [&](std::optional<Chart> c) {
    if (c) out.push_back(std::move(*c));
  };
  if (has_metric(data, "train_energy_j"))
    add(metric_chart(data, "train_energy_j", "train_energy", "Training energy per run",
                     "training energy per run"));
  add(metric_chart(data, "energy_j", "energy", "Energy per run", "energy per run"));
  if (has_metric(data, "energy_to_target_j"))
    add(metric_chart(data, "energy_to_target_j", "target_energy",
                     "Training energy to reach the target accuracy",
                     "energy to the target accuracy"));
  add(metric_chart(data, "duration_s", "duration", "Duration per run", "duration"));
  add(metric_chart(data, "avg_power_w", "avg_power", "Average power per run", "average power"));
  add(components_chart(data));
  add(power_chart(data));
  add(pareto_chart(data));
  add(epochs_chart(data));
  add(target_chart(data));
  add(carbon_chart(data));
  add(grids_chart(data));
  return out;
}

}  // namespace gt::report
