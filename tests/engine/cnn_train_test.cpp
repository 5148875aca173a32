// A convolutional network through the whole training loop: a small IDX image set written here
// (8×8 grey images, three classes by where the bright patch is) trained with cnn:4,8/8 in every
// precision learns it; --device auto sends a cnn to the GPU when there is one with a usable
// cuDNN (else to the CPU) and says why; the result names the canonical model, its filters, head
// and input shape; and the runs are reproducible per seed on either device.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "engine/cudnn_status.h"
#include "engine/train.h"

namespace gt::engine {
namespace {

using ::testing::HasSubstr;

void write_idx(const std::string& path, const std::vector<uint32_t>& dims,
               const std::vector<uint8_t>& values) {
  std::ofstream out(path, std::ios::binary);
  const uint32_t magic = 0x800u | uint32_t(dims.size());
  for (uint32_t word : std::vector<uint32_t>{magic}) {
    const uint8_t be[4] = {uint8_t(word >> 24), uint8_t(word >> 16), uint8_t(word >> 8),
                           uint8_t(word)};
    out.write(reinterpret_cast<const char*>(be), 4);
  }
  for (uint32_t d : dims) {
    const uint8_t be[4] = {uint8_t(d >> 24), uint8_t(d >> 16), uint8_t(d >> 8), uint8_t(d)};
    out.write(reinterpret_cast<const char*>(be), 4);
  }
  out.write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size()));
}

// Class 0: a bright 3×3 patch top-left, 1: bottom-right, 2: centre; noise everywhere.
void write_split(const std::string& dir, const std::string& stem, int rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> images, labels;
  for (int r = 0; r < rows; ++r) {
    const int y = r % 3;
    const int top = y == 0 ? 0 : (y == 1 ? 5 : 2), left = top;
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) {
        const bool patch = i >= top && i < top + 3 && j >= left && j < left + 3;
        images.push_back(uint8_t(std::min<uint64_t>(255, (patch ? 170 : 20) + rng() % 60)));
      }
    labels.push_back(uint8_t(y));
  }
  write_idx(dir + "/" + stem + "-images-idx3-ubyte", {uint32_t(rows), 8, 8}, images);
  write_idx(dir + "/" + stem + "-labels-idx1-ubyte", {uint32_t(rows)}, labels);
}

TrainConfig patches_config(const std::string& dir) {
  TrainConfig c;
  c.data.spec = "mnist:" + dir;
  c.model = "cnn:4,8/8";
  c.batch_size = 16;
  c.epochs = 3;
  c.device = "auto";
  c.seed = 5;
  c.optimizer.lr = 1e-2f;
  return c;
}

TEST(CnnTrain, LearnsImagePatchesInEveryPrecision) {
  gt::testing::TempDir dir("gt-cnn-train");
  write_split(dir.path(), "train", 240, 1);
  write_split(dir.path(), "t10k", 60, 2);
  for (Precision p : {Precision::fp32, Precision::tf32, Precision::fp16, Precision::bf16}) {
    TrainConfig c = patches_config(dir.path());
    c.precision = p;
    const TrainResult r = train(c);
    ASSERT_TRUE(r.test_accuracy);
    EXPECT_GT(*r.test_accuracy, 0.9) << to_string(p);
    EXPECT_LT(r.epochs_detail.back().loss, r.epochs_detail.front().loss) << to_string(p);
    if (cuda_device_count() > 0 && cudnn_status().usable) {
      EXPECT_EQ(r.device, "cuda:0");
      EXPECT_THAT(r.device_reason, HasSubstr("cuDNN"));
      EXPECT_FALSE(r.notes.empty());
    } else {
      EXPECT_EQ(r.device, "cpu");
      EXPECT_THAT(r.device_reason, HasSubstr("CPU"));
    }
    EXPECT_EQ(r.model, "cnn:4,8/8");
    EXPECT_EQ(r.filters, "4,8");
    EXPECT_EQ(r.neurons, "8");
    EXPECT_EQ(r.input_shape, "8x8x1");
    // conv1, bn1, conv2, bn2, the head, the classifier (the MNIST reader knows 10 classes).
    EXPECT_EQ(r.parameters, 9 * 4 + 8 + 9 * 4 * 8 + 16 + 9 * 8 + 9 * 10);
    EXPECT_EQ(r.train_rows, 240);
  }
}

TEST(CnnTrain, SameSeedSameResult) {
  gt::testing::TempDir dir("gt-cnn-train");
  write_split(dir.path(), "train", 96, 3);
  write_split(dir.path(), "t10k", 30, 4);
  TrainConfig c = patches_config(dir.path());
  c.epochs = 1;
  c.dropout = 0.25f;
  const TrainResult a = train(c), b = train(c);
  EXPECT_EQ(a.final_loss, b.final_loss);
  EXPECT_EQ(a.test_accuracy, b.test_accuracy);
  c.seed = 6;
  EXPECT_NE(train(c).final_loss, a.final_loss);
}

}  // namespace
}  // namespace gt::engine
