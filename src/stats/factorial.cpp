// Type II factorial ANOVA (see factorial.h): builds the treatment-coded terms and centres the
// response; the QR fits and the Type II table are type2_qr.h's, shared with the blocked ANOVA.
#include "stats/factorial.h"

#include <set>
#include <utility>

#include "stats/descriptive.h"
#include "stats/type2_qr.h"

namespace gt::stats {
namespace {
using detail::ModelTerm;
constexpr const char* kFactorialWhat = "factorial ANOVA";
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
  std::vector<ModelTerm> terms;
  std::vector<std::vector<std::vector<double>>> dummies(kept.size());
  for (size_t k = 0; k < kept.size(); ++k) {
    const int f = kept[k];
    std::set<int> seen;
    for (const auto& row : levels) seen.insert(row[f]);
    std::vector<int> lv(seen.begin(), seen.end());
    ModelTerm t{names[f], {static_cast<int>(k)}, {}};
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
      ModelTerm t{
          names[kept[a]] + ":" + names[kept[b]], {static_cast<int>(a), static_cast<int>(b)}, {}};
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
  const std::vector<size_t> model = detail::estimable_terms(terms, y, kFactorialWhat, out.dropped);
  // Sums of squares below 1e-12 of the total are rounding noise and count as exact zeros.
  CompensatedSum sst;
  for (double v : y) sst.add(v * v);
  detail::Type2Table table =
      detail::type2_table(terms, model, y, 1e-12 * sst.value(), kFactorialWhat,
                          "no residual degrees of freedom (one run per cell)");
  out.residual_ss = table.residual_ss;
  out.residual_df = table.residual_df;
  if (!table.undefined_reason.empty()) out.undefined_reason = table.undefined_reason;
  out.terms = std::move(table.rows);
  return out;
}

}  // namespace gt::stats
