// Type II factorial ANOVA (see factorial.h). Residual sums of squares come from the pivoted QR
// of the design: RSS = |trailing part of Q'y|^2, which stays accurate when the response is
// large and the effects small (y is centred first; the intercept absorbs the shift).
#include "stats/factorial.h"

#include <Rmath.h>

#include <algorithm>
#include <cmath>
#include <limits>
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
  std::vector<int> factors;                  // indices into the kept factors
  std::vector<std::vector<double>> columns;  // treatment-coded columns
};

struct Fit {
  double rss;
  int rank;
};

// Least-squares fit of y on [1, columns...] by pivoted QR.
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
  if (info != 0) throw gt::Error("factorial ANOVA: LAPACK dgeqp3 failed");
  const int kmax = std::min(m, n);
  const double r11 = std::abs(a[0]);
  int rank = 0;
  const double tol = 1e-9 * std::max(m, n);
  for (int i = 0; i < kmax; ++i)
    if (std::abs(a[size_t(i) * m + i]) > tol * r11)
      ++rank;
    else
      break;
  std::vector<double> qty = y;
  const int one = 1;
  lwork = -1;
  dormqr_("L", "T", &m, &one, &kmax, a.data(), &m, tau.data(), qty.data(), &m, &query, &lwork,
          &info, 1, 1);
  lwork = std::max(1, static_cast<int>(query));
  work.assign(lwork, 0);
  dormqr_("L", "T", &m, &one, &kmax, a.data(), &m, tau.data(), qty.data(), &m, work.data(), &lwork,
          &info, 1, 1);
  if (info != 0) throw gt::Error("factorial ANOVA: LAPACK dormqr failed");
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

}  // namespace

FactorialAnova factorial_anova_type2(const std::vector<std::string>& names,
                                     const std::vector<std::vector<int>>& levels,
                                     std::span<const double> y_in) {
  FactorialAnova out;
  const size_t n = y_in.size();
  // Keep factors with at least two observed levels.
  std::vector<int> kept;
  std::vector<int> n_levels;
  for (size_t f = 0; f < names.size(); ++f) {
    std::set<int> seen;
    for (const auto& row : levels) seen.insert(row[f]);
    if (seen.size() >= 2) {
      kept.push_back(static_cast<int>(f));
      n_levels.push_back(*seen.rbegin() + 1);
    } else {
      out.constant.push_back(names[f]);
    }
  }
  if (kept.empty()) {
    out.undefined_reason = "no factor has two or more levels";
    return out;
  }
  // Treatment-coded columns: one per non-reference level (reference = lowest observed index).
  std::vector<Term> terms;
  std::vector<std::vector<std::vector<double>>> dummies(kept.size());
  for (size_t k = 0; k < kept.size(); ++k) {
    const int f = kept[k];
    std::set<int> seen;
    for (const auto& row : levels) seen.insert(row[f]);
    std::vector<int> lv(seen.begin(), seen.end());
    Term t{names[f], {static_cast<int>(k)}, {}};
    for (size_t l = 1; l < lv.size(); ++l) {
      std::vector<double> c(n);
      for (size_t i = 0; i < n; ++i) c[i] = levels[i][f] == lv[l] ? 1.0 : 0.0;
      t.columns.push_back(std::move(c));
    }
    dummies[k] = t.columns;
    terms.push_back(std::move(t));
  }
  for (size_t a = 0; a < kept.size(); ++a)
    for (size_t b = a + 1; b < kept.size(); ++b) {
      Term t{names[kept[a]] + ":" + names[kept[b]], {static_cast<int>(a), static_cast<int>(b)}, {}};
      for (const auto& ca : dummies[a])
        for (const auto& cb : dummies[b]) {
          std::vector<double> c(n);
          for (size_t i = 0; i < n; ++i) c[i] = ca[i] * cb[i];
          t.columns.push_back(std::move(c));
        }
      terms.push_back(std::move(t));
    }
  // Centre the response; the intercept absorbs it.
  const double ybar = mean(y_in);
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = y_in[i] - ybar;

  // Estimability: add terms in order; a term must raise the rank by its column count.
  std::vector<size_t> model;
  int rank = fit_terms(terms, model, y).rank;
  for (size_t t = 0; t < terms.size(); ++t) {
    model.push_back(t);
    const int r = fit_terms(terms, model, y).rank;
    if (r - rank < static_cast<int>(terms[t].columns.size())) {
      model.pop_back();
      out.dropped.push_back(terms[t].name);
    } else {
      rank = r;
    }
  }
  // Sums of squares below 1e-12 of the total are rounding noise and count as exact zeros.
  CompensatedSum sst;
  for (double v : y) sst.add(v * v);
  const double noise = 1e-12 * sst.value();
  auto clean = [&](double ss) { return ss <= noise ? 0.0 : ss; };
  const Fit full = fit_terms(terms, model, y);
  out.residual_ss = clean(full.rss);
  out.residual_df = static_cast<double>(n) - full.rank;
  const bool can_test = out.residual_df > 0 && out.residual_ss > 0;
  if (out.residual_df <= 0)
    out.undefined_reason = "no residual degrees of freedom (one run per cell)";
  else if (!(out.residual_ss > 0))
    out.undefined_reason = "zero residual variance";
  const double mse = can_test ? out.residual_ss / out.residual_df : kNaN;

  for (size_t t : model) {
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
  }
  return out;
}

}  // namespace gt::stats
