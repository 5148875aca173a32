// The HTML page (see writers.h). Layout: a header with the headline, then nine sections. Each
// chart is a <figure> with the chart at the card's full width, its table below it and download
// links for its Vega-Lite spec and data; the specs travel in one application/json script element
// and a short script renders them with vega-embed (SVG renderer, no editor link: nothing leaves the
// page). The page sets data-charts="done" on <html> once every chart has settled, with
// data-charts-failed counting failures, which the end-to-end test waits for.
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "report/assets.h"
#include "report/charts.h"
#include "report/format.h"
#include "report/model.h"
#include "report/sections.h"
#include "report/writers.h"

namespace gt::report {
namespace {

const char* kStyle = R"css(
:root{--fg:#1d2125;--muted:#5b6570;--line:#d9dee3;--accent:#1a7f4b;--bg:#fff;--panel:#f6f8f9}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0}
main{max-width:1280px;margin:0 auto;padding:1.5rem 2rem 4rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.3rem;margin-top:2.5rem;border-bottom:1px solid var(--line);padding-bottom:.3rem}
h3{font-size:1.05rem;margin:.2rem 0}
.sub{color:var(--muted);margin:0}
nav ol{columns:2;margin:.6rem 0;padding-left:1.2rem}
.headline{background:var(--panel);border-left:5px solid var(--accent);padding:1rem 1.3rem;margin:1.2rem 0;border-radius:4px}
.headline .big{font-size:1.35rem;font-weight:600}
.headline ul{margin:.4rem 0;padding-left:1.2rem}
.headline[data-kind=inconclusive]{border-left-color:#b26b00}.headline[data-kind=unavailable]{border-left-color:#8a939c}
figure.chart{margin:1.4rem 0;padding:1rem;border:1px solid var(--line);border-radius:6px}
figcaption p{color:var(--muted);margin:.2rem 0 .6rem}
.chart-row{display:block}
.vis{width:100%;min-width:0}
.vis svg{max-width:100%;height:auto}
.table-wrap{overflow-x:auto;margin-top:.6rem}
table{border-collapse:collapse;font-size:.85rem;margin:.3rem 0 1rem}
th,td{border-bottom:1px solid var(--line);padding:.25rem .55rem;text-align:left;vertical-align:top}
.kv td{overflow-wrap:anywhere}
th{background:var(--panel)}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;overflow-wrap:normal}
.downloads{font-size:.85rem;margin:.4rem 0 0}
.downloads a{margin-right:.8rem}
.note{color:var(--muted);font-style:italic}
pre.plan{background:var(--panel);padding:.8rem;font-size:.82rem;white-space:pre-wrap;overflow-wrap:anywhere}
.nojs-note,.chart-error{color:#8a4b00}
[hidden]{display:none!important}
@media (max-width:700px){main{padding:1rem .6rem 3rem}nav ol{columns:1}
figure.chart{padding:.5rem;margin:1rem 0}.headline{padding:.7rem .8rem}.headline .big{font-size:1.1rem}
table{font-size:.78rem}th,td{padding:.2rem .35rem}h2{font-size:1.15rem}}
@media print{.downloads,nav{display:none}}
)css";

// Everything a page script needs, in one small function; it only touches this page.
const char* kDriver = R"js(
(function () {
  var root = document.documentElement;
  var charts = JSON.parse(document.getElementById('gt-charts').textContent);
  var failed = 0;
  function settle() { root.setAttribute('data-charts-failed', String(failed)); root.setAttribute('data-charts', 'done'); }
  function save(name, type, text) {
    var url = URL.createObjectURL(new Blob([text], {type: type}));
    var a = document.createElement('a');
    a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }
  charts.forEach(function (c) {
    var links = document.getElementById('dl-' + c.id);
    if (!links) return;
    links.hidden = false;
    links.querySelector('[data-kind=spec]').addEventListener('click', function (e) {
      e.preventDefault(); save('greentrain-' + c.id + '.vl.json', 'application/json', JSON.stringify(c.spec, null, 2)); });
    links.querySelector('[data-kind=csv]').addEventListener('click', function (e) {
      e.preventDefault(); save('greentrain-' + c.id + '.csv', 'text/csv', c.csv); });
    links.querySelector('[data-kind=json]').addEventListener('click', function (e) {
      e.preventDefault(); save('greentrain-' + c.id + '.json', 'application/json', JSON.stringify(c.spec.data.values, null, 2)); });
  });
  if (typeof vegaEmbed !== 'function') {
    charts.forEach(function (c) {
      var el = document.getElementById('chart-' + c.id);
      if (el) el.innerHTML = '<p class="note">Charts are unavailable in this build (vega libraries were not embedded); the table below has the numbers.</p>';
    });
    settle();
    return;
  }
  var options = {renderer: 'svg', actions: {export: true, source: true, compiled: false, editor: false}};
  // On a narrow card (a phone): no title inside the chart (the caption above says it), legends
  // under the chart, axis labels hanging straight down (a slanted label reaches past the left
  // edge), facets in one column at the card's width, bars as narrow as the card needs.
  // Whatever is still wider is scaled to fit (CSS on the SVG).
  function fit(spec, width) {
    if (width >= 700) return spec;
    var s = JSON.parse(JSON.stringify(spec));
    delete s.title;  // the figure's caption has it; a long title would run past the card
    s.config = s.config || {};
    s.config.legend = Object.assign({}, s.config.legend, {orient: 'bottom', columns: 1});
    var enc = s.encoding || {};
    if (enc.x && enc.x.axis && enc.x.axis.labelAngle) enc.x.axis.labelAngle = -90;
    if (enc.facet) { enc.facet.columns = 1; s.width = Math.max(120, width - 90); }
    if (s.width && s.width.step && enc.x && Array.isArray(enc.x.sort)) {
      var offsets = enc.xOffset && Array.isArray(enc.xOffset.sort) ? enc.xOffset.sort.length : 1;
      s.width = {step: Math.max(4, Math.floor((width - 110) / (enc.x.sort.length * offsets)))};
    }
    return s;
  }
  Promise.all(charts.map(function (c) {
    var el = document.getElementById('chart-' + c.id);
    return vegaEmbed(el, fit(c.spec, el.clientWidth), options).then(function (result) {
      el.setAttribute('data-rendered', 'yes');
      return result;
    }).catch(function (err) {
      failed += 1;
      el.setAttribute('data-rendered', 'failed');
      el.insertAdjacentHTML('beforeend', '<p class="chart-error">This chart could not be drawn: ' +
        String(err && err.message || err).replace(/[<&]/g, '') + '. The table below has its numbers.</p>');
      console.error('greentrain chart ' + c.id + ': ' + err);
    });
  })).then(settle, settle);
})();
)js";

std::string render_table(const Table& t) {
  // A two-column table (setting, value) may break long values anywhere: they are not words.
  std::string out =
      t.columns.size() == 2 ? "<table class=\"kv\"><thead><tr>" : "<table><thead><tr>";
  for (const auto& c : t.columns) out += "<th scope=\"col\">" + html_escape(c) + "</th>";
  out += "</tr></thead><tbody>";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (size_t i = 0; i < row.size(); ++i) {
      bool numeric = i < t.numeric.size() && t.numeric[i];
      out += (numeric ? "<td class=\"n\">" : "<td>") + html_escape(row[i]) + "</td>";
    }
    out += "</tr>";
  }
  return out + "</tbody></table>";
}

std::string render_named(const NamedTable& t) {
  std::string body =
      (t.note.empty() ? "" : "<p class=\"note\">" + html_escape(t.note) + "</p>") +
      (t.table.rows.empty() ? ""
                            : "<div class=\"table-wrap wide\">" + render_table(t.table) + "</div>");
  if (t.collapsed)
    return "<details><summary><strong>" + html_escape(t.title) + "</strong> (" +
           std::to_string(t.table.rows.size()) + (t.table.rows.size() == 1 ? " row" : " rows") +
           ")</summary>" + body + "</details>";
  return "<h3>" + html_escape(t.title) + "</h3>" + body;
}

std::string render_figure(const Chart& c) {
  return fmt::format(
      "<figure class=\"chart\" id=\"fig-{0}\"><figcaption><h3>{1}</h3><p>{2}</p></figcaption>"
      "<div class=\"chart-row\"><div class=\"vis\" id=\"chart-{0}\" role=\"img\" aria-label=\"{1} "
      "(the table below "
      "has the same numbers)\"><noscript><p class=\"nojs-note\">Charts need JavaScript; the table "
      "has the "
      "numbers.</p></noscript></div><div class=\"table-wrap\">{3}</div></div>"
      "<p class=\"downloads\" id=\"dl-{0}\" hidden>Download: <a href=\"#\" "
      "data-kind=\"spec\">Vega-Lite spec</a>"
      "<a href=\"#\" data-kind=\"csv\">data (CSV)</a><a href=\"#\" data-kind=\"json\">data "
      "(JSON)</a></p></figure>\n",
      c.id, html_escape(c.title), html_escape(c.description), render_table(c.table));
}

const Chart* find(const std::vector<Chart>& charts, const std::string& id) {
  for (const auto& c : charts)
    if (c.id == id) return &c;
  return nullptr;
}

std::string script_safe(std::string_view js) {
  std::string out(js);
  for (size_t pos = 0; (pos = out.find("</script", pos)) != std::string::npos; pos += 2)
    out.replace(pos, 2, "<\\/");
  return out;
}

std::string headline_html(const ReportData& data) {
  HeadlineView h = headline(data);
  std::string out =
      "<section class=\"headline\" id=\"headline\" aria-label=\"Headline\" data-kind=\"" +
      html_escape(h.kind) + "\">";
  out += "<p class=\"big\">" + html_escape(h.title) + ".</p>";
  if (h.saving_kwh && h.saving_co2e_g)
    out += "<p>" + html_escape(saving_sentence(data, h)) + "</p>";
  if (!h.available)
    if (auto e = summarize(data, "energy_j", data.benchmark); e && e->n > 0)
      out += "<p>" + html_escape(config_label(data, data.benchmark)) + ": " +
             html_escape(format_energy(e->mean)) + " per run on average over " +
             std::to_string(e->n) + " runs.</p>";
  if (!h.details.empty()) {
    out += "<ul class=\"evidence\">";
    for (const auto& d : h.details) out += "<li>" + html_escape(d) + "</li>";
    out += "</ul>";
  }
  return out + "</section>";
}

}  // namespace

std::string render_html(const ReportData& data, const HtmlOptions& options) {
  auto charts = all_charts(data);
  std::string title = "greentrain report: " +
                      (data.experiment.empty() ? std::string("experiment") : data.experiment);
  std::string out;
  out.reserve(1 << 20);
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\" data-charts=\"pending\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src "
      "'unsafe-inline' "
      "'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:\">"
      "<title>" +
      html_escape(title) + "</title><style>" + kStyle + "</style></head>\n<body><main>\n";
  out += "<header><h1>" + html_escape(title) + "</h1><p class=\"sub\">greentrain " +
         html_escape(data.greentrain_version) +
         (data.generated_at.empty() ? "" : " · generated " + html_escape(data.generated_at)) +
         "</p></header>\n";
  out +=
      "<nav aria-label=\"Contents\"><ol><li><a href=\"#headline\">Headline</a></li><li><a "
      "href=\"#per-config\">Energy "
      "per configuration</a></li><li><a href=\"#components\">Energy by component</a></li><li><a "
      "href=\"#power-time\">Power over time</a></li><li><a href=\"#accuracy\">Accuracy versus "
      "energy</a></li><li><a href=\"#epochs\">Per epoch</a></li><li><a "
      "href=\"#carbon\">Carbon</a></li><li><a href=\"#statistics\">Statistics</a></li><li><a "
      "href=\"#method\">Method</a></li></ol></nav>\n";
  out += headline_html(data);

  auto section = [&](const std::string& id, const std::string& heading,
                     std::initializer_list<const char*> ids, const std::string& missing) {
    out += "<section id=\"" + id + "\"><h2>" + html_escape(heading) + "</h2>\n";
    bool any = false;
    for (const char* cid : ids)
      if (const Chart* c = find(charts, cid)) {
        out += render_figure(*c);
        any = true;
      }
    if (!any) out += "<p class=\"note\">" + html_escape(missing) + "</p>\n";
  };
  section("per-config", "2. Energy per configuration",
          {"train_energy", "energy", "target_energy", "duration", "avg_power"},
          "No successful run recorded energy, duration or power.");
  out += "</section>\n";
  section("components", "3. Energy by component", {"components"},
          "No per-component energy was recorded.");
  out += "</section>\n";
  section(
      "power-time", "4. Power over time", {"power"},
      "No power samples were stored for these runs (store_samples = false, or no meter sampled).");
  out += "</section>\n";
  section(
      "accuracy", "5. Accuracy versus energy", {"pareto"},
      "The runs carry no test_accuracy metric, so there is no accuracy–energy trade-off to show.");
  out += "</section>\n";
  section("epochs", "6. Per epoch", {"epochs", "to_target"},
          "The runs marked no `epoch` windows (the built-in trainer marks them; a script can "
          "with `greentrain mark epoch begin|end`), so there is nothing per epoch to show.");
  out += "</section>\n";
  section("carbon", "7. Carbon", {"carbon", "grids"}, "No energy to convert to carbon.");
  if (!data.carbon_attribution.empty())
    out += "<p class=\"note\">" + html_escape(data.carbon_attribution) + "</p>\n";
  out += "</section>\n";

  out += "<section id=\"statistics\"><h2>8. Statistics</h2>\n";
  if (!data.analysis_note.empty())
    out += "<p class=\"note\">" + html_escape(data.analysis_note) + "</p>\n";
  auto stats = statistics_tables(data);
  if (stats.empty() && data.analysis_note.empty())
    out += "<p class=\"note\">No analysis is available for this experiment.</p>\n";
  if (data.analysis && !data.analysis->verdicts.empty()) {
    out += "<h3>Verdicts</h3><ul class=\"verdicts\">";
    for (const auto& v : data.analysis->verdicts) {
      out +=
          "<li><strong>" + html_escape(data.analysis->comparison_label(v.config)) + "</strong><ul>";
      for (const auto& line : v.lines) out += "<li>" + html_escape(line) + "</li>";
      out += "</ul></li>";
    }
    out += "</ul>\n";
  }
  if (data.analysis && !data.analysis->notes.empty()) {
    out += "<details><summary>Notes from the analysis (" +
           std::to_string(data.analysis->notes.size()) + ")</summary><ul>";
    for (const auto& n : data.analysis->notes) out += "<li>" + html_escape(n) + "</li>";
    out += "</ul></details>\n";
  }
  for (const auto& t : stats) out += render_named(t) + "\n";
  out += "</section>\n";

  out += "<section id=\"method\"><h2>9. Method</h2>\n";
  for (const auto& t : method_tables(data)) out += render_named(t) + "\n";
  out += "<h3>Plan</h3>";
  out += data.plan_text.empty() ? "<p class=\"note\">The plan text was not recorded.</p>"
                                : "<pre class=\"plan\">" + html_escape(data.plan_text) + "</pre>";
  std::string versions(asset_versions());
  out += "<p class=\"note\">Written by greentrain " + html_escape(data.greentrain_version) +
         (versions.empty() ? "" : "; charts drawn by " + html_escape(versions)) +
         ". The page is self-contained: it makes no network request.</p>\n</section>\n";

  // Scripts last: the tables above are the whole page when scripts are off.
  nlohmann::json payload = nlohmann::json::array();
  for (const auto& c : charts)
    payload.push_back({{"id", c.id}, {"spec", c.spec}, {"csv", to_csv(c.data)}});
  if (options.inline_libraries && !asset_vega().empty()) {
    out += "<script>" + script_safe(asset_vega()) + "</script>\n";
    out += "<script>" + script_safe(asset_vega_lite()) + "</script>\n";
    out += "<script>" + script_safe(asset_vega_embed()) + "</script>\n";
  }
  out += "<script type=\"application/json\" id=\"gt-charts\">" + json_for_script(payload.dump()) +
         "</script>\n";
  out += std::string("<script>") + kDriver + "</script>\n";
  out += "</main></body></html>\n";
  return out;
}

void write_file(const std::string& path, const std::string& content) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path tmp = target;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) throw gt::Error("cannot write " + path + ": " + std::strerror(errno));
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!f) throw gt::Error("cannot write " + path + ": disk full or I/O error");
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw gt::Error("cannot write " + path + ": " + ec.message());
  }
}

}  // namespace gt::report
