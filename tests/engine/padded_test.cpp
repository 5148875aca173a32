// Channel padding for tensor cores (graph/padded.h): the padded network's shapes and layout, the
// map between the two layouts (every tensor kind: convolution kernels, BatchNorm vectors, a Dense
// after global pooling and a Dense after a Flatten of an image), and the claim the CUDA backend
// rests on — the padded network with zero padding computes what the original computes — checked
// on the CPU's naive reference: from the same values and the same images (zero channels added),
// the logits, loss and every gradient agree, and the padding's gradients are exactly zero.
#include "engine/graph/padded.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/backend.h"
#include "engine/graph/init.h"
#include "engine/graph/model_text.h"

namespace gt::engine::graph {
namespace {

Network conv_then_flatten() {
  return make_network("test", Shape{5, 5, 3}, 4,
                      {Conv2D{6, 3, 2, true}, ReLU{}, BatchNorm{}, Flatten{}, Dense{4}});
}

TEST(Padded, RoundsInputChannelsAndFiltersUp) {
  const Network net = parse_network("cnn:4,6/8", Shape{9, 9, 3}, 5);
  const PaddedNetwork p = pad_channels(net, 8);
  EXPECT_TRUE(p.changed);
  EXPECT_EQ(p.net.input, (Shape{9, 9, 8}));
  EXPECT_EQ(p.net.text, net.text);
  ASSERT_EQ(p.net.layers.size(), net.layers.size());
  for (size_t l = 0; l < net.layers.size(); ++l)
    EXPECT_EQ(p.net.layers[l].name, net.layers[l].name);
  EXPECT_EQ(p.layout.slot("conv1.weight").shape, (std::vector<int>{8, 3, 3, 8}));
  EXPECT_EQ(p.layout.slot("conv2.weight").shape, (std::vector<int>{8, 3, 3, 8}));
  EXPECT_EQ(p.layout.slot("bn2.running_var").shape, (std::vector<int>{8}));
  EXPECT_EQ(p.layout.slot("dense1.weight").shape, (std::vector<int>{8, 8}));  // after GAP
  EXPECT_EQ(p.layout.slot("dense2.weight").shape, (std::vector<int>{5, 8}));  // head untouched
  EXPECT_EQ(p.layout.slots.size(), layout_of(net).slots.size());
}

TEST(Padded, MultipleOneChangesNothing) {
  const Network net = parse_network("cnn:4,6/8", Shape{9, 9, 3}, 5);
  const PaddedNetwork p = pad_channels(net, 1);
  EXPECT_FALSE(p.changed);
  EXPECT_EQ(p.layout.elements, layout_of(net).elements);
  for (size_t i = 0; i < p.index.size(); ++i) {
    if (p.index[i] >= 0) {
      EXPECT_EQ(p.index[i], int64_t(i));
    }
  }
}

TEST(Padded, MapsEveryTensorKind) {
  const Network net = conv_then_flatten();
  const PaddedNetwork p = pad_channels(net, 4);
  const ParamLayout original = layout_of(net);
  std::vector<float> values(size_t(original.elements), 0.0f);
  for (const TensorSlot& s : original.slots)
    for (int64_t i = 0; i < s.size; ++i) values[size_t(s.offset + i)] = float(s.offset + i + 1);
  const std::vector<float> padded = to_padded(p, values);
  // conv1.weight [6][3][3][3] → [8][3][3][4]: element (k, r, s, c) at ((k·3 + r)·3 + s)·4 + c.
  const TensorSlot& cw = original.slot("conv1.weight");
  const TensorSlot& pcw = p.layout.slot("conv1.weight");
  EXPECT_EQ(padded[size_t(pcw.offset + ((5 * 3 + 2) * 3 + 1) * 4 + 2)],
            values[size_t(cw.offset + ((5 * 3 + 2) * 3 + 1) * 3 + 2)]);
  EXPECT_EQ(padded[size_t(pcw.offset + ((5 * 3 + 2) * 3 + 1) * 4 + 3)], 0.0f);  // a padded channel
  EXPECT_EQ(padded[size_t(pcw.offset + 7 * 36)], 0.0f);                         // a padded filter
  // dense1.weight [4][3·3·6] → [4][3·3·8]: input (h, w, c) at (h·3 + w)·8 + c.
  const TensorSlot& dw = original.slot("dense1.weight");
  const TensorSlot& pdw = p.layout.slot("dense1.weight");
  EXPECT_EQ(pdw.shape, (std::vector<int>{4, 72}));
  EXPECT_EQ(padded[size_t(pdw.offset + 3 * 72 + (2 * 3 + 1) * 8 + 5)],
            values[size_t(dw.offset + 3 * 54 + (2 * 3 + 1) * 6 + 5)]);
  EXPECT_EQ(padded[size_t(pdw.offset + 3 * 72 + (2 * 3 + 1) * 8 + 6)], 0.0f);
  // BatchNorm vectors keep their channels first.
  EXPECT_EQ(padded[size_t(p.layout.slot("bn1.running_var").offset + 5)],
            values[size_t(original.slot("bn1.running_var").offset + 5)]);
  EXPECT_EQ(padded[size_t(p.layout.slot("bn1.running_var").offset + 6)], 0.0f);
  EXPECT_EQ(from_padded(p, padded), values);
}

// The padded network with its padding zero computes what the original computes.
void expect_same_function(const Network& net, int multiple) {
  const PaddedNetwork p = pad_channels(net, multiple);
  const int rows = 5;
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<float> u(-1, 1);
  Dataset batch, padded_batch;
  for (Dataset* d : {&batch, &padded_batch}) {
    d->rows = rows;
    d->classes = net.classes;
    d->height = net.input.height;
    d->width = net.input.width;
  }
  batch.channels = net.input.channels;
  batch.features = int(net.input.size());
  padded_batch.channels = p.net.input.channels;
  padded_batch.features = int(p.net.input.size());
  for (int64_t i = 0; i < rows * net.input.size(); ++i) {
    batch.f32.push_back(u(rng));
    padded_batch.f32.push_back(batch.f32.back());
    if ((i + 1) % net.input.channels == 0)
      for (int c = net.input.channels; c < p.net.input.channels; ++c)
        padded_batch.f32.push_back(0.0f);
  }
  for (int r = 0; r < rows; ++r) batch.labels.push_back(int32_t(r % net.classes));
  padded_batch.labels = batch.labels;
  std::vector<float> values = initial_values(layout_of(net), 9);
  for (const TensorSlot& s : layout_of(net).slots)  // non-trivial biases, γ, β and statistics
    if (s.role != TensorRole::weight)
      for (int64_t i = 0; i < s.size; ++i) values[size_t(s.offset + i)] += 0.3f * u(rng) + 0.4f;

  auto a = make_cpu_backend(true), b = make_cpu_backend(true);
  a->setup(net, OptimizerSpec{}, Precision::fp32, rows, batch, 1);
  b->setup(p.net, OptimizerSpec{}, Precision::fp32, rows, padded_batch, 1);
  a->set_values(values);
  b->set_values(to_padded(p, values));
  const StepDebug da = a->debug_step(batch), db = b->debug_step(padded_batch);
  ASSERT_EQ(da.logits.size(), db.logits.size());
  for (size_t i = 0; i < da.logits.size(); ++i) EXPECT_NEAR(da.logits[i], db.logits[i], 1e-5);
  EXPECT_NEAR(da.loss, db.loss, 1e-6);
  const std::vector<float> grads = from_padded(p, db.grad_values);
  for (size_t i = 0; i < grads.size(); ++i)
    EXPECT_NEAR(grads[i], da.grad_values[i], 1e-5 + 1e-5 * std::abs(da.grad_values[i])) << i;
  // The padding's gradients are exactly zero, so training leaves it zero.
  std::vector<bool> real(db.grad_values.size(), false);
  for (int64_t j : p.index)
    if (j >= 0) real[size_t(j)] = true;
  for (size_t j = 0; j < real.size(); ++j) {
    if (!real[j]) {
      EXPECT_EQ(db.grad_values[j], 0.0f) << j;
    }
  }
}

TEST(Padded, ComputesTheSameFunctionOnTheCpu) {
  expect_same_function(parse_network("cnn:4,6/8", Shape{9, 9, 3}, 5), 8);
  expect_same_function(conv_then_flatten(), 4);
  expect_same_function(make_network("test", Shape{6, 6, 1}, 3,
                                    {BatchNorm{}, Conv2D{5, 1, 1, true}, ReLU{}, MaxPool2D{3, 2},
                                     GlobalAvgPool{}, Dense{3}}),
                       8);
}

}  // namespace
}  // namespace gt::engine::graph
