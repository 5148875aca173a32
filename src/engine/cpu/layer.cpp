// The layer factory (one case per layer kind) and the Store's bulk rounding.
#include "engine/cpu/layer.h"

namespace gt::engine::cpu {

void Store::apply(float* values, int64_t n, int threads) const {
  if (!rounds()) return;
  const Store s = *this;
#pragma omp parallel for simd num_threads(threads) if (threads > 1 && n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) values[i] = s(values[i]);
}

BatchNormTensors::BatchNormTensors(const Binding& b, int index, int channels_)
    : channels(channels_) {
  using graph::TensorRole;
  const auto at = [&](float* slab, TensorRole role) {
    return slab + b.layout->find(index, role)->offset;
  };
  gamma = at(b.master, TensorRole::gamma);
  beta = at(b.master, TensorRole::beta);
  running_mean = at(b.master, TensorRole::running_mean);
  running_var = at(b.master, TensorRole::running_var);
  grad_gamma = at(b.grads, TensorRole::gamma);
  grad_beta = at(b.grads, TensorRole::beta);
}

void BatchNormTensors::move_statistics(const float* mean, const float* biased_var, double count,
                                       float momentum) const {
  for (int c = 0; c < channels; ++c) {
    const double unbiased = count > 1 ? double(biased_var[c]) * count / (count - 1) : biased_var[c];
    running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean[c];
    running_var[c] = (1.0f - momentum) * running_var[c] + momentum * float(unbiased);
  }
}

bool fused_into_previous(const graph::Network& net, int index) {
  return index > 0 && std::holds_alternative<graph::ReLU>(net.layers[size_t(index)].spec) &&
         std::holds_alternative<graph::BatchNorm>(net.layers[size_t(index - 1)].spec);
}

std::unique_ptr<CpuLayer> make_cpu_layer(const graph::Network& net, int index, const Binding& b,
                                         const Context& c) {
  const graph::Layer& layer = net.layers[size_t(index)];
  const graph::LayerSpec& spec = layer.spec;
  if (std::holds_alternative<graph::Dense>(spec)) return make_dense(layer, index, b, c);
  if (std::holds_alternative<graph::Conv2D>(spec)) return make_conv2d(layer, index, b, c);
  if (std::holds_alternative<graph::MaxPool2D>(spec))
    return c.naive ? make_max_pool(layer, b, c) : make_onednn_max_pool(layer, b, c);
  if (std::holds_alternative<graph::GlobalAvgPool>(spec)) return make_global_avg_pool(layer, b, c);
  if (std::holds_alternative<graph::BatchNorm>(spec))
    return c.naive ? make_batch_norm(layer, index, b, c)
                   : make_onednn_batch_norm(layer, index, b, c);
  if (std::holds_alternative<graph::ReLU>(spec))
    return fused_into_previous(net, index) ? make_pass_through() : make_relu(layer, b, c);
  if (std::holds_alternative<graph::Dropout>(spec)) return make_dropout(layer, b, c);
  return make_pass_through();
}

}  // namespace gt::engine::cpu
