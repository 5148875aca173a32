// `greentrain train`: trains one model with the engine (engine/train.h), shows a line per epoch
// (bar, loss, accuracy, samples/s, ms/epoch, achieved TFLOP/s; epoch 1 is marked warm-up), ends
// with validation/test accuracy, skipped steps and throughput, and writes --json. With
// --measure (the default) and the energy module present, the training is wrapped in an energy
// Session and the per-component energy and CO2e are added to the output and the JSON.
#include <fmt/core.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/verbs.h"
#include "common/error.h"
#include "engine/train.h"

#include "carbon/carbon.h"
#include "cli/meter_options.h"
#include "energy/session.h"
#define GREENTRAIN_TRAIN_MEASURE 1

namespace gt::cli {
namespace {

struct TrainOptions {
  engine::TrainConfig config;
  std::string precision = "fp32";
  std::string optimizer = "adam";
  std::string json_path;
  bool measure = true;
  bool quiet = false;
#if GREENTRAIN_TRAIN_MEASURE
  energy::MeterOptions meters;
  carbon::CarbonOptions carbon;
#endif
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

int run_train(TrainOptions& o) {
  auto& c = o.config;
  c.precision = engine::parse_precision(o.precision);
  if (o.optimizer == "adam") {
    c.optimizer.kind = engine::OptimizerSpec::Kind::adam;
  } else if (o.optimizer == "sgd") {
    c.optimizer.kind = engine::OptimizerSpec::Kind::sgd;
  } else {
    throw gt::UsageError(fmt::format("--optimizer '{}' is not known (expected adam or sgd)",
                                     o.optimizer));
  }
  if (!o.json_path.empty()) {  // fail before training, not after
    std::ofstream probe(o.json_path, std::ios::app);
    if (!probe) throw gt::Error(fmt::format("--json {}: cannot write there", o.json_path));
  }
  if (!o.quiet)
    fmt::print("training {} on {} · {} · batch {} · {} epochs · {} lr {} · seed {}\n", c.model,
               c.data.spec, o.precision, c.batch_size, c.epochs, o.optimizer, c.optimizer.lr,
               c.seed);
  engine::ProgressCallback progress;
  if (!o.quiet) progress = print_epoch;

  nlohmann::json energy_json;
  std::optional<double> co2e;
  std::string energy_text;
  engine::TrainResult r;
#if GREENTRAIN_TRAIN_MEASURE
  if (o.measure) {
    energy::Session session(o.meters);
    if (o.meters.idle_s > 0) session.measure_idle(o.meters.idle_s);
    session.start();
    energy::Summary summary;
    try {
      r = engine::train(c, progress);
    } catch (...) {
      session.stop();
      throw;
    }
    summary = session.stop();
    energy_json = summary.to_json();
    const carbon::Intensity intensity = carbon::resolve(o.carbon);
    co2e = carbon::co2e_g(summary.energy_j, intensity, o.carbon.pue);
    energy_json["co2e_g"] = *co2e;
    energy_json["carbon_intensity_g_per_kwh"] = intensity.g_per_kwh;
    energy_json["carbon_intensity_label"] = intensity.label;
    energy_json["pue"] = o.carbon.pue;
    for (const auto& comp : summary.components)
      energy_text += fmt::format("  {:<5} {:<24} {:>10.1f} J  avg {:>7.1f} W  ({}: {})\n",
                                 comp.component, comp.device, comp.energy_j, comp.avg_power_w,
                                 comp.source, comp.model);
    energy_text += fmt::format("  total {:.1f} J ({:.4f} Wh) → {:.3f} g CO2e at {:.0f} g/kWh ({})\n",
                               summary.energy_j, summary.energy_j / 3600.0, *co2e,
                               intensity.g_per_kwh, intensity.label);
  } else {
    r = engine::train(c, progress);
  }
#else
  if (o.measure && !o.quiet)
    fmt::print("(this build has no energy meters yet; training unmeasured)\n");
  r = engine::train(c, progress);
#endif

  if (!o.quiet) {
    fmt::print("device: {} [{}] — {}\n", r.device, r.device_description, r.device_reason);
    fmt::print("validation accuracy {} · test accuracy {} · final loss {:.4f} · skipped steps {}\n",
               pct(r.val_accuracy), pct(r.test_accuracy), r.final_loss, r.skipped_steps);
    fmt::print("training {:.2f} s · {:.0f} samples/s · {:.1f} ms/epoch · {:.4f} TFLOP/s{}\n",
               r.duration_s, r.samples_per_s, r.ms_per_epoch, r.tflops,
               r.epochs > 1 ? " (after the warm-up epoch)" : "");
    if (!energy_text.empty()) fmt::print("energy:\n{}", energy_text);
  }
  if (!o.json_path.empty()) {
    nlohmann::json j = r.to_json();
    if (!energy_json.is_null()) {
      j["energy"] = energy_json;
      j["co2e_g"] = co2e ? nlohmann::json(*co2e) : nlohmann::json(nullptr);
    }
    std::ofstream out(o.json_path, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out) throw gt::Error(fmt::format("--json {}: write failed", o.json_path));
  }
  return 0;
}

}  // namespace

void add_train(CLI::App& app, Action& run) {
  auto opts = std::make_shared<TrainOptions>();
  auto* sub = app.add_subcommand("train", "Train a classification model (Fashion-MNIST, MNIST or "
                                          "CSV) on the CPU or a GPU in fp32/tf32/fp16/bf16");
  auto& c = opts->config;
  sub->add_option("--data", c.data.spec,
                  "fashion-mnist | mnist:DIR | csv:train.csv[,test.csv]")
      ->capture_default_str();
  sub->add_option("--data-dir", c.data.data_dir,
                  "Fashion-MNIST directory (default $GREENTRAIN_DATA or "
                  "/usr/share/datasets/fashion-mnist)");
  sub->add_option("--label-column", c.data.label_column, "CSV label column")->capture_default_str();
  sub->add_option("--validation", c.data.validation,
                  "Fraction of the training file held out for validation (0..0.9)")
      ->capture_default_str();
  sub->add_option("--model", c.model, "mlp:H or mlp:H1,H2,…")->capture_default_str();
  sub->add_option("--dropout", c.dropout, "Dropout after each hidden layer")->capture_default_str();
  sub->add_option("--precision", opts->precision, "fp32 | tf32 | fp16 | bf16")
      ->capture_default_str();
  sub->add_option("--batch-size", c.batch_size, "Mini-batch size")->capture_default_str();
  sub->add_option("--epochs", c.epochs, "Passes over the training set")->capture_default_str();
  sub->add_option("--lr", c.optimizer.lr, "Learning rate")->capture_default_str();
  sub->add_option("--optimizer", opts->optimizer, "adam | sgd (momentum 0.9)")->capture_default_str();
  sub->add_option("--momentum", c.optimizer.momentum, "SGD momentum")->capture_default_str();
  sub->add_option("--seed", c.seed, "Seed of initial weights, shuffling and dropout")
      ->capture_default_str();
  sub->add_option("--device", c.device, "auto | cpu | cuda:N")->capture_default_str();
  sub->add_option("--json", opts->json_path, "Write the result (and energy) as JSON here");
  sub->add_flag("--measure,!--no-measure", opts->measure,
                "Meter energy during training (default on)");
  sub->add_flag("-q,--quiet", opts->quiet, "No progress output");
#if GREENTRAIN_TRAIN_MEASURE
  add_meter_options(*sub, opts->meters);
  carbon::add_carbon_options(*sub, opts->carbon);
#endif
  sub->callback([&run, opts] { run = [opts] { return run_train(*opts); }; });
}

}  // namespace gt::cli
