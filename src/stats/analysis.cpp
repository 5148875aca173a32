// Analysis of a runs table (see analysis.h) — work in progress.
#include "stats/analysis.h"

#include "common/error.h"

namespace gt::stats {

std::map<std::string, std::string> parse_baseline(const std::string&) { return {}; }
EquivalenceSpec parse_equivalence(const std::string& text) { return {text, 0}; }
nlohmann::json analyze(const RunsTable&, const AnalysisOptions&) {
  throw gt::Error("analyze: not implemented yet");
}
std::string render_text(const nlohmann::json& a) { return a.dump(2); }
std::string render_markdown(const nlohmann::json& a) { return a.dump(2); }

}  // namespace gt::stats
