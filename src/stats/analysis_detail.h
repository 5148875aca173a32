// Internal helpers of the analysis shared by analysis.cpp, verdicts.cpp and render.cpp: the
// plain-language pieces (metric nouns, p-values, percentages) and the verdict and headline
// builders. Not part of the public interface (analysis.h).
#pragma once
#include <string>
#include <vector>

#include "stats/analysis.h"

namespace gt::stats::detail {

// "training energy" for train_energy_j, "time" for duration_s, the key itself otherwise.
std::string metric_noun(const std::string& metric);
// Accuracy-like metrics (a fraction) are spoken of in percentage points.
bool in_points(const std::string& metric);
std::string p_text(double p);        // "< 0.001" or "= 0.012"
std::string signed_pct(double pct);  // "+1.2" / "-3.4"
// The two sides of a comparison named by the factors that differ: {"bf16", "fp32"}, or
// {"precision=bf16, batch_size=64", "precision=fp32, batch_size=32"}.
std::pair<std::string, std::string> sides(const Analysis& a, const Levels& config);

std::vector<Verdict> verdicts(const Analysis& a, const AnalysisOptions& options);
Headline headline(const Analysis& a, const AnalysisOptions& options);

}  // namespace gt::stats::detail
