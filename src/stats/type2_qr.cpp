// Type II ANOVA machinery (see type2_qr.h). Residual sums of squares come from the pivoted QR
// of the design: RSS = |trailing part of Q'y|^2, which stays accurate when the response is
// large and the effects small (callers centre y first; the intercept absorbs the shift).
#include "stats/type2_qr.h"

#include <Rmath.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "stats/descriptive.h"
#include "stats/missing.h"

extern "C" {
void dgeqp3_(const int* m, const int* n, double* a, const int* lda, int* jpvt, double* tau,
             double* work, const int* lwork, int* info);
void dormqr_(const char* side, const char* trans, const int* m, const int* n, const int* k,
             const double* a, const int* lda, const double* tau, double* c, const int* ldc,
             double* work, const int* lwork, int* info, size_t side_len, size_t trans_len);
}

namespace gt::stats::detail {
namespace {

QrFit fit(const std::vector<const std::vector<double>*>& columns, const std::vector<double>& y,
          const std::string& what) {
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
  if (info != 0) throw gt::Error(what + ": LAPACK dgeqp3 failed");
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
  if (info != 0) throw gt::Error(what + ": LAPACK dormqr failed");
  CompensatedSum rss;
  for (int i = rank; i < m; ++i) rss.add(qty[i] * qty[i]);
  return {rss.value(), rank};
}

}  // namespace

QrFit fit_terms(const std::vector<ModelTerm>& terms, const std::vector<size_t>& use,
                const std::vector<double>& y, const std::string& what) {
  std::vector<const std::vector<double>*> cols;
  for (size_t t : use)
    for (const auto& c : terms[t].columns) cols.push_back(&c);
  return fit(cols, y, what);
}

std::vector<size_t> estimable_terms(const std::vector<ModelTerm>& terms,
                                    const std::vector<double>& y, const std::string& what,
                                    std::vector<std::string>& dropped) {
  std::vector<size_t> model;
  int rank = fit_terms(terms, model, y, what).rank;
  for (size_t t = 0; t < terms.size(); ++t) {
    model.push_back(t);
    const int r = fit_terms(terms, model, y, what).rank;
    if (r - rank < static_cast<int>(terms[t].columns.size())) {
      model.pop_back();
      dropped.push_back(terms[t].name);
    } else {
      rank = r;
    }
  }
  return model;
}

Type2Table type2_table(const std::vector<ModelTerm>& terms, const std::vector<size_t>& model,
                       const std::vector<double>& y, double noise, const std::string& what,
                       const std::string& no_residual_df) {
  Type2Table out;
  auto clean = [&](double ss) { return ss <= noise ? 0.0 : ss; };
  const QrFit full = fit_terms(terms, model, y, what);
  out.residual_ss = clean(full.rss);
  out.residual_df = static_cast<double>(y.size()) - full.rank;
  const bool can_test = out.residual_df > 0 && out.residual_ss > 0;
  if (out.residual_df <= 0)
    out.undefined_reason = no_residual_df;
  else if (!(out.residual_ss > 0))
    out.undefined_reason = "zero residual variance";
  const double mse = can_test ? out.residual_ss / out.residual_df : kNaN;
  auto contains = [&](const ModelTerm& big, const ModelTerm& small) {
    return std::includes(big.factors.begin(), big.factors.end(), small.factors.begin(),
                         small.factors.end());
  };
  for (size_t t : model) {
    std::vector<size_t> reduced;
    for (size_t u : model)
      if (u != t && !contains(terms[u], terms[t])) reduced.push_back(u);
    std::vector<size_t> with = reduced;
    with.push_back(t);
    const QrFit f0 = fit_terms(terms, reduced, y, what), f1 = fit_terms(terms, with, y, what);
    FactorialTerm row;
    row.term = terms[t].name;
    row.df = f1.rank - f0.rank;
    row.sum_sq = clean(std::max(0.0, f0.rss - f1.rss));
    row.f = can_test ? (row.sum_sq / row.df) / mse : kNaN;
    row.p = can_test ? pf(row.f, row.df, out.residual_df, 0, 0) : kNaN;
    const double denom = row.sum_sq + out.residual_ss;
    row.partial_eta_sq = denom > 0 ? row.sum_sq / denom : kNaN;
    out.rows.push_back(row);
  }
  return out;
}

}  // namespace gt::stats::detail
