// A blocking factor in the factorial ANOVA: which GPU board (or which node) ran each run. Boards
// of one model differ by a few percent in their power readings, so when an experiment is spread
// over several boards the board is a nuisance factor; blocking on it takes its variance out of
// the residual, and its own sum of squares says how much of the variance it explains.
// The model is the design's factors with their two-way interactions (as in factorial.h) plus
// the block as a main effect only (the block is assumed not to interact with the factors);
// sums of squares are Type II, so each factor term is adjusted for the block and the block for
// every factor term, as statsmodels' anova_lm(ols("y ~ (A+B+...)**2 + C(block)"), typ=2).
#pragma once
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "stats/factorial.h"

namespace gt::stats {

struct BlockedAnova {
  std::string block;                      // its name: "gpu" or "host"
  std::vector<std::string> block_levels;  // the boards (or hosts) seen, in first-seen order
  std::vector<FactorialTerm> terms;       // factor terms, then the block (last)
  double residual_df = 0, residual_ss = 0, total_ss = 0;
  double block_share = 0;  // the block's sum of squares / total sum of squares (eta squared)
  std::vector<std::string> dropped;  // terms the design cannot estimate
  std::string undefined_reason;      // set when there is no block effect to estimate or test
};

// names[f] is factor f's name, levels[i][f] observation i's level index; block[i] the label of
// the board (or host) of observation i.
BlockedAnova blocked_anova_type2(const std::vector<std::string>& names,
                                 const std::vector<std::vector<int>>& levels,
                                 const std::vector<std::string>& block,
                                 const std::string& block_name, std::span<const double> y);

// {"block", "levels", "terms": [{term, df, sum_sq, f, p, partial_eta_sq}], "residual_df",
//  "residual_ss", "total_ss", "block_share", "dropped", "undefined_reason"}; NaN as null.
nlohmann::json to_json(const BlockedAnova& a);

// A few lines per metric for the terminal or Markdown: the block's share of variance, F and p.
// `blocking` is {"by": ..., "metrics": {metric: to_json(...)}}.
std::string render_blocking(const nlohmann::json& blocking, bool markdown);

}  // namespace gt::stats
