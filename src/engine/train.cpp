// The training loop (see train.h): data → model → backend → epochs → evaluation → result.
#include "engine/train.h"

#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <future>

#include "common/error.h"
#include "common/trace.h"
#include "engine/cudnn_status.h"
#include "engine/graph/init.h"
#include "engine/graph/model_text.h"

namespace gt::engine {
namespace {
// min_phase_s repeats the training at most this often (a phase of 0.1 ms would otherwise never
// end for a large min_phase_s).
constexpr int kMaxRepetitions = 10000;
}  // namespace

std::string resolve_device(const std::string& requested, std::string* reason,
                           const std::string& family) {
  auto say = [&](const std::string& why) {
    if (reason) *reason = why;
  };
  if (requested == "auto") {
    const int n = cuda_device_count();
    if (n == 0) {
      say("auto: no usable CUDA device, using the CPU");
      return "cpu";
    }
    if (family != "mlp") {  // the CUDA backend's CNN path needs cuDNN
      const CudnnStatus cudnn = cudnn_status();
      if (!cudnn.usable) {
        say(fmt::format("auto: {} models need cuDNN on the GPU ({}), using the CPU", family,
                        cudnn.absent.empty() ? "no usable cuDNN 9 was found" : cudnn.absent));
        return "cpu";
      }
      say(fmt::format("auto: {} usable CUDA device(s) and cuDNN {}, using the first", n,
                      cudnn.version));
      return "cuda:0";
    }
    say(fmt::format("auto: {} usable CUDA device(s), using the first", n));
    return "cuda:0";
  }
  if (requested == "cpu" || requested == "cpu-naive") {
    say("requested");
    return requested;
  }
  if (requested == "cuda") {
    say("requested");
    return "cuda:0";
  }
  if (requested.rfind("cuda:", 0) == 0) {
    const std::string n = requested.substr(5);
    if (!n.empty() && n.find_first_not_of("0123456789") == std::string::npos && n.size() < 4) {
      say("requested");
      return requested;
    }
  }
  throw gt::UsageError(
      fmt::format("--device '{}' is not valid (expected auto, cpu or cuda:N)", requested));
}

std::unique_ptr<Backend> make_backend(const std::string& device) {
  if (device == "cpu") return make_cpu_backend(false);
  if (device == "cpu-naive") return make_cpu_backend(true);
  return make_cuda_backend(std::stoi(device.substr(5)));
}

static nlohmann::json opt_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

static nlohmann::json num_json(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json TrainResult::to_json() const {
  nlohmann::json j;
  j["data"] = data_name;
  j["data_location"] = data_location;
  j["model"] = model;
  j["neurons"] = neurons;
  j["filters"] = filters;
  j["input_shape"] = input_shape;
  j["parameters"] = parameters;
  j["precision"] = precision;
  j["batch_size"] = batch_size;
  j["epochs"] = epochs;
  j["optimizer"] = optimizer;
  j["lr"] = lr;
  j["seed"] = seed;
  j["train_repetitions"] = train_repetitions;
  j["min_phase_s"] = min_phase_s;
  j["device"] = device;
  j["device_description"] = device_description;
  j["notes"] = notes;
  j["train_rows"] = train_rows;
  j["validation_rows"] = validation_rows;
  j["test_rows"] = test_rows;
  if (skipped_images) j["skipped_images"] = *skipped_images;
  j["duration_s"] = duration_s;
  j["total_s"] = total_s;
  j["test_accuracy"] = opt_json(test_accuracy);
  j["test_loss"] = opt_json(test_loss);
  j["val_accuracy"] = opt_json(val_accuracy);
  j["val_loss"] = opt_json(val_loss);
  j["final_loss"] = num_json(final_loss);
  j["steps"] = steps;
  j["skipped_steps"] = skipped_steps;
  j["samples_per_s"] = samples_per_s;
  j["ms_per_epoch"] = ms_per_epoch;
  j["tflops"] = tflops;
  j["flops_per_sample"] = flops_per_sample;
  auto& d = j["epochs_detail"] = nlohmann::json::array();
  for (const auto& e : epochs_detail)
    d.push_back({{"epoch", e.epoch},
                 {"loss", num_json(e.loss)},
                 {"accuracy", e.accuracy},
                 {"val_accuracy", opt_json(e.val_accuracy)},
                 {"val_loss", opt_json(e.val_loss)},
                 {"seconds", e.seconds},
                 {"steps", e.steps},
                 {"skipped_steps", e.skipped_steps},
                 {"samples_per_s", e.samples_per_s},
                 {"tflops", e.tflops},
                 {"loss_scale", e.loss_scale}});
  return j;
}

namespace {

// The options a run cannot start with, refused before anything is loaded.
void check_options(const TrainConfig& c) {
  if (c.batch_size <= 0)
    throw gt::UsageError(fmt::format("--batch-size {} must be at least 1", c.batch_size));
  if (c.epochs <= 0) throw gt::UsageError(fmt::format("--epochs {} must be at least 1", c.epochs));
  if (!(c.min_phase_s >= 0 && c.min_phase_s <= 3600))
    throw gt::UsageError(
        fmt::format("--min-phase-s {}: expected seconds from 0 to 3600", c.min_phase_s));
  if (!(c.optimizer.lr > 0) || !std::isfinite(c.optimizer.lr))
    throw gt::UsageError(fmt::format("--lr {} must be positive", c.optimizer.lr));
  if (!(c.optimizer.momentum >= 0 && c.optimizer.momentum < 1))
    throw gt::UsageError(
        fmt::format("--momentum {}: expected a number in 0 <= m < 1", c.optimizer.momentum));
}

// What the result says about the run before it trains: data, model, precision, optimizer.
void describe_run(const TrainConfig& c, const data::Splits& data, const graph::ModelText& model,
                  const graph::Network& net, TrainResult& r) {
  r.data_name = data.name;
  r.data_location = data.location;
  r.model = net.text;
  r.neurons = graph::widths_string(model.neurons);
  r.filters = graph::widths_string(model.filters);
  r.input_shape = graph::to_string(net.input);
  r.parameters = graph::parameter_count(net);
  r.precision = to_string(c.precision);
  r.batch_size = c.batch_size;
  r.epochs = c.epochs;
  r.optimizer = c.optimizer.kind == OptimizerSpec::Kind::adam ? "adam" : "sgd";
  r.lr = c.optimizer.lr;
  r.seed = c.seed;
  r.train_rows = data.train.rows;
  r.validation_rows = data.validation.rows;
  r.test_rows = data.test.rows;
  if (data.images) r.skipped_images = int64_t(data.images->skipped.size());
  r.flops_per_sample = graph::train_flops_per_sample(net);
}

// The epochs after the first (or the only one): what throughput is measured on.
struct WarmTime {
  double seconds = 0;
  int64_t samples = 0;
};

// One repetition's epochs as the user sees them: records, progress, an epoch window each.
void train_first_repetition(Backend& backend, const TrainConfig& c, const data::Splits& data,
                            const ProgressCallback& progress, const PhaseCallback& phase,
                            TrainResult& r, WarmTime& warm) {
  for (int e = 0; e < c.epochs; ++e) {
    if (phase) phase("epoch", true);  // train/epoch: each epoch's energy, with its progress
    const EpochStats st = backend.train_epoch(e);
    EpochRecord rec;
    rec.epoch = e + 1;
    rec.loss = st.loss;
    rec.accuracy = st.accuracy;
    rec.seconds = st.seconds;
    rec.steps = st.steps;
    rec.skipped_steps = st.skipped_steps;
    rec.samples_per_s = st.seconds > 0 ? double(data.train.rows) / st.seconds : 0;
    rec.tflops = rec.samples_per_s * r.flops_per_sample * 1e-12;
    rec.loss_scale = backend.loss_scale();
    if (data.validation.rows > 0) {
      const EvalStats v = backend.evaluate(data.validation);
      rec.val_accuracy = v.accuracy;
      rec.val_loss = v.loss;
    }
    r.duration_s += st.seconds;
    r.steps += st.steps;
    r.skipped_steps += st.skipped_steps;
    if (e > 0 || c.epochs == 1) {
      warm.seconds += st.seconds;
      warm.samples += data.train.rows;
    }
    r.epochs_detail.push_back(rec);
    if (progress) progress(rec, c.epochs);
    if (phase) phase("epoch", false);
  }
}

// The training, then (min_phase_s) the same training again from the same initial values
// until the phase has lasted long enough; only the first repetition is reported, and its
// trained values are the ones left in the backend.
void train_repetitions(Backend& backend, const TrainConfig& c, const data::Splits& data,
                       const std::vector<float>& initial, const ProgressCallback& progress,
                       const PhaseCallback& phase, TrainResult& r, WarmTime& warm) {
  const auto train_t0 = std::chrono::steady_clock::now();
  std::vector<float> first;  // the first repetition's trained values, which are evaluated
  for (r.train_repetitions = 1;; ++r.train_repetitions) {
    if (r.train_repetitions > 1) {
      for (int e = 0; e < c.epochs; ++e) backend.train_epoch(e);
    } else {
      train_first_repetition(backend, c, data, progress, phase, r, warm);
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - train_t0).count();
    if (elapsed >= c.min_phase_s || r.train_repetitions >= kMaxRepetitions) break;
    if (r.train_repetitions == 1) first = backend.values();
    backend.set_values(initial);
  }
  if (!first.empty()) backend.set_values(first);
}

}  // namespace

TrainResult train(const TrainConfig& c, const ProgressCallback& progress,
                  const PhaseCallback& phase) {
  const auto t_start = std::chrono::steady_clock::now();
  auto mark = [&](const char* name, bool begin) {
    if (phase) phase(name, begin);
  };
  check_options(c);
  // Validate the model text before the (slow) data loading.
  const graph::ModelText model = graph::parse_model_text(c.model);
  if (!(c.dropout >= 0.0f && c.dropout < 1.0f))
    throw gt::UsageError(
        fmt::format("--dropout {} is out of range (expected 0 <= p < 1)", c.dropout));
  TrainResult r;
  mark("setup", true);
  // The device starts (driver, CUDA context, stream) on a second thread while this one loads the
  // data: the two are independent and each takes a good part of a short run's setup. Only "auto"
  // needs the driver to resolve; any other --device is checked here, before the work starts.
  if (c.device != "auto") r.device = resolve_device(c.device, &r.device_reason);
  auto starting = std::async(std::launch::async, [&c, &r, &model] {
    if (r.device.empty()) r.device = resolve_device(c.device, &r.device_reason, model.family);
    return make_backend(r.device);
  });
  data::Splits data = data::load_data(c.data);
  trace_point("data loaded");
  if (c.batch_size > data.train.rows)
    throw gt::UsageError(fmt::format("--batch-size {} is larger than the training set ({} rows)",
                                     c.batch_size, data.train.rows));
  const graph::Network net =
      graph::build_network(model, graph::input_shape(data.train), data.train.classes, c.dropout);
  describe_run(c, data, model, net, r);

  auto backend = starting.get();
  trace_point("device ready");
  backend->setup(net, c.optimizer, c.precision, c.batch_size, data.train, c.seed);
  const std::vector<float> initial = graph::initial_values(backend->layout(), c.seed);
  backend->set_values(initial);
  r.device_description = backend->describe();
  r.min_phase_s = c.min_phase_s;
  r.notes = backend->notes();
  mark("setup", false);

  WarmTime warm;
  mark("train", true);
  train_repetitions(*backend, c, data, initial, progress, phase, r, warm);
  mark("train", false);
  const int timed_epochs = c.epochs == 1 ? 1 : c.epochs - 1;
  r.samples_per_s = warm.seconds > 0 ? double(warm.samples) / warm.seconds : 0;
  r.ms_per_epoch = 1000.0 * warm.seconds / timed_epochs;
  r.tflops = r.samples_per_s * r.flops_per_sample * 1e-12;
  r.final_loss = r.epochs_detail.back().loss;
  r.val_accuracy = r.epochs_detail.back().val_accuracy;
  r.val_loss = r.epochs_detail.back().val_loss;
  if (data.test.rows > 0) {
    mark("eval", true);
    const EvalStats t = backend->evaluate(data.test);
    r.test_accuracy = t.accuracy;
    r.test_loss = t.loss;
    mark("eval", false);
  }
  r.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return r;
}

}  // namespace gt::engine
