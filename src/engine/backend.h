// The contract between the training loop (engine/train.cpp) and a compute backend (CPU in
// engine/cpu/, CUDA in engine/cuda/). A backend trains one network (graph/network.h) and owns
// every buffer of the run: `setup` sizes and allocates them once (parameter slabs, gradients,
// FP32 master weights, optimizer moments, activations, the resident training set on a GPU);
// nothing is allocated inside a step. The caller keeps the training set alive while the backend
// lives (the CPU backend reads it in place). Parameters cross this interface as one FP32 slab
// laid out by the network's ParamLayout (graph/param_layout.h): trainable tensors, then
// buffers (BatchNorm's running statistics); ModelSpec and Parameters are the per-Dense-layer
// view of an MLP that tests and benchmarks write directly.
// Optimizers follow torch.optim: Adam w -= lr·m̂/(√v̂+ε) with bias-corrected m̂, v̂ (t counts
// applied steps only; a skipped fp16 step does not advance t); SGD buf = μ·buf + g, w -= lr·buf.
// Loss = mean softmax cross-entropy over the batch. Dropout is inverted (kept units ×1/(1−p)).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/graph/network.h"
#include "engine/graph/param_layout.h"
#include "engine/precision.h"

namespace gt::engine {

// Flatten → Dense(hidden[0], ReLU) → … → Dense(classes). Dropout after each hidden ReLU.
struct ModelSpec {
  int inputs = 0;
  std::vector<int> hidden;
  int classes = 0;
  float dropout = 0.0f;
};

// The network of an MLP spec (on flat inputs), and the MLP spec of a network that is one
// (Flatten, then Dense → ReLU [→ Dropout] per hidden layer with one dropout rate, then Dense),
// else nothing: the pattern the fused and hand-written MLP paths accept.
graph::Network to_network(const ModelSpec& spec);
std::optional<ModelSpec> as_mlp(const graph::Network& net);

struct OptimizerSpec {
  enum class Kind { adam, sgd };
  Kind kind = Kind::adam;
  float lr = 1e-3f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-7f;  // Adam (Keras defaults)
  float momentum = 0.9f;                            // SGD
};

// One split held in host memory (defined in data/dataset.h so the loaders can fill it).
using Dataset = gt::data::Dataset;

// Per Dense layer l: weights[l] is [out_l * in_l] row-major, biases[l] is [out_l]: the view of
// a slab whose network has only Dense layers (dense_view refuses any other).
struct Parameters {
  std::vector<std::vector<float>> weights;
  std::vector<std::vector<float>> biases;
};
Parameters dense_view(const graph::ParamLayout& layout, std::span<const float> slab);
std::vector<float> dense_slab(const graph::ParamLayout& layout, const Parameters& params);

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
  std::vector<float> grad_values;  // unscaled FP32 gradients of the mean loss, in the layout
  Parameters grads;                // the same per Dense layer (networks of Dense layers only)
};

class Backend {
 public:
  virtual ~Backend() = default;
  // e.g. "cpu (OpenBLAS, 2 threads)" or "cuda:0 NVIDIA H100 80GB HBM3".
  virtual std::string describe() const = 0;
  // Allocates everything for this run and makes `train` resident. Called once.
  virtual void setup(const graph::Network& net, const OptimizerSpec& opt, Precision precision,
                     int batch_size, const Dataset& train, uint64_t seed) = 0;
  void setup(const ModelSpec& model, const OptimizerSpec& opt, Precision precision, int batch_size,
             const Dataset& train, uint64_t seed);
  // The layout of the network set up (valid after setup).
  virtual const graph::ParamLayout& layout() const = 0;
  // Every tensor (trainable and buffers) as one FP32 slab in layout() order: sets the master
  // weights, and the copies the compute reads.
  // Sets every slot and starts training afresh from them: optimizer moments zero, no step
  // taken, the initial loss scale (as setup leaves it).
  virtual void set_values(std::span<const float> values) = 0;
  virtual std::vector<float> values() = 0;  // the FP32 master weights and buffers
  // The same for networks of Dense layers only, one tensor per layer.
  void set_parameters(const Parameters& params);
  Parameters parameters();
  // One pass over the training set in an order shuffled from (seed, epoch); the last batch
  // may be partial (Keras behaviour). Optimizer steps included.
  virtual EpochStats train_epoch(int epoch) = 0;
  virtual EvalStats evaluate(const Dataset& data) = 0;
  virtual float loss_scale() const = 0;  // 1 when the policy has no loss scaling
  // Training-mode statistics (BatchNorm's batch statistics), no dropout, running statistics
  // left as they are.
  virtual StepDebug debug_step(const Dataset& batch) = 0;
  // Runs `steps` optimizer steps on `batch` (fixed order, no dropout, running statistics
  // updated as by training steps); returns each step's loss.
  virtual std::vector<float> debug_steps(const Dataset& batch, int steps) = 0;
  // What the backend chose for this run where it had a choice, one line each, for the run's
  // notes (the CUDA CNN path: fallback kernels, resident or streamed data, CUDA graphs or eager
  // launches). Valid after setup.
  virtual std::vector<std::string> notes() const { return {}; }
};

std::unique_ptr<Backend> make_cpu_backend(bool naive_reference = false);
// Throws gt::Error with a clear reason when this build has no CUDA or no usable GPU.
std::unique_ptr<Backend> make_cuda_backend(int device);
// Number of usable CUDA devices (0 without a driver or without CUDA in this build).
int cuda_device_count();

}  // namespace gt::engine
