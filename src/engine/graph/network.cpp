// Layer kinds, shape inference, network construction and the figures derived from a network
// (parameter count, training FLOPs).
#include "engine/graph/network.h"

#include <fmt/core.h>

#include <map>

#include "common/error.h"

namespace gt::engine::graph {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// Multiply-adds of one sample in a Dense or Conv2D layer (0 for the others).
double macs(const Layer& layer) {
  return std::visit(Overloaded{[&](const Dense& d) { return double(layer.in.size()) * d.units; },
                               [&](const Conv2D& c) {
                                 return double(layer.out.size()) * c.kernel * c.kernel *
                                        layer.in.channels;
                               },
                               [](const auto&) { return 0.0; }},
                    layer.spec);
}

bool has_parameters(const LayerSpec& spec) {
  return is_gemm(spec) || std::holds_alternative<BatchNorm>(spec);
}

}  // namespace

std::string to_string(const Shape& s) {
  if (s.flat()) return std::to_string(s.channels);
  return fmt::format("{}x{}x{}", s.height, s.width, s.channels);
}

Shape input_shape(const data::Dataset& data) {
  if (data.is_image()) return Shape{data.height, data.width, data.channels};
  return Shape{1, 1, data.features};
}

std::string kind_name(const LayerSpec& spec) {
  return std::visit(
      Overloaded{[](const Dense&) { return "dense"; }, [](const Conv2D&) { return "conv"; },
                 [](const MaxPool2D&) { return "pool"; },
                 [](const GlobalAvgPool&) { return "gap"; }, [](const BatchNorm&) { return "bn"; },
                 [](const ReLU&) { return "relu"; }, [](const Dropout&) { return "dropout"; },
                 [](const Flatten&) { return "flatten"; }},
      spec);
}

bool is_gemm(const LayerSpec& spec) {
  return std::holds_alternative<Dense>(spec) || std::holds_alternative<Conv2D>(spec);
}

Shape infer_shape(const LayerSpec& spec, const Shape& in, const std::string& name) {
  const auto refuse = [&](const std::string& why) {
    return gt::UsageError(
        fmt::format("layer {} cannot run on {} samples: {}", name, to_string(in), why));
  };
  if (in.size() <= 0) throw refuse("the input is empty");
  return std::visit(
      Overloaded{[&](const Dense& d) {
                   if (d.units <= 0) throw refuse("a Dense layer needs at least one unit");
                   if (!in.flat())
                     throw refuse("a Dense layer needs flat inputs (Flatten or pool first)");
                   return Shape{1, 1, d.units};
                 },
                 [&](const Conv2D& c) {
                   if (c.filters <= 0 || c.kernel <= 0 || c.stride <= 0)
                     throw refuse("filters, kernel and stride must be positive");
                   // "same": ceil(in / stride)
                   return Shape{(in.height + c.stride - 1) / c.stride,
                                (in.width + c.stride - 1) / c.stride, c.filters};
                 },
                 [&](const MaxPool2D& p) {
                   if (p.pool <= 0 || p.stride <= 0)
                     throw refuse("pool and stride must be positive");
                   if (in.height < p.pool || in.width < p.pool)
                     throw refuse(fmt::format("{}x{} max pooling needs at least {}x{} positions",
                                              p.pool, p.pool, p.pool, p.pool));
                   return Shape{(in.height - p.pool) / p.stride + 1,
                                (in.width - p.pool) / p.stride + 1, in.channels};
                 },
                 [&](const GlobalAvgPool&) {
                   return Shape{1, 1, in.channels};
                 },
                 [&](const BatchNorm& b) {
                   if (!(b.eps > 0) || !(b.momentum >= 0 && b.momentum <= 1))
                     throw refuse("BatchNorm needs eps > 0 and 0 <= momentum <= 1");
                   return in;
                 },
                 [&](const ReLU&) { return in; },
                 [&](const Dropout& d) {
                   if (!(d.rate >= 0 && d.rate < 1))
                     throw gt::UsageError(
                         fmt::format("--dropout {} is out of range (expected 0 <= p < 1)", d.rate));
                   return in;
                 },
                 [&](const Flatten&) {
                   return Shape{1, 1, int(in.size())};
                 }},
      spec);
}

Network make_network(std::string text, const Shape& input, int classes,
                     const std::vector<LayerSpec>& layers) {
  Network net;
  net.text = std::move(text);
  net.input = input;
  net.classes = classes;
  std::map<std::string, int> counts;
  Shape shape = input;
  for (const LayerSpec& spec : layers) {
    Layer layer;
    const std::string kind = kind_name(spec);
    layer.name = kind + std::to_string(++counts[kind]);
    layer.spec = spec;
    layer.in = shape;
    layer.out = shape = infer_shape(spec, shape, layer.name);
    net.layers.push_back(std::move(layer));
  }
  if (net.layers.empty() || !shape.flat() || shape.channels != classes)
    throw gt::Error(
        fmt::format("internal: network '{}' writes {} values per sample, not {} "
                    "logits",
                    net.text, to_string(shape), classes));
  return net;
}

int64_t parameter_count(const Network& net) {
  int64_t n = 0;
  for (const Layer& layer : net.layers)
    std::visit(Overloaded{[&](const Dense& d) { n += (layer.in.size() + 1) * d.units; },
                          [&](const Conv2D& c) {
                            n += int64_t(c.kernel) * c.kernel * layer.in.channels * c.filters +
                                 (c.bias ? c.filters : 0);
                          },
                          [&](const BatchNorm&) { n += 2 * int64_t(layer.in.channels); },
                          [](const auto&) {}},
               layer.spec);
  return n;
}

int first_trainable_layer(const Network& net) {
  for (size_t l = 0; l < net.layers.size(); ++l)
    if (has_parameters(net.layers[l].spec)) return int(l);
  return int(net.layers.size());
}

double train_flops_per_sample(const Network& net) {
  const int first = first_trainable_layer(net);
  double f = 0;
  for (size_t l = 0; l < net.layers.size(); ++l)
    f += (int(l) <= first ? 4.0 : 6.0) * macs(net.layers[l]);
  return f;
}

}  // namespace gt::engine::graph
