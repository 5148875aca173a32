// `greentrain train`: trains one model with the engine (engine/train.h), shows a line per epoch
// (bar, loss, accuracy, samples/s, ms/epoch, achieved TFLOP/s; epoch 1 is marked warm-up), ends
// with validation/test accuracy, skipped steps and throughput, and writes --json. With
// --measure (the default) the training runs as a metered run (run/metered_run.h): this
// verb checks every option (carbon country included) first, then runs itself as a child with
// --no-measure, whose engine marks the setup, train and eval phases on the mark channel; the
// per-component and per-phase energy and CO2e are added to the output and the JSON.
#include "engine/train.h"

#include <fmt/core.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>

#include "carbon/carbon.h"
#include "cli/carbon_options.h"
#include "cli/cli_number.h"
#include "cli/data_options.h"
#include "cli/meter_options.h"
#include "cli/prometheus_options.h"
#include "cli/run_output.h"
#include "cli/verbs.h"
#include "common/error.h"
#include "common/trace.h"
#include "energy/session.h"
#include "energy/summary_table.h"
#include "engine/graph/model_text.h"
#include "run/marks.h"
#include "run/metered_run.h"
#include "run/process.h"

namespace gt::cli {
namespace {

struct TrainOptions {
  engine::TrainConfig config;
  std::string precision = "fp32";
  std::string optimizer = "adam";
  std::string json_path;
  bool measure = true;
  bool quiet = false;
  energy::MeterOptions meters;
  carbon::CarbonOptions carbon;
  std::string attribution;
  prometheus::PublisherOptions prometheus;
};

std::string bar(int done, int total, int width = 20) {
  const int fill = total > 0 ? done * width / total : width;
  return std::string(fill, '#') + std::string(width - fill, '.');
}

std::string pct(const std::optional<double>& v) {
  return v ? fmt::format("{:.2f}%", 100.0 * *v) : std::string("n/a");
}

void print_epoch(const engine::EpochRecord& e, int epochs) {
  fmt::print("epoch {:>{}}/{} [{}] loss {:.4f} acc {:6.2f}%", e.epoch,
             int(std::to_string(epochs).size()), epochs, bar(e.epoch, epochs), e.loss,
             100.0 * e.accuracy);
  if (e.val_accuracy) fmt::print(" val {:6.2f}%", 100.0 * *e.val_accuracy);
  fmt::print("  {:>9.0f} samples/s {:>8.1f} ms/epoch {:.4f} TFLOP/s", e.samples_per_s,
             1000.0 * e.seconds, e.tflops);
  if (e.skipped_steps) fmt::print("  skipped {} (scale {})", e.skipped_steps, e.loss_scale);
  if (e.epoch == 1 && epochs > 1) fmt::print("  (warm-up)");
  fmt::print("\n");
  std::fflush(stdout);
}

// The flags that reproduce this configuration for the child `greentrain train --no-measure`.
std::vector<std::string> train_args(const TrainOptions& o) {
  const auto& c = o.config;
  std::vector<std::string> a = {"train", "--no-measure"};
  const auto data = data_option_args(c.data);
  a.insert(a.end(), data.begin(), data.end());
  a.insert(a.end(), {"--model",      c.model,
                     "--dropout",    fmt::format("{}", c.dropout),
                     "--precision",  o.precision,
                     "--batch-size", std::to_string(c.batch_size),
                     "--epochs",     std::to_string(c.epochs),
                     "--lr",         fmt::format("{}", c.optimizer.lr),
                     "--optimizer",  o.optimizer,
                     "--momentum",   fmt::format("{}", c.optimizer.momentum),
                     "--seed",       std::to_string(c.seed),
                     "--device",     c.device});
  if (c.min_phase_s > 0) a.insert(a.end(), {"--min-phase-s", fmt::format("{}", c.min_phase_s)});
  if (o.quiet) a.push_back("-q");
  return a;
}

void print_result(const engine::TrainResult& r) {
  fmt::print("device: {} [{}] — {}\n", r.device, r.device_description, r.device_reason);
  for (const std::string& note : r.notes) fmt::print("  {}\n", note);
  fmt::print("validation accuracy {} · test accuracy {} · final loss {:.4f} · skipped steps {}\n",
             pct(r.val_accuracy), pct(r.test_accuracy), r.final_loss, r.skipped_steps);
  fmt::print("training {:.2f} s · {:.0f} samples/s · {:.1f} ms/epoch · {:.4f} TFLOP/s{}\n",
             r.duration_s, r.samples_per_s, r.ms_per_epoch, r.tflops,
             r.epochs > 1 ? " (after the warm-up epoch)" : "");
  if (r.train_repetitions > 1)
    fmt::print(
        "the training ran {} times from the same initial weights inside the train phase "
        "(--min-phase-s {:g}): its energy is reported per repetition; the figures above are the "
        "first repetition's\n",
        r.train_repetitions, r.min_phase_s);
}

// Unmetered: the engine in this process. Inside a metered run (GREENTRAIN_MARK_FD set, e.g.
// the experiment runner's child) the engine's phase boundaries go to the mark channel.
int train_here(TrainOptions& o) {
  auto& c = o.config;
  if (!o.quiet)
    fmt::print("training {} on {} · {} · batch {} · {} epochs · {} lr {} · seed {}\n", c.model,
               c.data.spec, o.precision, c.batch_size, c.epochs, o.optimizer, c.optimizer.lr,
               c.seed);
  const auto marks = run::MarkWriter::from_environment();
  // Inside a metered run, image decoding (if the cache is missing) happens here, before the
  // setup phase, so it never counts as setup or training energy.
  if (marks)
    if (const auto images = data::prepare_data(c.data)) {
      if (!images->reused) print_image_report(*images, o.quiet);
      c.data.images.cache_file = images->cache_path;  // the engine maps it without listing
    }
  // Inside each epoch's window: its validation accuracy to the mark channel (per-epoch views,
  // energy to a target accuracy), then the progress line.
  engine::ProgressCallback progress;
  if (!o.quiet || marks)
    progress = [&](const engine::EpochRecord& e, int epochs) {
      if (marks && e.val_accuracy) marks->metric("val_accuracy", *e.val_accuracy);
      if (!o.quiet) print_epoch(e, epochs);
    };
  const engine::PhaseCallback phase = [&](const char* name, bool begin) {
    trace_point(fmt::format("phase {} {}", name, begin ? "begins" : "ends").c_str());
    if (marks) marks->phase(name, begin);
  };
  const engine::TrainResult r = engine::train(c, progress, phase);
  // The metered run divides the train phase's figures by this (run/metered_run.h).
  if (marks && r.train_repetitions > 1) marks->metric("train_repetitions", r.train_repetitions);
  if (!o.quiet) print_result(r);
  if (!o.json_path.empty()) write_text_file(o.json_path, r.to_json().dump(2) + "\n", "--json");
  return 0;
}

// Metered: the same verb as a child (`train --no-measure`) run by the metered-run service,
// so `train`, `measure` and the experiment runner meter a training run the same way.
int train_metered(TrainOptions& o) {
  run::MeteredRunOptions run_opts;
  run_opts.meters = o.meters;
  run_opts.carbon = o.carbon;
  run_opts.attribution = o.attribution;
  run_opts.scan_stdout = false;
  run::MeteredRun metered(run_opts);  // every meter and carbon error before training
  RunPublication publication(o.prometheus);
  // Images are decoded into the cache now, outside the metered run (the child reuses it).
  if (const auto images = data::prepare_data(o.config.data)) {
    print_image_report(*images, o.quiet);
    o.config.data.images.cache_file = images->cache_path;  // the child maps it without listing
  }
  const nlohmann::json environment = metered.session().environment();
  for (const auto& note : environment["notes"])
    fmt::print(stderr, "greentrain: {}\n", note.get<std::string>());
  run::InterruptGuard guard;
  if (o.meters.idle_s > 0) {
    std::string warning;
    if (!metered.measure_idle(
            o.meters.idle_s, [&] { return guard.requested(); }, &warning))
      return 128 + guard.signal();
    if (!warning.empty()) fmt::print(stderr, "greentrain: {}\n", warning);
  }
  const std::string folder = run::make_run_folder();
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{folder};
  const std::string child_json = folder + "/train.json";
  run::ChildSpec spec;
  spec.argv = train_args(o);
  spec.argv.insert(spec.argv.begin(), run::self_executable());
  spec.argv.insert(spec.argv.end(), {"--json", child_json});
  spec.inherit_stdin = true;
  spec.take_terminal = true;
  spec.remove_on_abandon = folder;
  run::MeteredResult res = metered.run(
      spec, [&](int, double) { return guard.signal(); }, publication.observer());
  publication.finished(res);
  if (res.exit_code != 0) return res.exit_code;  // the child said why on stderr
  std::ifstream in(child_json);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw gt::Error("the training child wrote no readable result");
  const nlohmann::json energy_json = res.to_json(metered.intensity(), metered.pue());
  // The result file first: a reader of stdout that has gone (`train ... | head`) must not cost
  // the measurement.
  if (!o.json_path.empty()) {
    j["energy"] = energy_json;
    j["co2e_g"] = res.co2e_g;
    j["phases"] = energy_json["phases"];
    j["phase_metrics"] = energy_json["phase_metrics"];
    write_text_file(o.json_path, j.dump(2) + "\n", "--json");
  }
  if (!o.quiet)
    fmt::print("energy:\n{}{}{}", energy::format_summary_table(res.summary), format_phases(res),
               format_co2e(res, metered.intensity(), metered.pue()));
  trace_point("output written");
  publication.finish();  // the last push, at most --prometheus-timeout-s
  return 0;
}

int run_train(TrainOptions& o) {
  auto& c = o.config;
  c.precision = engine::parse_precision(o.precision);
  if (o.optimizer == "adam") {
    c.optimizer.kind = engine::OptimizerSpec::Kind::adam;
  } else if (o.optimizer == "sgd") {
    c.optimizer.kind = engine::OptimizerSpec::Kind::sgd;
  } else {
    throw gt::UsageError(
        fmt::format("--optimizer '{}' is not known (expected adam or sgd)", o.optimizer));
  }
  check_writable(o.json_path, "--json");  // fail before training, creating nothing
  if (!o.measure && (!o.prometheus.push_url.empty() || !o.prometheus.textfile.empty()))
    throw gt::UsageError(
        "--prometheus-push and --prometheus-textfile publish a metered run: "
        "drop --no-measure");
  return o.measure ? train_metered(o) : train_here(o);
}

}  // namespace

void add_train(CLI::App& app, Action& run) {
  auto opts = std::make_shared<TrainOptions>();
  auto* sub = app.add_subcommand("train",
                                 "Train a classification model (Fashion-MNIST, MNIST, CSV or "
                                 "a folder of images) on the CPU or a GPU in "
                                 "fp32/tf32/fp16/bf16");
  auto& c = opts->config;
  add_data_options(*sub, c.data);
  sub->add_option("--model", c.model, engine::graph::model_grammar() + " (docs/models.md)")
      ->capture_default_str();
  sub->add_option("--dropout", c.dropout, "Dropout after each hidden Dense layer")
      ->check(finite_number(0, 1))
      ->capture_default_str();
  sub->add_option("--precision", opts->precision,
                  [] {
                    std::string names;
                    for (const auto& p : engine::precision_names())
                      names += (names.empty() ? "" : " | ") + p;
                    return names;
                  }())
      ->capture_default_str();
  sub->add_option("--batch-size", c.batch_size, "Mini-batch size")
      ->check(whole_number(1, 1 << 30))
      ->capture_default_str();
  sub->add_option("--epochs", c.epochs, "Passes over the training set")
      ->check(whole_number(1, 1000000))
      ->capture_default_str();
  sub->add_option("--lr", c.optimizer.lr, "Learning rate")
      ->check(finite_positive())
      ->capture_default_str();
  sub->add_option("--optimizer", opts->optimizer, "adam | sgd (momentum 0.9)")
      ->capture_default_str();
  sub->add_option("--momentum", c.optimizer.momentum, "SGD momentum (0 <= m < 1)")
      ->check(finite_number(0, 1))
      ->capture_default_str();
  sub->add_option("--min-phase-s", c.min_phase_s,
                  "Repeat the training from the same initial weights inside the train phase until "
                  "it lasts this long (seconds), so the energy counter resolves it; energy is "
                  "then reported per repetition")
      ->check(finite_number(0, 3600))
      ->capture_default_str();
  sub->add_option("--seed", c.seed, "Seed of initial weights, shuffling and dropout")
      ->check(whole_number(0, std::numeric_limits<long long>::max()))
      ->capture_default_str();
  sub->add_option("--device", c.device, "auto | cpu | cuda:N")->capture_default_str();
  sub->add_option("--json", opts->json_path, "Write the result (and energy) as JSON here");
  sub->add_flag("--measure,!--no-measure", opts->measure,
                "Meter energy during training (default on)");
  sub->add_flag("-q,--quiet", opts->quiet, "No progress output");
  add_meter_options(*sub, opts->meters);
  add_carbon_options(*sub, opts->carbon);
  add_prometheus_options(*sub, opts->prometheus);
  add_attribution_option(*sub, opts->attribution);
  sub->callback([&run, opts] { run = [opts] { return run_train(*opts); }; });
}

}  // namespace gt::cli
