// A network: the layers of a model in order, each with its name and the sample shapes it
// reads and writes, inferred once from the data's input shape (shape inference is where a
// model that cannot run on the data is refused, with a one-line gt::UsageError). Every
// backend, the parameter layout and the run's figures (parameters, FLOPs) read this one value;
// model_text.h builds it from what a person writes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph/layer_spec.h"
#include "engine/graph/shape.h"

namespace gt::engine::graph {

struct Layer {
  std::string name;  // "conv1", "bn1", "dense2": unique, the prefix of its tensors' names
  LayerSpec spec;
  Shape in, out;  // one sample's shape before and after the layer
};

struct Network {
  std::string text;  // the canonical model text ("mlp:128", "cnn:32,64,128/128")
  Shape input;
  int classes = 0;
  std::vector<Layer> layers;  // the last one writes the logits (classes values per sample)
};

// The output shape of `spec` on an input of shape `in`; throws gt::UsageError naming the
// layer (`name`) and the shape when the layer cannot run on it.
Shape infer_shape(const LayerSpec& spec, const Shape& in, const std::string& name);

// Names the layers, infers every shape and checks that the last layer writes `classes`
// values per sample.
Network make_network(std::string text, const Shape& input, int classes,
                     const std::vector<LayerSpec>& layers);

// Trainable parameters (weights, biases, BatchNorm's γ and β; not its running statistics).
int64_t parameter_count(const Network& net);

// FLOPs of one training sample in the layers that multiply by weights (Dense and Conv2D; the
// element-wise layers are not counted): forward 2·MACs, weight gradient 2·MACs, input gradient
// 2·MACs unless no layer before it has parameters (then nothing needs that gradient).
double train_flops_per_sample(const Network& net);

// Index of the first layer with trainable parameters: backward passes stop there (what comes
// before it needs no gradient).
int first_trainable_layer(const Network& net);

}  // namespace gt::engine::graph
