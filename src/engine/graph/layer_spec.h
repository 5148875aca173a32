// The layers a network is built from, as plain values (no storage, no backend): what each layer
// computes and its settings. A backend turns each one into its own implementation; shape
// inference and the parameter layout (network.h, param_layout.h) read them. Conventions:
//   Dense          y = x·Wᵀ + b, W [units][inputs] row-major as torch.nn.Linear;
//   Conv2D         "same" padding as Keras defines it: output = ceil(input / stride), the total
//                  padding max((out − 1)·stride + kernel − in, 0) split with the smaller half
//                  before (top/left) and the larger after; kernel [filters][kh][kw][in] (OHWI,
//                  the filter layout of NHWC convolutions); an optional bias [filters];
//   MaxPool2D      "valid" windows (output = (input − pool) / stride + 1, rounded down); the
//                  gradient goes to the first maximum of each window in row-major order;
//   GlobalAvgPool  the mean over height and width of each channel;
//   BatchNorm      per channel over the batch and the spatial positions; training normalises
//                  with the batch mean and biased variance, evaluation with the running
//                  statistics, updated as PyTorch does: running = (1 − momentum)·running +
//                  momentum·batch, with the unbiased batch variance (Keras' momentum m is
//                  PyTorch's 1 − m); γ, β and the running statistics are FP32 under every
//                  precision;
//   ReLU, Dropout  inverted dropout (kept units × 1/(1 − rate)), in training only;
//   Flatten        NHWC order (no data movement).
// The loss is softmax cross-entropy over the last layer's outputs (the logits).
#pragma once
#include <string>
#include <variant>

namespace gt::engine::graph {

struct Dense {
  int units = 0;
};
struct Conv2D {
  int filters = 0;
  int kernel = 3;  // square kernels
  int stride = 1;
  bool bias = true;
};
struct MaxPool2D {
  int pool = 2;
  int stride = 2;
};
struct GlobalAvgPool {};
struct BatchNorm {
  float eps = 1e-5f;
  float momentum = 0.1f;  // PyTorch's convention: the weight of the new batch
};
struct ReLU {};
struct Dropout {
  float rate = 0;
};
struct Flatten {};

using LayerSpec =
    std::variant<Dense, Conv2D, MaxPool2D, GlobalAvgPool, BatchNorm, ReLU, Dropout, Flatten>;

// "dense", "conv", "pool", "gap", "bn", "relu", "dropout", "flatten": layer names are this
// plus a 1-based count per kind ("conv2", "bn2").
std::string kind_name(const LayerSpec& spec);
// Whether the layer multiplies by a weight matrix (Dense, Conv2D): its inputs and its output
// gradients are GEMM operands, which the tf32 policy rounds to TF32.
bool is_gemm(const LayerSpec& spec);

}  // namespace gt::engine::graph
