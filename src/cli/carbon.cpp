// `greentrain carbon`: the carbon tables and energy → CO2e conversion.
//   greentrain carbon --list                      every country and cloud region, year, source
//   greentrain carbon --kwh 1.2 --country FRA     CO2e of an energy amount (or --energy-j, --wh)
//   greentrain carbon --region gcp:europe-west1   the intensity that would be used
#include "carbon/carbon.h"

#include <fmt/core.h>

#include <memory>

#include "cli/carbon_options.h"
#include "cli/cli_number.h"
#include "cli/verbs.h"
#include "common/error.h"

namespace gt::cli {
namespace {

struct CarbonVerbOptions {
  carbon::CarbonOptions carbon;
  bool list = false;
  std::optional<double> energy_j, wh, kwh;
};

int run_carbon(const CarbonVerbOptions& o) {
  if (o.list) {
    fmt::print("{:<5} {:<34} {:>10} {:>5}  {}\n", "iso3", "country", "gCO2e/kWh", "year", "source");
    for (const auto& c : carbon::countries())
      fmt::print("{:<5} {:<34} {:>10.1f} {:>5}  {}\n", c.iso3, c.name, c.g_per_kwh, c.year,
                 c.source);
    fmt::print("\n{:<34} {:>10} {:>5}  {}\n", "cloud region", "gCO2e/kWh", "year", "source");
    for (const auto& r : carbon::regions()) {
      const std::string name = r.provider + ":" + r.region;
      if (r.g_per_kwh) {
        fmt::print("{:<34} {:>10.1f} {:>5}  {} ({}, {})\n", name, *r.g_per_kwh, r.year, r.source,
                   r.city, r.iso3);
      } else {
        const carbon::Intensity c = carbon::country(r.iso3);
        fmt::print("{:<34} {:>10.1f} {:>5}  {} (country {})\n", name, c.g_per_kwh, c.year, c.source,
                   r.iso3);
      }
    }
    fmt::print("\n{}\n", carbon::attribution());
    return 0;
  }
  const carbon::Intensity in = carbon::resolve(o.carbon);
  fmt::print("intensity: {:g} gCO2e/kWh — {} ({} {}), PUE {:g}\n", in.g_per_kwh, in.label,
             in.source, in.year, o.carbon.pue);
  std::optional<double> joules = o.energy_j;
  if (o.wh) joules = *o.wh * 3600.0;
  if (o.kwh) joules = *o.kwh * 3.6e6;
  if (joules)
    fmt::print("{:g} J = {:g} kWh -> {:.6g} g CO2e\n", *joules, *joules / 3.6e6,
               carbon::co2e_g(*joules, in, o.carbon.pue));
  return 0;
}

}  // namespace

void add_carbon(CLI::App& app, Action& run) {
  auto opts = std::make_shared<CarbonVerbOptions>();
  auto* sub = app.add_subcommand(
      "carbon", "grid carbon intensity tables and energy -> CO2e (--list, --kwh, --country)");
  add_carbon_options(*sub, opts->carbon);
  sub->add_flag("--list", opts->list, "print every country and cloud region with year and source");
  auto* ej =
      sub->add_option("--energy-j", opts->energy_j, "energy in joules")->check(finite_number(0));
  auto* wh = sub->add_option("--wh", opts->wh, "energy in Wh")->check(finite_number(0));
  auto* kwh = sub->add_option("--kwh", opts->kwh, "energy in kWh")->check(finite_number(0));
  ej->excludes(wh)->excludes(kwh);
  wh->excludes(kwh);
  sub->callback([opts, &run] { run = [opts] { return run_carbon(*opts); }; });
}

}  // namespace gt::cli
