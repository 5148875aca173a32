// The layer graph's vocabulary: the model text (parsing, canonical form, one-line errors),
// shape inference, the parameter layout (names, shapes, trainable slots first, alignment), the
// one initialiser (Keras' Glorot and He bounds, seeded, BatchNorm's ones and zeros), parameter
// and FLOP counts, the MLP pattern the CUDA backend accepts, and the factors a plan may vary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "common/error.h"
#include "engine/backend.h"
#include "engine/graph/init.h"
#include "engine/graph/model_text.h"
#include "engine/graph/param_layout.h"
#include "engine/train_factors.h"

namespace gt::engine::graph {
namespace {

using ::testing::HasSubstr;

std::string usage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const gt::UsageError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return e.what();
  }
  ADD_FAILURE() << "no usage error";
  return "";
}

TEST(ModelText, ParsesBothFamiliesToACanonicalText) {
  const ModelText mlp = parse_model_text("mlp:512,256");
  EXPECT_EQ(mlp.family, "mlp");
  EXPECT_EQ(mlp.neurons, (std::vector<int>{512, 256}));
  EXPECT_EQ(to_string(mlp), "mlp:512,256");
  const ModelText cnn = parse_model_text("cnn:32,64,128");
  EXPECT_EQ(cnn.filters, (std::vector<int>{32, 64, 128}));
  EXPECT_EQ(cnn.neurons, (std::vector<int>{kDefaultHead}));
  EXPECT_EQ(to_string(cnn), "cnn:32,64,128/128");
  EXPECT_EQ(to_string(parse_model_text("cnn:16/64,32")), "cnn:16/64,32");
}

TEST(ModelText, RefusesMalformedTextsNamingThem) {
  for (const char* bad : {"cnn:", "cnn:32/", "cnn:/64", "cnn:3,,4", "cnn:0", "rnn:4", "mlp",
                          "mlp:4/8", "cnn:32/64/8", "mlp:99999999"})
    EXPECT_THAT(usage_error([&] { parse_model_text(bad); }),
                HasSubstr(std::string("unknown model spec '") + bad + "'"));
}

TEST(Network, CnnBlocksInferShapesFromTheImage) {
  const Network net = parse_network("cnn:32,64,128", Shape{32, 32, 1}, 10, 0.5f);
  std::vector<std::string> names;
  for (const auto& l : net.layers) names.push_back(l.name);
  EXPECT_EQ(names, (std::vector<std::string>{"conv1", "bn1", "relu1", "pool1", "conv2", "bn2",
                                             "relu2", "pool2", "conv3", "bn3", "relu3", "pool3",
                                             "gap1", "dense1", "relu4", "dropout1", "dense2"}));
  EXPECT_EQ(net.layers[0].out, (Shape{32, 32, 32}));
  EXPECT_EQ(net.layers[3].out, (Shape{16, 16, 32}));
  EXPECT_EQ(net.layers[11].out, (Shape{4, 4, 128}));
  EXPECT_EQ(net.layers[12].out, (Shape{1, 1, 128}));
  EXPECT_EQ(net.layers.back().out, (Shape{1, 1, 10}));
  // 28×28 pools to 14, 7, then 3 (valid pooling rounds down).
  EXPECT_EQ(parse_network("cnn:8,8,8", Shape{28, 28, 1}, 10).layers[11].out, (Shape{3, 3, 8}));
  // Trainable: conv kernels (no bias), γ and β, the head and the classifier.
  EXPECT_EQ(parameter_count(net), 9 * 1 * 32 + 2 * 32 + 9 * 32 * 64 + 2 * 64 + 9 * 64 * 128 +
                                      2 * 128 + (128 + 1) * 128 + (128 + 1) * 10);
  // FLOPs: the first convolution needs no input gradient.
  const double conv1 = 32.0 * 32 * 32 * 9, conv2 = 16.0 * 16 * 64 * 9 * 32,
               conv3 = 8.0 * 8 * 128 * 9 * 64;
  EXPECT_DOUBLE_EQ(train_flops_per_sample(net),
                   4 * conv1 + 6 * (conv2 + conv3) + 6 * (128.0 * 128 + 128.0 * 10));
}

TEST(Network, RefusesModelsTheDataCannotRun) {
  EXPECT_THAT(usage_error([] {
                parse_network("cnn:8", Shape{1, 1, 784}, 10);
              }),
              HasSubstr("needs image data"));
  EXPECT_THAT(usage_error([] {
                parse_network("cnn:8,8,8", Shape{4, 4, 1}, 10);
              }),
              HasSubstr("block 3 cannot pool a 1x1 image"));
  EXPECT_THAT(usage_error([] {
                parse_network("mlp:8", Shape{1, 1, 4}, 2, 1.0f);
              }),
              HasSubstr("--dropout 1"));
  EXPECT_THAT(usage_error([] {
                infer_shape(Dense{4}, Shape{3, 3, 2}, "dense1");
              }),
              HasSubstr("layer dense1 cannot run on 3x3x2 samples"));
  // Stride-2 "same" convolution: ceil(in / 2).
  EXPECT_EQ(infer_shape(Conv2D{4, 3, 2, true}, Shape{7, 6, 3}, "c"), (Shape{4, 3, 4}));
  EXPECT_EQ(infer_shape(MaxPool2D{3, 2}, Shape{7, 8, 3}, "p"), (Shape{3, 3, 3}));
}

TEST(ParamLayout, NamedSlotsTrainableFirstAligned) {
  const Network net = parse_network("cnn:4,8/16", Shape{8, 8, 3}, 5);
  const ParamLayout L = layout_of(net);
  std::vector<std::string> names;
  for (const auto& s : L.slots) names.push_back(s.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"conv1.weight", "bn1.gamma", "bn1.beta", "conv2.weight",
                                      "bn2.gamma", "bn2.beta", "dense1.weight", "dense1.bias",
                                      "dense2.weight", "dense2.bias", "bn1.running_mean",
                                      "bn1.running_var", "bn2.running_mean", "bn2.running_var"}));
  EXPECT_EQ(L.slot("conv2.weight").shape, (std::vector<int>{8, 3, 3, 4}));  // OHWI
  EXPECT_EQ(L.slot("dense1.weight").shape, (std::vector<int>{16, 8}));
  int64_t end = 0;
  for (const auto& s : L.slots) {
    EXPECT_EQ(s.offset % kSlabAlign, 0) << s.name;
    EXPECT_GE(s.offset, end) << s.name;
    end = s.offset + s.size;
    EXPECT_EQ(s.trainable, s.offset < L.trainable_elements) << s.name;
    EXPECT_EQ(s.fp32_only, s.name.rfind("bn", 0) == 0) << s.name;
  }
  EXPECT_LE(end, L.elements);
  EXPECT_THROW(L.slot("conv3.weight"), gt::Error);
}

TEST(Initialiser, KerasBoundsSeededAndBatchNormOnesAndZeros) {
  const ParamLayout L = layout_of(parse_network("cnn:16,32/64", Shape{8, 8, 3}, 10));
  const std::vector<float> a = initial_values(L, 5), b = initial_values(L, 5),
                           c = initial_values(L, 6);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  for (const auto& s : L.slots) {
    const auto v = view(std::span<const float>(a), s);
    double limit = 0;
    if (s.init == Init::glorot_uniform) limit = std::sqrt(6.0 / (s.fan_in + s.fan_out));
    if (s.init == Init::he_uniform) limit = std::sqrt(6.0 / s.fan_in);
    if (limit > 0) {
      double mx = 0, sq = 0;
      for (float x : v) mx = std::max(mx, double(std::abs(x))), sq += double(x) * x;
      EXPECT_LE(mx, limit) << s.name;
      EXPECT_GT(mx, 0.9 * limit) << s.name;
      EXPECT_NEAR(sq / double(v.size()), limit * limit / 3, 0.15 * limit * limit) << s.name;
    } else {
      const float want =
          s.role == TensorRole::gamma || s.role == TensorRole::running_var ? 1.0f : 0.0f;
      for (float x : v) EXPECT_EQ(x, want) << s.name;
    }
  }
  EXPECT_EQ(L.slot("conv2.weight").fan_in, 9 * 16);  // He: kh·kw·in
  EXPECT_EQ(L.slot("conv2.weight").init, Init::he_uniform);
  EXPECT_EQ(L.slot("dense1.weight").init, Init::glorot_uniform);
}

TEST(MlpView, PatternMatchAndPerLayerRoundTrip) {
  const ModelSpec spec{20, {16, 12}, 5, 0.25f};
  const Network net = to_network(spec);
  const auto back = as_mlp(net);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->hidden, spec.hidden);
  EXPECT_EQ(back->dropout, spec.dropout);
  EXPECT_EQ(back->inputs, 20);
  EXPECT_FALSE(as_mlp(parse_network("cnn:4", Shape{4, 4, 1}, 3)));
  const ParamLayout L = layout_of(net);
  const std::vector<float> v = initial_values(L, 9);
  const Parameters p = dense_view(L, v);
  ASSERT_EQ(p.weights.size(), 3u);
  EXPECT_EQ(p.weights[1].size(), 16u * 12u);
  EXPECT_EQ(dense_slab(L, p), v);
  Parameters wrong = p;
  wrong.biases.pop_back();
  EXPECT_THROW(dense_slab(L, wrong), gt::Error);
  EXPECT_THROW(dense_view(layout_of(parse_network("cnn:4", Shape{4, 4, 1}, 3)), v), gt::Error);
}

TEST(TrainFactors, LevelsModelTextsAndLabels) {
  EXPECT_NO_THROW(check_factor_level("filters", "32,64,128"));
  EXPECT_NO_THROW(check_factor_level("image_size", "64"));
  EXPECT_THAT(usage_error([] { check_factor_level("filters", "32,,64"); }),
              HasSubstr("expected convolution filters"));
  EXPECT_THAT(usage_error([] { check_factor_level("precision", "fp8"); }),
              HasSubstr("expected one of fp32, tf32, fp16, bf16"));
  EXPECT_EQ(run_model_text("mlp", std::string("512,256"), std::nullopt), "mlp:512,256");
  EXPECT_EQ(run_model_text("cnn", std::string("256"), std::string("32,64")), "cnn:32,64/256");
  EXPECT_EQ(run_model_text("cnn", std::nullopt, std::string("32,64")), "cnn:32,64/128");
  EXPECT_EQ(run_model_text("cnn:8,16/32", std::string("64"), std::nullopt), "cnn:8,16/64");
  EXPECT_EQ(run_model_text("mlp:128", std::nullopt, std::nullopt), "mlp:128");
  EXPECT_THAT(usage_error([] { run_model_text("mlp", std::nullopt, std::nullopt); }),
              HasSubstr("expected \"mlp:H\""));
  EXPECT_THAT(usage_error([] { run_model_text("cnn", std::string("8"), std::nullopt); }),
              HasSubstr("filters factor"));
  EXPECT_THAT(usage_error([] { run_model_text("mlp", std::string("8"), std::string("4")); }),
              HasSubstr("no convolutions"));
  EXPECT_EQ(factor_label("filters", "32,64"), "filters 32,64");
  EXPECT_EQ(factor_label("neurons", "128"), "128 neurons");
  EXPECT_EQ(factor_label("epochs", "1"), "1 epoch");
  EXPECT_EQ(factor_label("image_size", "32"), "32 px");
  EXPECT_EQ(factor_label("seed_offset", "3"), "seed_offset=3");
}

}  // namespace
}  // namespace gt::engine::graph
