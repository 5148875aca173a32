// Blocked Type II factorial ANOVA (see blocking.h): builds the factor and block terms and centres
// the response; the QR fits and the Type II table are type2_qr.h's, shared with factorial.cpp.
#include "stats/blocking.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "common/error.h"
#include "stats/descriptive.h"
#include "stats/missing.h"
#include "stats/type2_qr.h"

namespace gt::stats {
namespace {

using detail::ModelTerm;
constexpr const char* kBlockedWhat = "blocked ANOVA";

// Treatment-coded columns of a categorical variable (reference = its first level).
std::vector<std::vector<double>> dummies(const std::vector<int>& codes) {
  std::set<int> seen(codes.begin(), codes.end());
  std::vector<int> lv(seen.begin(), seen.end());
  std::vector<std::vector<double>> out;
  for (size_t l = 1; l < lv.size(); ++l) {
    std::vector<double> c(codes.size());
    for (size_t i = 0; i < codes.size(); ++i) c[i] = codes[i] == lv[l] ? 1.0 : 0.0;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

BlockedAnova blocked_anova_type2(const std::vector<std::string>& names,
                                 const std::vector<std::vector<int>>& levels,
                                 const std::vector<std::string>& block,
                                 const std::string& block_name, std::span<const double> y_in) {
  BlockedAnova out;
  out.block = block_name;
  const size_t n = y_in.size();
  if (levels.size() != n || block.size() != n)
    throw gt::Error("blocked ANOVA: levels, blocks and values differ in length");
  std::map<std::string, int> block_code;
  std::vector<int> bcodes(n);
  for (size_t i = 0; i < n; ++i) {
    auto [it, added] = block_code.try_emplace(block[i], static_cast<int>(block_code.size()));
    if (added) out.block_levels.push_back(block[i]);
    bcodes[i] = it->second;
  }

  // Factor terms as in the factorial ANOVA (factors with two or more levels, their two-way
  // interactions), then the block.
  std::vector<ModelTerm> terms;
  std::vector<std::vector<std::vector<double>>> main_cols;
  std::vector<int> kept;
  for (size_t f = 0; f < names.size(); ++f) {
    std::vector<int> codes(n);
    for (size_t i = 0; i < n; ++i) codes[i] = levels[i][f];
    auto cols = dummies(codes);
    if (cols.empty()) continue;
    kept.push_back(static_cast<int>(f));
    main_cols.push_back(cols);
    terms.push_back({names[f], {static_cast<int>(f)}, cols});
  }
  for (size_t a = 0; a < kept.size(); ++a)
    for (size_t b = a + 1; b < kept.size(); ++b) {
      ModelTerm t{names[kept[a]] + ":" + names[kept[b]], {kept[a], kept[b]}, {}};
      for (const auto& ca : main_cols[a])
        for (const auto& cb : main_cols[b]) {
          std::vector<double> c(n);
          for (size_t i = 0; i < n; ++i) c[i] = ca[i] * cb[i];
          t.columns.push_back(std::move(c));
        }
      terms.push_back(std::move(t));
    }
  const size_t block_term = terms.size();
  terms.push_back({block_name, {-1}, dummies(bcodes)});

  const double ybar = mean(y_in);
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = y_in[i] - ybar;
  CompensatedSum sst;
  for (double v : y) sst.add(v * v);
  out.total_ss = sst.value();

  if (out.block_levels.size() < 2) {
    out.undefined_reason = fmt::format("every run used the same {}", block_name);
    return out;
  }
  // Estimability: a term must raise the rank by its column count, else it is dropped.
  const std::vector<size_t> model = detail::estimable_terms(terms, y, kBlockedWhat, out.dropped);
  const auto block_at = std::find(model.begin(), model.end(), block_term);
  if (block_at == model.end()) {
    out.undefined_reason =
        fmt::format("the {} is confounded with the design (each {} ran other configurations)",
                    block_name, block_name);
    return out;
  }
  // The block contains no factor term, so Type II tests it against every factor term.
  detail::Type2Table table = detail::type2_table(terms, model, y, 1e-12 * out.total_ss,
                                                 kBlockedWhat, "no residual degrees of freedom");
  out.residual_ss = table.residual_ss;
  out.residual_df = table.residual_df;
  if (!table.undefined_reason.empty()) out.undefined_reason = table.undefined_reason;
  out.terms = std::move(table.rows);
  if (out.total_ss > 0)
    out.block_share =
        out.terms[static_cast<size_t>(block_at - model.begin())].sum_sq / out.total_ss;
  return out;
}

nlohmann::json to_json(const BlockedAnova& a) {
  nlohmann::json terms = nlohmann::json::array();
  for (const auto& t : a.terms)
    terms.push_back({{"term", t.term},
                     {"df", t.df},
                     {"sum_sq", t.sum_sq},
                     {"f", finite_or_null(t.f)},
                     {"p", finite_or_null(t.p)},
                     {"partial_eta_sq", finite_or_null(t.partial_eta_sq)}});
  return {
      {"block", a.block},
      {"levels", a.block_levels},
      {"terms", terms},
      {"residual_df", a.residual_df},
      {"residual_ss", a.residual_ss},
      {"total_ss", a.total_ss},
      {"block_share", a.undefined_reason.empty() || !a.terms.empty() ? nlohmann::json(a.block_share)
                                                                     : nlohmann::json()},
      {"dropped", a.dropped},
      {"undefined_reason", a.undefined_reason}};
}

std::string render_blocking(const nlohmann::json& b, bool markdown) {
  const std::string by = b.value("by", "");
  std::string out = markdown ? fmt::format("\n## Blocking on the {}\n\n", by)
                             : fmt::format("\nBlocking on the {}:\n", by);
  for (const auto& [metric, a] : b["metrics"].items()) {
    const auto levels = a["levels"].size();
    std::string line;
    if (!a["undefined_reason"].get<std::string>().empty() && a["terms"].empty()) {
      line = fmt::format("{}: no {} effect estimated ({})", metric, by,
                         a["undefined_reason"].get<std::string>());
    } else {
      const auto& t = a["terms"].back();
      line = fmt::format("{}: the {} ({} levels) explains {:.2f} % of the variance", metric, by,
                         levels, 100.0 * a["block_share"].get<double>());
      if (!t["f"].is_null())
        line +=
            fmt::format(" (F({:g}, {:g}) = {:.3g}, p = {:.3g})", t["df"].get<double>(),
                        a["residual_df"].get<double>(), t["f"].get<double>(), t["p"].get<double>());
    }
    out += (markdown ? "- " : "  ") + line + "\n";
  }
  return out;
}

}  // namespace gt::stats
