// Blocked Type II factorial ANOVA (see blocking.h). Residual sums of squares from the pivoted
// QR of each model's design matrix (LAPACK dgeqp3 + dormqr), y centred first.
#include "stats/blocking.h"

#include <Rmath.h>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "common/error.h"
#include "stats/descriptive.h"

extern "C" {
void dgeqp3_(const int* m, const int* n, double* a, const int* lda, int* jpvt, double* tau,
             double* work, const int* lwork, int* info);
void dormqr_(const char* side, const char* trans, const int* m, const int* n, const int* k,
             const double* a, const int* lda, const double* tau, double* c, const int* ldc,
             double* work, const int* lwork, int* info, size_t side_len, size_t trans_len);
}

namespace gt::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Term {
  std::string name;
  std::vector<int> factors;  // indices of the factors it involves; the block is -1
  std::vector<std::vector<double>> columns;
};

struct Fit {
  double rss;
  int rank;
};

Fit fit(const std::vector<const std::vector<double>*>& columns, const std::vector<double>& y) {
  const int m = static_cast<int>(y.size());
  const int n = static_cast<int>(columns.size()) + 1;
  std::vector<double> a(static_cast<size_t>(m) * n, 1.0);
  for (int j = 1; j < n; ++j)
    std::copy(columns[j - 1]->begin(), columns[j - 1]->end(), a.begin() + size_t(j) * m);
  std::vector<int> jpvt(n, 0);
  std::vector<double> tau(std::min(m, n));
  int info = 0, lwork = -1;
  double query = 0;
  dgeqp3_(&m, &n, a.data(), &m, jpvt.data(), tau.data(), &query, &lwork, &info);
  lwork = std::max(1, static_cast<int>(query));
  std::vector<double> work(lwork);
  dgeqp3_(&m, &n, a.data(), &m, jpvt.data(), tau.data(), work.data(), &lwork, &info);
  if (info != 0) throw gt::Error("blocked ANOVA: LAPACK dgeqp3 failed");
  const int kmax = std::min(m, n);
  const double r11 = std::abs(a[0]);
  const double tol = 1e-9 * std::max(m, n);
  int rank = 0;
  while (rank < kmax && std::abs(a[size_t(rank) * m + rank]) > tol * r11) ++rank;
  std::vector<double> qty = y;
  const int one = 1;
  lwork = -1;
  dormqr_("L", "T", &m, &one, &kmax, a.data(), &m, tau.data(), qty.data(), &m, &query, &lwork,
          &info, 1, 1);
  lwork = std::max(1, static_cast<int>(query));
  work.assign(lwork, 0);
  dormqr_("L", "T", &m, &one, &kmax, a.data(), &m, tau.data(), qty.data(), &m, work.data(), &lwork,
          &info, 1, 1);
  if (info != 0) throw gt::Error("blocked ANOVA: LAPACK dormqr failed");
  CompensatedSum rss;
  for (int i = rank; i < m; ++i) rss.add(qty[i] * qty[i]);
  return {rss.value(), rank};
}

Fit fit_terms(const std::vector<Term>& terms, const std::vector<size_t>& use,
              const std::vector<double>& y) {
  std::vector<const std::vector<double>*> cols;
  for (size_t t : use)
    for (const auto& c : terms[t].columns) cols.push_back(&c);
  return fit(cols, y);
}

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

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

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
  std::vector<Term> terms;
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
      Term t{names[kept[a]] + ":" + names[kept[b]], {kept[a], kept[b]}, {}};
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
  std::vector<size_t> model;
  int rank = fit_terms(terms, model, y).rank;
  bool block_kept = false;
  for (size_t t = 0; t < terms.size(); ++t) {
    model.push_back(t);
    const int r = fit_terms(terms, model, y).rank;
    if (r - rank < static_cast<int>(terms[t].columns.size())) {
      model.pop_back();
      out.dropped.push_back(terms[t].name);
    } else {
      rank = r;
      block_kept |= t == block_term;
    }
  }
  if (!block_kept) {
    out.undefined_reason =
        fmt::format("the {} is confounded with the design (each {} ran other configurations)",
                    block_name, block_name);
    return out;
  }
  const double noise = 1e-12 * out.total_ss;
  auto clean = [&](double ss) { return ss <= noise ? 0.0 : ss; };
  const Fit full = fit_terms(terms, model, y);
  out.residual_ss = clean(full.rss);
  out.residual_df = static_cast<double>(n) - full.rank;
  const bool can_test = out.residual_df > 0 && out.residual_ss > 0;
  if (out.residual_df <= 0)
    out.undefined_reason = "no residual degrees of freedom";
  else if (!(out.residual_ss > 0))
    out.undefined_reason = "zero residual variance";
  const double mse = can_test ? out.residual_ss / out.residual_df : kNaN;
  for (size_t t : model) {
    // Type II: drop the term and every term containing it; the block contains no factor term.
    auto contains = [&](const Term& big, const Term& small) {
      return std::includes(big.factors.begin(), big.factors.end(), small.factors.begin(),
                           small.factors.end());
    };
    std::vector<size_t> reduced;
    for (size_t u : model)
      if (u != t && !contains(terms[u], terms[t])) reduced.push_back(u);
    std::vector<size_t> with = reduced;
    with.push_back(t);
    const Fit f0 = fit_terms(terms, reduced, y), f1 = fit_terms(terms, with, y);
    FactorialTerm row;
    row.term = terms[t].name;
    row.df = f1.rank - f0.rank;
    row.sum_sq = clean(std::max(0.0, f0.rss - f1.rss));
    row.f = can_test ? (row.sum_sq / row.df) / mse : kNaN;
    row.p = can_test ? pf(row.f, row.df, out.residual_df, 0, 0) : kNaN;
    const double denom = row.sum_sq + out.residual_ss;
    row.partial_eta_sq = denom > 0 ? row.sum_sq / denom : kNaN;
    out.terms.push_back(row);
    if (t == block_term && out.total_ss > 0) out.block_share = row.sum_sq / out.total_ss;
  }
  return out;
}

nlohmann::json to_json(const BlockedAnova& a) {
  nlohmann::json terms = nlohmann::json::array();
  for (const auto& t : a.terms)
    terms.push_back({{"term", t.term},
                     {"df", t.df},
                     {"sum_sq", t.sum_sq},
                     {"f", num(t.f)},
                     {"p", num(t.p)},
                     {"partial_eta_sq", num(t.partial_eta_sq)}});
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
