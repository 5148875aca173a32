// greentrain_gpu_bench: the CUDA backend's benchmark driver. Loads Fashion-MNIST (IDX, gzip),
// trains an MLP with the CUDA backend for the given epochs, evaluates the test set and prints one
// JSON object: load, CUDA start (init_s, inside setup_s), setup, training and evaluation time,
// per-step latency, achieved TFLOP/s, test accuracy, final loss, skipped steps and the GPU energy
// of the training loop read from NVML's total-energy counter (dlopen'ed, so the binary runs where
// NVML is absent and then reports no energy). run_bench.sh runs it beside torch_bench.py on the GPU
// machine.
#include <dlfcn.h>
#include <zlib.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/backend.h"
#include "engine/cuda/cuda_backend.h"

namespace {

std::vector<uint8_t> read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw gt::Error("cannot open " + path);
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  gzclose(f);
  return out;
}

uint32_t be32(const uint8_t* p) { return (p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }

gt::engine::Dataset load_split(const std::string& dir, const std::string& prefix) {
  const auto images = read_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz");
  const auto labels = read_gz(dir + "/" + prefix + "-labels-idx1-ubyte.gz");
  if (images.size() < 16 || be32(images.data()) != 0x803 || labels.size() < 8 ||
      be32(labels.data()) != 0x801)
    throw gt::Error("bad IDX files in " + dir);
  gt::engine::Dataset d;
  d.rows = be32(images.data() + 4);
  d.features = int(be32(images.data() + 8) * be32(images.data() + 12));
  d.classes = 10;
  d.u8.assign(images.begin() + 16, images.end());
  for (size_t i = 8; i < labels.size(); ++i) d.labels.push_back(labels[i]);
  if (d.u8.size() != size_t(d.rows) * d.features || d.labels.size() != size_t(d.rows))
    throw gt::Error("truncated IDX files in " + dir);
  return d;
}

// NVML's total energy counter (mJ since the driver loaded), if the library is there.
class NvmlEnergy {
 public:
  explicit NvmlEnergy(unsigned index) {
    lib_ = dlopen("libnvidia-ml.so.1", RTLD_NOW);
    if (!lib_) return;
    auto init = reinterpret_cast<int (*)()>(dlsym(lib_, "nvmlInit_v2"));
    auto handle =
        reinterpret_cast<int (*)(unsigned, void**)>(dlsym(lib_, "nvmlDeviceGetHandleByIndex_v2"));
    energy_ = reinterpret_cast<int (*)(void*, unsigned long long*)>(
        dlsym(lib_, "nvmlDeviceGetTotalEnergyConsumption"));
    if (!init || !handle || !energy_ || init() != 0 || handle(index, &device_) != 0)
      energy_ = nullptr;
  }
  std::optional<double> joules() const {
    unsigned long long mj = 0;
    if (!energy_ || energy_(device_, &mj) != 0) return std::nullopt;
    return double(mj) / 1000.0;
  }

 private:
  void* lib_ = nullptr;
  void* device_ = nullptr;
  int (*energy_)(void*, unsigned long long*) = nullptr;
};

double train_flops_per_sample(const gt::engine::ModelSpec& m) {
  std::vector<int> dims{m.inputs};
  dims.insert(dims.end(), m.hidden.begin(), m.hidden.end());
  dims.push_back(m.classes);
  double flops = 0;
  for (size_t l = 0; l + 1 < dims.size(); ++l) {
    const double mac = double(dims[l]) * dims[l + 1];
    flops += 2 * mac + 2 * mac + (l > 0 ? 2 * mac : 0);
  }
  return flops;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"greentrain CUDA backend benchmark driver"};
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  if (const char* env = std::getenv("GREENTRAIN_DATA")) data_dir = env;
  std::string hidden = "128", precision_name = "fp32", optimizer = "adam";
  int batch = 32, epochs = 10, device = 0, graph_steps = 128;
  uint64_t seed = 1;
  float lr = 1e-3f;
  bool no_graphs = false, unfused = false, no_fused_mlp = false;
  app.add_option("--data-dir", data_dir, "Fashion-MNIST folder (IDX .gz files)");
  app.add_option("--hidden", hidden, "hidden layer sizes, e.g. 128 or 512,256");
  app.add_option("--precision", precision_name, "fp32|tf32|fp16|bf16");
  app.add_option("--batch-size", batch);
  app.add_option("--epochs", epochs);
  app.add_option("--seed", seed);
  app.add_option("--lr", lr);
  app.add_option("--optimizer", optimizer)->check(CLI::IsMember({"adam", "sgd"}));
  app.add_option("--device", device);
  app.add_option("--graph-steps", graph_steps);
  app.add_flag("--no-graphs", no_graphs, "eager launches instead of CUDA graphs");
  app.add_flag("--unfused", unfused, "unfused kernels instead of cuBLASLt epilogues");
  app.add_flag("--no-fused-mlp", no_fused_mlp,
               "the cuBLASLt path even where the fused kernel fits");
  CLI11_PARSE(app, argc, argv);
  try {
    const auto precision = gt::engine::parse_precision(precision_name);
    const auto t0 = std::chrono::steady_clock::now();
    const auto train = load_split(data_dir, "train");
    const auto test = load_split(data_dir, "t10k");
    gt::engine::ModelSpec model;
    model.inputs = train.features;
    model.classes = 10;
    std::stringstream ss(hidden);
    for (std::string part; std::getline(ss, part, ',');) model.hidden.push_back(std::stoi(part));
    gt::engine::OptimizerSpec opt;
    opt.kind = optimizer == "adam" ? gt::engine::OptimizerSpec::Kind::adam
                                   : gt::engine::OptimizerSpec::Kind::sgd;
    opt.lr = lr;
    gt::engine::CudaOptions options;
    options.graphs = !no_graphs;
    options.fused_epilogues = !unfused;
    options.graph_steps = graph_steps;
    options.fused_mlp = !no_fused_mlp;
    const auto t1 = std::chrono::steady_clock::now();
    auto backend = gt::engine::make_cuda_backend(device, options);
    const auto t_init = std::chrono::steady_clock::now();
    backend->setup(model, opt, precision, batch, train, seed);
    const auto t2 = std::chrono::steady_clock::now();
    const NvmlEnergy nvml{static_cast<unsigned>(device)};
    const auto e0 = nvml.joules();
    double train_s = 0;
    int64_t steps = 0, skipped = 0;
    nlohmann::json per_epoch = nlohmann::json::array();
    gt::engine::EpochStats last;
    for (int e = 0; e < epochs; ++e) {
      last = backend->train_epoch(e);
      train_s += last.seconds;
      steps += last.steps;
      skipped += last.skipped_steps;
      per_epoch.push_back({{"epoch", e + 1},
                           {"loss", last.loss},
                           {"accuracy", last.accuracy},
                           {"seconds", last.seconds}});
    }
    const auto e1 = nvml.joules();
    const auto t3 = std::chrono::steady_clock::now();
    const auto eval = backend->evaluate(test);
    const auto t4 = std::chrono::steady_clock::now();
    const double flops = train_flops_per_sample(model) * double(train.rows) * epochs;
    nlohmann::json out{{"tool", "greentrain"},
                       {"device", backend->describe()},
                       {"model", "mlp:" + hidden},
                       {"precision", precision_name},
                       {"batch_size", batch},
                       {"epochs", epochs},
                       {"seed", seed},
                       {"graphs", !no_graphs},
                       {"fused_epilogues", !unfused},
                       {"fused_mlp", backend->describe().find("fused MLP") != std::string::npos},
                       {"load_s", std::chrono::duration<double>(t1 - t0).count()},
                       {"init_s", std::chrono::duration<double>(t_init - t1).count()},
                       {"setup_s", std::chrono::duration<double>(t2 - t1).count()},
                       {"eval_s", std::chrono::duration<double>(t4 - t3).count()},
                       {"train_s", train_s},
                       {"steps", steps},
                       {"ms_per_step", 1e3 * train_s / double(steps)},
                       {"tflops", flops / train_s / 1e12},
                       {"final_loss", last.loss},
                       {"train_accuracy", last.accuracy},
                       {"test_accuracy", eval.accuracy},
                       {"skipped_steps", skipped},
                       {"epochs_detail", per_epoch}};
    if (e0 && e1) out["gpu_energy_j"] = *e1 - *e0;
    std::cout << out.dump() << std::endl;
  } catch (const gt::Error& e) {
    std::cerr << "greentrain_gpu_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
