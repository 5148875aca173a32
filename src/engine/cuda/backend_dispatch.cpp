// make_cuda_backend: one CUDA backend for every network. It starts the MLP backend at once (that
// checks the device and creates the context, so a missing GPU is an error before any work), and
// setup() keeps it for networks that are MLPs (the fused kernel and cuBLASLt path) or hands every
// other network to the CNN path (cnn_backend.cpp, cuDNN). Every later call goes to the one set
// up. make_cuda_backend(device) (what `greentrain train` uses) takes the defaults as the
// environment changes them (with_environment).
#include <cstdlib>
#include <memory>
#include <string>

#include "common/error.h"
#include "engine/backend.h"
#include "engine/cuda/cuda_backend.h"

namespace gt::engine {
namespace {

class CudaBackends final : public Backend {
 public:
  CudaBackends(int device, const CudaOptions& options)
      : device_(device), options_(options), mlp_(make_cuda_mlp_backend(device, options)) {}

  std::string describe() const override { return active().describe(); }
  std::vector<std::string> notes() const override { return active().notes(); }

  void setup(const graph::Network& net, const OptimizerSpec& opt, Precision precision,
             int batch_size, const Dataset& train, uint64_t seed) override {
    if (!cnn_ && !as_mlp(net)) {
      cnn_ = make_cuda_cnn_backend(device_, options_);
      mlp_.reset();
    }
    active().setup(net, opt, precision, batch_size, train, seed);
  }

  const graph::ParamLayout& layout() const override { return active().layout(); }
  void set_values(std::span<const float> values) override { active().set_values(values); }
  std::vector<float> values() override { return active().values(); }
  EpochStats train_epoch(int epoch) override { return active().train_epoch(epoch); }
  EvalStats evaluate(const Dataset& data) override { return active().evaluate(data); }
  float loss_scale() const override { return active().loss_scale(); }
  StepDebug debug_step(const Dataset& batch) override { return active().debug_step(batch); }
  std::vector<float> debug_steps(const Dataset& batch, int steps) override {
    return active().debug_steps(batch, steps);
  }

 private:
  Backend& active() const { return cnn_ ? *cnn_ : *mlp_; }

  int device_;
  CudaOptions options_;
  std::unique_ptr<Backend> mlp_, cnn_;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(int device, const CudaOptions& options) {
  return std::make_unique<CudaBackends>(device, options);
}

CudaOptions with_environment(CudaOptions options) {
  if (const char* bn = std::getenv("GREENTRAIN_CNN_BATCHNORM"); bn && *bn) {
    const std::string v = bn;
    if (v != "own" && v != "cudnn")
      throw gt::Error("GREENTRAIN_CNN_BATCHNORM='" + v + "': expected own or cudnn");
    options.cudnn_batchnorm = v == "cudnn";
  }
  if (const char* file = std::getenv("GREENTRAIN_CUDNN_AUTOTUNE"); file && *file) {
    options.cudnn_autotune = true;
    options.autotune_file = std::string(file) == "memory" ? "" : file;
  }
  return options;
}

std::unique_ptr<Backend> make_cuda_backend(int device) {
  return make_cuda_backend(device, with_environment(CudaOptions{}));
}

}  // namespace gt::engine
