// The carbon intensity options (see carbon_options.h).
#include "cli/carbon_options.h"

#include "cli/cli_number.h"

namespace gt::cli {

void add_carbon_options(CLI::App& cmd, carbon::CarbonOptions& opts) {
  cmd.add_option("--country", opts.country,
                 "grid of this country, ISO 3166-1 alpha-3 (e.g. FRA); default World 481 g/kWh")
      ->group("Carbon");
  cmd.add_option("--region", opts.region,
                 "cloud region, e.g. gcp:europe-west1, aws:us-east-1, azure:westeurope")
      ->group("Carbon");
  cmd.add_option("--intensity", opts.intensity, "grid intensity in gCO2e/kWh (overrides)")
      ->check(finite_number(0, carbon::kMaxIntensity))
      ->group("Carbon");
  cmd.add_option("--pue", opts.pue, "data-centre power usage effectiveness (default 1.0)")
      ->check(finite_number(1, carbon::kMaxPue))
      ->group("Carbon");
}

}  // namespace gt::cli
