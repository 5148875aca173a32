// The training loop as a library call: `train(config, progress)` loads the data,
// builds the model, picks the backend, trains epoch by epoch (calling `progress` after each),
// then evaluates validation and test accuracy and returns a TrainResult. `greentrain train`
// calls it (the experiment runner starts `greentrain train` as a child); it knows nothing about
// energy.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/loader.h"
#include "engine/backend.h"
#include "nlohmann/json.hpp"

namespace gt::engine {

struct TrainConfig {
  data::DataOptions data;         // --data, --data-dir, --label-column, --validation
  std::string model = "mlp:128";  // --model (graph/model_text.h)
  Precision precision = Precision::fp32;
  int batch_size = 32;
  int epochs = 10;
  OptimizerSpec optimizer;  // --optimizer, --lr
  float dropout = 0.0f;
  uint64_t seed = 42;
  std::string device = "auto";  // auto | cpu | cpu-naive | cuda | cuda:N
  // The train phase lasts at least this long (seconds): the training is repeated from the same
  // initial values (optimizer state reset) inside the one phase until it does, so a phase
  // shorter than the energy counter can resolve is measured over many; 0 = once.
  double min_phase_s = 0;
};

struct EpochRecord {
  int epoch = 0;                       // 1-based
  double loss = 0;                     // mean training loss (NaN if every step was skipped)
  double accuracy = 0;                 // training accuracy
  std::optional<double> val_accuracy;  // when a validation split exists
  std::optional<double> val_loss;
  double seconds = 0;
  int64_t steps = 0;
  int64_t skipped_steps = 0;
  double samples_per_s = 0;
  double tflops = 0;     // achieved training TFLOP/s in this epoch
  float loss_scale = 1;  // after the epoch
};

struct TrainResult {
  std::string data_name, data_location;
  std::string model;        // the canonical model text: "mlp:128", "cnn:32,64,128/128"
  std::string neurons;      // "128": hidden widths (mlp) or the dense head (cnn)
  std::string filters;      // "32,64,128" (cnn), else empty
  std::string input_shape;  // one sample: "28x28x1" or "784"
  int64_t parameters = 0;
  std::string precision;
  int batch_size = 0, epochs = 0;
  std::string optimizer;
  double lr = 0;
  uint64_t seed = 0;
  std::string device;  // "cpu" or "cuda:0"
  std::string device_description;
  std::string device_reason;       // why auto chose it
  std::vector<std::string> notes;  // what the backend chose where it had a choice
  int64_t train_rows = 0, validation_rows = 0, test_rows = 0;
  std::optional<int64_t> skipped_images;  // image folders: images left out (--bad-images skip)
  double duration_s = 0;                  // training epochs only (no loading, no evaluation)
  double total_s = 0;                     // everything train() did
  std::optional<double> test_accuracy, test_loss;
  std::optional<double> val_accuracy, val_loss;
  double final_loss = 0;  // last epoch's training loss
  int64_t steps = 0, skipped_steps = 0;
  double samples_per_s = 0;  // over epochs after the first (warm-up), else all
  double ms_per_epoch = 0;   // likewise
  double tflops = 0;         // likewise
  double flops_per_sample = 0;
  std::vector<EpochRecord> epochs_detail;

  // The object `greentrain train --json` writes (without "energy", which the verb adds).
  nlohmann::json to_json() const;
  // How often the training ran inside the train phase (min_phase_s); every figure above is
  // the first repetition's, and the evaluated model is the one it trained.
  int train_repetitions = 1;
  double min_phase_s = 0;
};

// Called after each epoch (its validation included), before the epoch's window closes;
// `epochs` is the total.
using ProgressCallback = std::function<void(const EpochRecord& record, int epochs)>;

// Called at the boundaries of the run's phases, in order: setup (data loading, backend
// allocation, plan creation, CUDA graph capture, initial weights), train (every optimizer step
// of every epoch, and the per-epoch validation when --validation holds data out) with one
// epoch window per epoch inside it (its steps, its validation and the progress call), eval (the
// test-set evaluation, when there is a test set). Every backend call returns with the device
// synchronised, so a boundary is the instant the device work before it has finished. The
// engine knows nothing of energy: the caller decides what a boundary means.
using PhaseCallback = std::function<void(const char* phase, bool begin)>;

// Resolves --device: "auto" → cuda:0 when cuda_device_count() > 0 (and, for a model family other
// than "mlp", a usable cuDNN), else cpu; `reason` says why.
std::string resolve_device(const std::string& requested, std::string* reason = nullptr,
                           const std::string& family = "mlp");
std::unique_ptr<Backend> make_backend(const std::string& device);

// Throws gt::UsageError for invalid settings (batch size 0 or larger than the training set,
// epochs < 1, lr <= 0, unknown model spec) and gt::Error for unreadable data.
TrainResult train(const TrainConfig& config, const ProgressCallback& progress = {},
                  const PhaseCallback& phase = {});

}  // namespace gt::engine
