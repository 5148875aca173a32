// Carbon accounting: parses the embedded tables once, resolves --country / --region /
// --intensity into an Intensity, and converts joules to grams CO2e. Unknown codes are usage
// errors that name the closest known codes (edit distance over codes and names).
#include "carbon/carbon.h"

#include <fmt/core.h>

#include <algorithm>
#include <sstream>

#include "carbon/tables.h"
#include "common/ascii_case.h"
#include "common/error.h"

namespace gt::carbon {
namespace {

std::vector<std::vector<std::string>> parse_csv(const char* text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream ls(line);
    while (std::getline(ls, cell, ',')) cells.push_back(cell);
    rows.push_back(std::move(cells));
  }
  return rows;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The `n` candidates closest to `wanted` (case-insensitive), as "CODE (name)" strings.
std::string closest(std::string_view wanted,
                    const std::vector<std::pair<std::string, std::string>>& candidates,
                    size_t n = 3) {
  std::vector<std::pair<size_t, std::string>> scored;
  const std::string w = ascii_lower(wanted);
  for (const auto& [code, name] : candidates) {
    size_t d = std::min(edit_distance(w, ascii_lower(code)), edit_distance(w, ascii_lower(name)));
    if (!name.empty() && ascii_lower(name).find(w) != std::string::npos && w.size() >= 3) d = 0;
    scored.emplace_back(d, name.empty() ? code : fmt::format("{} ({})", code, name));
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (size_t i = 0; i < std::min(n, scored.size()); ++i) out += (i ? ", " : "") + scored[i].second;
  return out;
}

}  // namespace

const std::vector<CountryRow>& countries() {
  static const std::vector<CountryRow> rows = [] {
    std::vector<CountryRow> out;
    for (const auto& c : parse_csv(tables::kCountryCsv)) {
      if (c.size() != 5) throw Error("carbon_intensity.csv: malformed row in embedded table");
      out.push_back({c[0], c[1], std::stod(c[2]), std::stoi(c[3]), c[4]});
    }
    return out;
  }();
  return rows;
}

const std::vector<RegionRow>& regions() {
  static const std::vector<RegionRow> rows = [] {
    std::vector<RegionRow> out;
    for (const auto& c : parse_csv(tables::kGcpCsv)) {
      if (c.size() != 7) throw Error("gcp_regions.csv: malformed row in embedded table");
      out.push_back({c[0], c[1], c[2], c[3], std::stod(c[4]), std::stoi(c[5]), c[6]});
    }
    for (const auto& c : parse_csv(tables::kCloudCsv)) {
      if (c.size() != 3) throw Error("cloud_regions.csv: malformed row in embedded table");
      out.push_back({c[0], c[1], "", c[2], std::nullopt, 0, "country:" + c[2]});
    }
    return out;
  }();
  return rows;
}

Intensity country(std::string_view iso3) {
  const std::string code = ascii_upper(iso3);
  for (const auto& row : countries())
    if (row.iso3 == code)
      return {row.g_per_kwh, fmt::format("{} ({})", row.name, row.iso3), row.source, row.year};
  std::vector<std::pair<std::string, std::string>> candidates;
  for (const auto& row : countries()) candidates.emplace_back(row.iso3, row.name);
  throw UsageError(fmt::format(
      "--country {}: unknown ISO 3166-1 alpha-3 code; closest: {} (greentrain carbon --list)", iso3,
      closest(iso3, candidates)));
}

Intensity region(std::string_view spec) {
  const auto colon = spec.find(':');
  if (colon == std::string_view::npos)
    throw UsageError(
        fmt::format("--region {}: expected provider:region, e.g. gcp:europe-west1, aws:us-east-1, "
                    "azure:westeurope",
                    spec));
  const std::string provider = ascii_lower(spec.substr(0, colon));
  const std::string name = ascii_lower(spec.substr(colon + 1));
  for (const auto& row : regions()) {
    if (row.provider != provider || row.region != name) continue;
    if (row.g_per_kwh) {
      return {*row.g_per_kwh,
              fmt::format("{}:{} ({}, {})", row.provider, row.region, row.city, row.iso3),
              row.source, row.year};
    }
    Intensity c = country(row.iso3);
    c.label = fmt::format("{}:{} → {}", row.provider, row.region, c.label);
    return c;
  }
  std::vector<std::pair<std::string, std::string>> candidates;
  for (const auto& row : regions())
    candidates.emplace_back(row.provider + ":" + row.region, std::string());
  throw UsageError(fmt::format("--region {}: unknown cloud region; closest: {}", spec,
                               closest(spec, candidates)));
}

Intensity resolve(const CarbonOptions& opts) {
  // Written so that NaN fails too (every comparison with NaN is false).
  if (!(opts.pue >= 1.0 && opts.pue <= kMaxPue))
    throw UsageError(fmt::format("--pue {}: expected a number in 1 .. {}", opts.pue, kMaxPue));
  if (opts.intensity) {
    if (!(*opts.intensity >= 0 && *opts.intensity <= kMaxIntensity))
      throw UsageError(fmt::format("--intensity {}: expected a number in 0 .. {} gCO2e/kWh",
                                   *opts.intensity, kMaxIntensity));
    return {*opts.intensity, "user-supplied", "--intensity", 0};
  }
  if (!opts.region.empty()) return region(opts.region);
  if (!opts.country.empty()) return country(opts.country);
  return country("WLD");
}

double co2e_g(double energy_j, const Intensity& intensity, double pue) {
  return energy_j / kJoulesPerKwh * pue * intensity.g_per_kwh;
}

std::string attribution() {
  return "Grid carbon intensity: country values from Our World in Data, carbon_intensity_elec "
         "(Ember and Energy Institute data, lifecycle basis, CC BY 4.0), latest year per "
         "country; World = 481 gCO2e/kWh (Ember Global Electricity Review 2024, 2023 value); "
         "Google Cloud regions: Google's location-based 2023 grid intensities; AWS and Azure "
         "regions use their country's value.";
}

}  // namespace gt::carbon
