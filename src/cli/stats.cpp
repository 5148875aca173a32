// `greentrain stats sample-size`: how many runs per group an experiment needs before it is run,
// from the expected run-to-run coefficient of variation and the smallest change worth seeing
// (two-sided two-sample t-test, exact power from the non-central t).
#include <fmt/core.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli_number.h"
#include "cli/verbs.h"
#include "common/error.h"
#include "stats/power.h"

namespace gt::cli {
namespace {

struct SampleSizeArgs {
  double cv = 0, effect_pct = 0, power = 0.8, alpha = 0.05;
  bool json = false;
};

int run_sample_size(const SampleSizeArgs& a) {
  if (a.cv > 1)
    fmt::print(stderr,
               "warning: --cv {0:g} is read as a fraction, a CV of {1:g} %; for {0:g} % give "
               "--cv {2:g}\n",
               a.cv, 100 * a.cv, a.cv / 100);
  const double d = (a.effect_pct / 100) / a.cv;
  const auto n = stats::runs_per_group_for_power(d, a.power, a.alpha);
  if (!n)
    throw gt::Error(fmt::format(
        "sample-size: detecting a {} % change with CV {} needs more than ten million runs per "
        "group",
        a.effect_pct, a.cv));
  if (a.json) {
    nlohmann::json j = {{"cv", a.cv},
                        {"effect_pct", a.effect_pct},
                        {"power", a.power},
                        {"alpha", a.alpha},
                        {"cohens_d", d},
                        {"runs_per_group", *n},
                        {"achieved_power", stats::two_sample_power(d, *n, a.alpha)}};
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print(
      "{} runs per group (effect {} % / CV {} % = d {:.3f}; power {:.3f} achieved, target {}; "
      "alpha {}; two-sided two-sample t-test)\n",
      *n, a.effect_pct, 100 * a.cv, d, stats::two_sample_power(d, *n, a.alpha), a.power, a.alpha);
  return 0;
}

}  // namespace

void add_stats(CLI::App& app, Action& run) {
  auto* sub = app.add_subcommand("stats", "Statistics helpers (sample-size)");
  sub->require_subcommand(1);
  auto args = std::make_shared<SampleSizeArgs>();
  auto* ss = sub->add_subcommand(
      "sample-size", "Runs per group needed to detect a change of --effect-pct given --cv");
  ss->add_option("--cv", args->cv, "Run-to-run coefficient of variation as a fraction (0.05 = 5 %)")
      ->required()
      ->check(finite_positive());
  ss->add_option("--effect-pct", args->effect_pct, "Smallest change to detect, in percent")
      ->required()
      ->check(finite_positive());
  ss->add_option("--power", args->power, "Target power")->check(finite_number(0, 1));
  ss->add_option("--alpha", args->alpha, "Significance level (two-sided)")
      ->check(finite_number(0, 1));
  ss->add_flag("--json", args->json, "Print JSON");
  ss->callback([&run, args] {
    if (!(args->power > 0 && args->power < 1) || !(args->alpha > 0 && args->alpha < 1))
      throw gt::UsageError("sample-size: --power and --alpha must be strictly between 0 and 1");
    run = [args]() { return run_sample_size(*args); };
  });
}

}  // namespace gt::cli
