// Internal machinery shared by the factorial and the blocked Type II ANOVA: least-squares fits
// of model terms by LAPACK's pivoted QR, the estimability screen, and the Type II table. Not
// part of the public interface (factorial.h, blocking.h).
#pragma once
#include <string>
#include <vector>

#include "stats/factorial.h"

namespace gt::stats::detail {

struct ModelTerm {
  std::string name;
  std::vector<int> factors;                  // sorted ids of the factors it involves
  std::vector<std::vector<double>> columns;  // its treatment-coded columns
};

struct QrFit {
  double rss;
  int rank;
};

// Least-squares fit of y on [1, columns of the terms in `use`...] by pivoted QR; `what` names
// the analysis in LAPACK failure messages ("factorial ANOVA").
QrFit fit_terms(const std::vector<ModelTerm>& terms, const std::vector<size_t>& use,
                const std::vector<double>& y, const std::string& what);

// Adds the terms in order; a term must raise the rank by its column count, else it is named in
// `dropped` and left out. Returns the indices of the kept terms.
std::vector<size_t> estimable_terms(const std::vector<ModelTerm>& terms,
                                    const std::vector<double>& y, const std::string& what,
                                    std::vector<std::string>& dropped);

struct Type2Table {
  std::vector<FactorialTerm> rows;  // one per model term, in model order
  double residual_df = 0, residual_ss = 0;
  std::string undefined_reason;  // set when no F test is possible
};

// Type II sums of squares of the model's terms (each term against every term that does not
// contain it). Sums of squares at or below `noise` count as exact zeros; `no_residual_df` is the
// reason given when the full model leaves no residual degrees of freedom.
Type2Table type2_table(const std::vector<ModelTerm>& terms, const std::vector<size_t>& model,
                       const std::vector<double>& y, double noise, const std::string& what,
                       const std::string& no_residual_df);

}  // namespace gt::stats::detail
