// Readable configuration labels (see labels.h).
#include "stats/labels.h"

#include <set>

namespace gt::stats {

std::string readable_level(const std::string& factor, const std::string& level) {
  if (factor == "precision") return level;
  if (factor == "batch_size") return "batch " + level;
  if (factor == "neurons") return level + " neurons";
  if (factor == "epochs") return level + (level == "1" ? " epoch" : " epochs");
  return factor + "=" + level;
}

std::string readable_label(const std::map<std::string, std::string>& config,
                           const std::vector<std::string>& factors) {
  std::string out;
  for (const auto& f : factors)
    if (auto it = config.find(f); it != config.end())
      out += (out.empty() ? "" : " \u00b7 ") + readable_level(f, it->second);
  return out.empty() ? "all runs" : out;
}

std::vector<std::string> varying_factors(
    const std::vector<std::map<std::string, std::string>>& configs,
    const std::vector<std::string>& factors) {
  std::vector<std::string> out;
  for (const auto& f : factors) {
    std::set<std::string> levels;
    for (const auto& c : configs)
      if (auto it = c.find(f); it != c.end()) levels.insert(it->second);
    if (levels.size() > 1) out.push_back(f);
  }
  return out.empty() ? factors : out;
}

}  // namespace gt::stats
