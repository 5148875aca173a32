// The contract between the training loop (engine/train.cpp) and a compute backend (CPU in
// engine/cpu/, CUDA in engine/cuda/). A backend owns every buffer of one training run:
// `setup` sizes and allocates them once (parameters, gradients, FP32 master weights, optimizer
// moments, activations, the resident training set); nothing is allocated inside a step.
// Layouts: a Dense layer's weight is row-major [out][in] (as torch.nn.Linear), bias is [out].
// All values crossing this interface are FP32 on the host, whatever the precision policy.
// Optimizers follow torch.optim: Adam w -= lr·m̂/(√v̂+ε) with bias-corrected m̂, v̂ (t counts
// applied steps only; a skipped fp16 step does not advance t); SGD buf = μ·buf + g, w -= lr·buf.
// Loss = mean softmax cross-entropy over the batch. Dropout is inverted (kept units ×1/(1−p)).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/precision.h"

namespace gt::engine {

// Flatten → Dense(hidden[0], ReLU) → … → Dense(classes). Dropout after each hidden ReLU.
struct ModelSpec {
  int inputs = 0;
  std::vector<int> hidden;
  int classes = 0;
  float dropout = 0.0f;
};

struct OptimizerSpec {
  enum class Kind { adam, sgd };
  Kind kind = Kind::adam;
  float lr = 1e-3f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-7f;  // Adam (Keras defaults)
  float momentum = 0.9f;                            // SGD
};

// One split held in host memory (defined in data/dataset.h so the loaders can fill it).
using Dataset = gt::data::Dataset;

// Per layer l: weights[l] is [out_l * in_l] row-major, biases[l] is [out_l].
struct Parameters {
  std::vector<std::vector<float>> weights;
  std::vector<std::vector<float>> biases;
};

struct EpochStats {
  double loss = 0;      // mean training loss over the epoch's non-skipped steps
  double accuracy = 0;  // training accuracy over the epoch
  int64_t steps = 0;
  int64_t skipped_steps = 0;  // fp16 overflow steps
  double seconds = 0;         // wall time of the epoch, device work included
};

struct EvalStats {
  double loss = 0;
  double accuracy = 0;
};

// One forward+backward on a fixed batch (no shuffling, no dropout, no optimizer step):
// the reference and parity tests compare these against PyTorch and between backends.
struct StepDebug {
  std::vector<float> logits;  // [rows * classes]
  float loss = 0;
  Parameters grads;  // unscaled FP32 gradients of the mean loss
};

class Backend {
 public:
  virtual ~Backend() = default;
  // e.g. "cpu (OpenBLAS, 2 threads)" or "cuda:0 NVIDIA H100 80GB HBM3".
  virtual std::string describe() const = 0;
  // Allocates everything for this run and makes `train` resident. Called once.
  virtual void setup(const ModelSpec& model, const OptimizerSpec& opt, Precision precision,
                     int batch_size, const Dataset& train, uint64_t seed) = 0;
  virtual void set_parameters(const Parameters& params) = 0;
  virtual Parameters parameters() = 0;  // FP32 master weights
  // One pass over the training set in an order shuffled from (seed, epoch); the last batch
  // may be partial (Keras behaviour). Optimizer steps included.
  virtual EpochStats train_epoch(int epoch) = 0;
  virtual EvalStats evaluate(const Dataset& data) = 0;
  virtual float loss_scale() const = 0;  // 1 when the policy has no loss scaling
  virtual StepDebug debug_step(const Dataset& batch) = 0;
  // Runs `steps` optimizer steps on `batch` (fixed order, no dropout); returns each step's loss.
  virtual std::vector<float> debug_steps(const Dataset& batch, int steps) = 0;
};

std::unique_ptr<Backend> make_cpu_backend(bool naive_reference = false);
// Throws gt::Error with a clear reason when this build has no CUDA or no usable GPU.
std::unique_ptr<Backend> make_cuda_backend(int device);
// Number of usable CUDA devices (0 without a driver or without CUDA in this build).
int cuda_device_count();

}  // namespace gt::engine
