// greentrain_cudnn_survey: every cuDNN engine candidate for the convolutions and BatchNorms of a
// `cnn:` network, each built and timed on this GPU, one JSON line per candidate. It shows how far
// the heuristics' first choice (what a run without autotune gets) is from the fastest, per
// layer, operation and precision; the CNN benchmark runs it beside the training runs.
//   greentrain_cudnn_survey --filters 32,64,128,256 --image 224 --channels 3 --batch 64
//                           --precision fp32,bf16
#include <cuda_runtime.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "common/error.h"
#include "engine/cuda/cudnn_plans.h"
#include "engine/precision.h"

namespace {

using gt::engine::Precision;
using namespace gt::engine::cuda;

struct Problem {
  std::string layer, op;
  std::variant<ConvProblem, BatchNormProblem> problem;
};

// The problems a `cnn:` network's training step solves: per block a 3×3 "same" convolution
// (forward, backward filter, and backward data except for the first block, whose input needs no
// gradient) and a BatchNorm (forward training, backward), then a 2×2 max pool halves the image.
// The first block's input channels are padded as the CUDA backend pads them for the precision.
std::vector<Problem> problems(const std::vector<int>& filters, int image, int channels, int batch,
                              Precision precision) {
  std::vector<Problem> out;
  int64_t size = image, in = padded_channels(channels, precision);
  for (size_t b = 0; b < filters.size(); ++b) {
    const std::string layer = "block" + std::to_string(b + 1);
    for (const ConvOp op : {ConvOp::forward, ConvOp::backward_filter, ConvOp::backward_data}) {
      if (op == ConvOp::backward_data && b == 0) continue;
      out.push_back({layer, to_string(op),
                     conv_problem(op, precision, batch, size, size, in, filters[b], 3, 1)});
    }
    for (const BatchNormOp op : {BatchNormOp::forward_training, BatchNormOp::backward})
      out.push_back({layer, op == BatchNormOp::backward ? "bn_bwd" : "bn_fwd",
                     batchnorm_problem(op, precision, batch, size, size, filters[b])});
    in = filters[b];
    size = (size + 1) / 2;
  }
  return out;
}

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Every cuDNN engine candidate of a cnn: network's problems, built and timed"};
  std::vector<int> filters{32, 64, 128, 256};
  int image = 224, channels = 3, batch = 64;
  std::vector<std::string> precisions{"fp32"};
  app.add_option("--filters", filters, "filters per block")->delimiter(',');
  app.add_option("--image", image, "image height and width");
  app.add_option("--channels", channels, "image channels (padded as the backend pads them)");
  app.add_option("--batch", batch, "images per step");
  app.add_option("--precision", precisions, "fp32, tf32, fp16, bf16")->delimiter(',');
  CLI11_PARSE(app, argc, argv);
  try {
    int device_count = 0;
    if (cudaGetDeviceCount(&device_count) != cudaSuccess || device_count == 0)
      throw gt::Error("no CUDA device");
    CudnnPlans plans;
    for (const std::string& name : precisions) {
      const Precision precision = gt::engine::parse_precision(name);
      for (const Problem& p : problems(filters, image, channels, batch, precision)) {
        const std::vector<CudnnEngineTiming> found =
            std::visit([&](const auto& problem) { return plans.survey(problem); }, p.problem);
        int rank = 0;  // the order autotune tries them in (a run without it skips mode B's)
        for (const CudnnEngineTiming& c : found) {
          nlohmann::json line;
          line["precision"] = name;
          line["layer"] = p.layer;
          line["op"] = p.op;
          line["key"] = std::visit([](const auto& q) { return plan_key(q); }, p.problem);
          line["engine"] = c.engine;
          line["heuristics"] = c.heuristics;
          line["refused"] = c.refused;
          line["build_ms"] = c.build_ms;
          line["workspace_bytes"] = c.workspace_bytes;
          line["ms"] = finite_or_null(c.milliseconds);
          if (c.refused.empty()) line["rank"] = rank++;
          std::cout << line.dump() << std::endl;  // each line whole, even when stopped early
        }
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "greentrain_cudnn_survey: " << e.what() << "\n";
    return 1;
  }
}
