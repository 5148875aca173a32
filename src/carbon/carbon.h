// Carbon accounting: energy → grams CO2e = kWh × PUE × grid intensity (gCO2e/kWh).
// Intensities come from tables embedded in the binary from data/*.csv (Our World in Data /
// Ember country values, Google Cloud region values, AWS/Azure regions mapped to countries).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gt::carbon {

// Joules in one kilowatt-hour: the one conversion every energy figure in kWh or Wh goes through.
inline constexpr double kJoulesPerKwh = 3.6e6;

// Bounds of the user-given figures (the plan file uses the same): no grid exceeds 5000
// gCO2e/kWh, no data centre a PUE of 5.
inline constexpr double kMaxIntensity = 5000, kMaxPue = 5;

struct CarbonOptions {
  std::string country, region;      // ISO 3166-1 alpha-3; "gcp:europe-west1", "aws:us-east-1"
  std::optional<double> intensity;  // gCO2e/kWh, overrides country/region
  double pue = 1.0;                 // power usage effectiveness, >= 1
};

struct Intensity {
  double g_per_kwh = 481;
  std::string label = "World";  // "France (FRA)", "gcp:europe-west1 (St. Ghislain, BEL)"
  std::string source = "EMBER-GER2024";
  int year = 2023;
};

struct CountryRow {
  std::string iso3, name;
  double g_per_kwh;
  int year;
  std::string source;
};
struct RegionRow {
  std::string provider, region, city, iso3;
  std::optional<double> g_per_kwh;  // GCP publishes its own; AWS/Azure map to the country
  int year;
  std::string source;
};

Intensity resolve(const CarbonOptions& opts);  // throws gt::UsageError on unknown codes
double co2e_g(double energy_j, const Intensity& intensity, double pue);
Intensity country(std::string_view iso3);                  // throws on unknown code
Intensity region(std::string_view provider_colon_region);  // throws on unknown region
const std::vector<CountryRow>& countries();                // the whole table, WLD first
const std::vector<RegionRow>& regions();                   // gcp, aws, azure
std::string attribution();                                 // one paragraph, for reports

}  // namespace gt::carbon
