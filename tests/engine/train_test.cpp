// The training loop and model specs: spec parsing and its errors, Glorot bounds, the loop on a
// small separable CSV problem (learns it, reproducible per seed, the keys of train --json), and
// the one-line usage errors (batch size 0 or larger than the data, unknown model, bad device).
#include "engine/train.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/error.h"
#include "common/temp_dir.h"
#include "engine/model.h"

namespace gt::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(ModelSpec, ParsesStackedLayers) {
  const ModelSpec s = parse_model_spec("mlp:512,256", 784, 10);
  EXPECT_EQ(s.hidden, (std::vector<int>{512, 256}));
  EXPECT_EQ(neurons_string(s), "512,256");
  EXPECT_EQ(to_string(s), "mlp:512,256");
  EXPECT_EQ(parameter_count(parse_model_spec("mlp:128", 784, 10)), 784 * 128 + 128 + 128 * 10 + 10);
  EXPECT_DOUBLE_EQ(train_flops_per_sample(parse_model_spec("mlp:128", 784, 10)),
                   4.0 * 784 * 128 + 6.0 * 128 * 10);
}

TEST(ModelSpec, RejectsUnknownSpecs) {
  for (const char* bad : {"cnn:3", "mlp:", "mlp:0", "mlp:12,", "mlp:a", "mlp:-4", "128"}) {
    try {
      parse_model_spec(bad, 4, 2);
      ADD_FAILURE() << bad << " accepted";
    } catch (const gt::UsageError& e) {
      EXPECT_THAT(e.what(), HasSubstr(std::string("'") + bad + "'"));
    }
  }
  EXPECT_THROW(parse_model_spec("mlp:8", 4, 2, 1.0f), gt::UsageError);
}

TEST(ModelSpec, GlorotUniformBoundsAndDeterminism) {
  const ModelSpec s = parse_model_spec("mlp:128", 784, 10);
  const Parameters a = glorot_uniform(s, 5), b = glorot_uniform(s, 5), c = glorot_uniform(s, 6);
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_NE(a.weights, c.weights);
  const double limit = std::sqrt(6.0 / (784 + 128));
  double sum = 0, sq = 0, mx = 0;
  for (float w : a.weights[0]) {
    mx = std::max(mx, double(std::abs(w)));
    sum += w;
    sq += double(w) * w;
  }
  const double n = double(a.weights[0].size());
  EXPECT_LE(mx, limit);
  EXPECT_GT(mx, 0.99 * limit);
  EXPECT_NEAR(sum / n, 0.0, 0.01 * limit);
  EXPECT_NEAR(sq / n, limit * limit / 3.0, 0.02 * limit * limit);  // variance of U(±l)
  for (const auto& bias : a.biases)
    for (float v : bias) EXPECT_EQ(v, 0.0f);
}

TEST(EpochOrder, IsAPermutationPerSeedAndEpoch) {
  auto o = epoch_order(1000, 3, 0);
  EXPECT_EQ(o, epoch_order(1000, 3, 0));
  EXPECT_NE(o, epoch_order(1000, 3, 1));
  std::sort(o.begin(), o.end());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(o[i], i);
}

// Two Gaussian blobs in 5 dimensions, 3 classes by the sign pattern: easily separable.
std::string blobs_csv(const std::string& name, int rows, uint64_t seed) {
  static const gt::testing::TempDir scratch("greentrain-train");
  const auto p = scratch.path() / (name + ".csv");
  std::ofstream out(p);
  out << "f0,f1,f2,f3,f4,label\n";
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0, 0.5);
  for (int i = 0; i < rows; ++i) {
    const int y = i % 3;
    const double cx = y == 0 ? -2 : (y == 1 ? 2 : 0), cy = y == 2 ? 2 : -1;
    out << cx + n(rng) << "," << cy + n(rng) << "," << n(rng) << "," << n(rng) << "," << 5 + n(rng)
        << "," << y << "\n";
  }
  return p.string();
}

TrainConfig blobs_config() {
  TrainConfig c;
  c.data.spec = "csv:" + blobs_csv("train", 600, 1) + "," + blobs_csv("test", 150, 2);
  c.data.validation = 0.2;
  c.model = "mlp:16";
  c.batch_size = 16;
  c.epochs = 4;
  c.device = "cpu";
  c.seed = 3;
  c.optimizer.lr = 1e-2f;
  return c;
}

TEST(Train, LearnsASeparableProblemInEveryPrecision) {
  for (Precision p : {Precision::fp32, Precision::tf32, Precision::fp16, Precision::bf16}) {
    TrainConfig c = blobs_config();
    c.precision = p;
    int calls = 0;
    const TrainResult r = train(c, [&](const EpochRecord& e, int epochs) {
      EXPECT_EQ(e.epoch, ++calls);
      EXPECT_EQ(epochs, 4);
    });
    EXPECT_EQ(calls, 4);
    ASSERT_TRUE(r.test_accuracy && r.val_accuracy);
    EXPECT_GT(*r.test_accuracy, 0.95) << to_string(p);
    EXPECT_GT(*r.val_accuracy, 0.95) << to_string(p);
    EXPECT_EQ(r.train_rows, 480);
    EXPECT_EQ(r.validation_rows, 120);
    EXPECT_EQ(r.steps, 4 * 30);
    EXPECT_EQ(r.skipped_steps, 0);
    EXPECT_LT(r.epochs_detail.back().loss, r.epochs_detail.front().loss);
  }
}

TEST(Train, SameSeedSameResultAndJsonKeys) {
  TrainConfig c = blobs_config();
  c.epochs = 2;
  c.dropout = 0.2f;
  const TrainResult a = train(c), b = train(c);
  EXPECT_EQ(a.final_loss, b.final_loss);
  EXPECT_EQ(a.test_accuracy, b.test_accuracy);
  const nlohmann::json j = a.to_json();
  for (const char* key : {"precision", "batch_size", "epochs", "model", "device", "duration_s",
                          "test_accuracy", "val_accuracy", "final_loss", "skipped_steps",
                          "samples_per_s", "ms_per_epoch", "tflops", "epochs_detail"})
    EXPECT_TRUE(j.contains(key)) << key;
  ASSERT_EQ(j["epochs_detail"].size(), 2u);
  for (const char* key : {"epoch", "loss", "accuracy", "val_accuracy", "seconds"})
    EXPECT_TRUE(j["epochs_detail"][0].contains(key)) << key;
  EXPECT_EQ(j["device"], "cpu");
  EXPECT_EQ(j["model"], "mlp:16");
}

std::string usage_error(const TrainConfig& c) {
  try {
    train(c);
  } catch (const gt::UsageError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return e.what();
  }
  ADD_FAILURE() << "no usage error";
  return "";
}

// min_phase_s repeats the training inside the one train phase from the same initial weights
// (the optimizer restarted each time), so every repetition is the same training: the first
// repetition's figures, and the model evaluated, are exactly those of a single run.
TEST(Train, MinPhaseRepeatsTheSameTrainingInsideOneTrainPhase) {
  TrainConfig c = blobs_config();
  c.epochs = 2;
  const TrainResult once = train(c);
  EXPECT_EQ(once.train_repetitions, 1);
  c.min_phase_s = 0.2;
  std::vector<std::string> marks;
  int progress_calls = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double train_begin = 0, train_end = 0;
  const TrainResult many = train(
      c, [&](const EpochRecord&, int) { ++progress_calls; },
      [&](const char* name, bool begin) {
        marks.push_back(std::string(name) + (begin ? " begin" : " end"));
        const double t =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (std::string(name) == "train") (begin ? train_begin : train_end) = t;
      });
  EXPECT_GT(many.train_repetitions, 1);
  EXPECT_GE(train_end - train_begin, 0.2);
  EXPECT_EQ(progress_calls, 2);  // only the first repetition's epochs are reported
  EXPECT_EQ(many.epochs_detail.size(), 2u);
  EXPECT_EQ(many.final_loss, once.final_loss);
  EXPECT_EQ(many.test_accuracy, once.test_accuracy);
  EXPECT_EQ(many.val_accuracy, once.val_accuracy);
  // One train phase around every repetition, an epoch window only for the first one's epochs.
  EXPECT_EQ(std::count(marks.begin(), marks.end(), "train begin"), 1);
  EXPECT_EQ(std::count(marks.begin(), marks.end(), "epoch begin"), 2);
  EXPECT_EQ(many.to_json()["train_repetitions"], many.train_repetitions);
  c.min_phase_s = -1;
  EXPECT_THAT(usage_error(c), HasSubstr("--min-phase-s -1"));
}

TEST(Train, BadSettingsAreOneLineUsageErrors) {
  TrainConfig c = blobs_config();
  c.batch_size = 0;
  EXPECT_THAT(usage_error(c), HasSubstr("--batch-size 0"));
  c.batch_size = 481;
  EXPECT_THAT(usage_error(c), HasSubstr("larger than the training set (480 rows)"));
  c = blobs_config();
  c.model = "mlp:x";
  EXPECT_THAT(usage_error(c), HasSubstr("unknown model spec 'mlp:x'"));
  c = blobs_config();
  c.epochs = 0;
  EXPECT_THAT(usage_error(c), HasSubstr("--epochs"));
  c = blobs_config();
  c.device = "tpu";
  EXPECT_THAT(usage_error(c), HasSubstr("--device 'tpu'"));
}

TEST(Train, AutoDevicePicksTheFirstGpuElseTheCpu) {
  std::string why;
  const std::string d = resolve_device("auto", &why);
  if (cuda_device_count() > 0) {
    EXPECT_EQ(d, "cuda:0");
  } else {
    EXPECT_EQ(d, "cpu");
    EXPECT_THAT(why, HasSubstr("no usable CUDA device"));
  }
}

}  // namespace
}  // namespace gt::engine
