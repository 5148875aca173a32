// Readable configuration labels, the one scheme the terminal, Markdown, the HTML report and the
// analysis JSON share: a precision as itself ("bf16"), a batch size as "batch 256", hidden sizes
// as "512,256 neurons", epochs as "10 epochs", any other factor as "name=value"; parts joined by
// " · ", naming only the factors whose level varies among the configurations compared.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace gt::stats {

// One factor's level as a reader names it: ("batch_size", "256") -> "batch 256".
std::string readable_level(const std::string& factor, const std::string& level);

// The label of a configuration (factor -> level) over `factors`, in that order: "bf16 · batch
// 256". Factors missing from `config` are left out; "all runs" when nothing is left.
std::string readable_label(const std::map<std::string, std::string>& config,
                           const std::vector<std::string>& factors);

// The factors worth naming: those with more than one level among `configs`; every factor
// when none varies (a single configuration).
std::vector<std::string> varying_factors(
    const std::vector<std::map<std::string, std::string>>& configs,
    const std::vector<std::string>& factors);

}  // namespace gt::stats
