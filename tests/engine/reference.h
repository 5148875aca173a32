// The PyTorch reference state shared by the CPU test (reference_test.cpp) and the CUDA test
// (cuda_reference_test.cpp), and the Checker that compares a backend with it. The state is
// written once per test run by the engine_reference CTest fixture (make_reference.py, into
// <build>/tests/engine/reference/); shared_reference() loads it, and fails the test with how
// to make it when it is missing. Usage:
//
//   const Reference& ref = shared_reference();
//   auto be = make_cuda_backend(0);
//   be->setup(ref.spec, ref.optimizer, Precision::fp16, ref.batch.rows, ref.batch, 1);
//   be->set_parameters(ref.initial);
//   StepDebug d = be->debug_step(ref.batch);
//   Checker check(Precision::fp16);
//   check.tensor("logits", d.logits, ref.logits, Quantity::logits);
//   check.value("loss", d.loss, ref.loss, Quantity::loss);
//   check.parameters("grad", d.grads, ref.grads, Quantity::gradient);
//   … be->debug_steps(ref.batch, 10) vs ref.adam_losses (Quantity::step_loss) …
//   check.finish();   // prints the worst error, EXPECTs no violation, prints "OK …"
//
// The reference is FP32 PyTorch; every precision is judged by the shared table (tolerances.h).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/locations.h"
#include "engine/backend.h"
#include "nlohmann/json.hpp"
#include "tolerances.h"

namespace gt::engine::testing {

enum class Quantity { logits, loss, gradient, step_loss, parameter };

// The elementwise tolerance of one quantity at one precision, from the shared table.
inline Tolerance tolerance(Precision p, Quantity q) {
  return q == Quantity::gradient ? tolerance(p).gradients : tolerance(p).values;
}

struct Reference {
  ModelSpec spec;
  OptimizerSpec optimizer;
  Dataset batch;  // f32 features, labels
  Parameters initial;
  std::vector<float> logits;
  float loss = 0;
  Parameters grads;
  std::vector<float> adam_losses;  // loss before each of the K Adam steps
  Parameters after_steps;          // parameters after the K steps
  std::string torch_version;
};

inline Reference load_reference(const std::string& path) {
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in);
  Reference r;
  r.spec.inputs = j["inputs"];
  r.spec.hidden = j["hidden"].get<std::vector<int>>();
  r.spec.classes = j["classes"];
  r.optimizer.kind = OptimizerSpec::Kind::adam;
  r.optimizer.lr = j["lr"];
  r.optimizer.beta1 = j["beta1"];
  r.optimizer.beta2 = j["beta2"];
  r.optimizer.eps = j["eps"];
  r.batch.rows = j["rows"];
  r.batch.features = r.spec.inputs;
  r.batch.classes = r.spec.classes;
  r.batch.scale = 1.0f;
  r.batch.f32 = j["x"].get<std::vector<float>>();
  r.batch.labels = j["labels"].get<std::vector<int32_t>>();
  auto params = [&](const char* w, const char* b) {
    Parameters p;
    p.weights = j[w].get<std::vector<std::vector<float>>>();
    p.biases = j[b].get<std::vector<std::vector<float>>>();
    return p;
  };
  r.initial = params("weights", "biases");
  r.grads = params("grad_weights", "grad_biases");
  r.after_steps = params("final_weights", "final_biases");
  r.logits = j["logits"].get<std::vector<float>>();
  r.loss = j["loss"];
  r.adam_losses = j["adam_losses"].get<std::vector<float>>();
  r.torch_version = j["torch_version"];
  return r;
}

// The folder the reference fixtures write into: $GREENTRAIN_REFERENCE_DIR, else
// <build>/tests/engine/reference.
inline std::filesystem::path reference_dir() {
  if (const char* dir = std::getenv("GREENTRAIN_REFERENCE_DIR"); dir != nullptr && *dir != '\0')
    return dir;
  return gt::testing::build_dir() / "tests/engine/reference";
}

// The path of a reference file written by a fixture; throws, naming how to make it, when it
// is missing.
inline std::string reference_file(const std::string& name, const std::string& script) {
  const std::filesystem::path path = reference_dir() / name;
  if (!std::filesystem::exists(path))
    throw std::runtime_error("no PyTorch reference at " + path.string() +
                             ": run `ctest -R engine_reference` in the build folder, or " +
                             "python3 tests/engine/" + script + " " + path.string() +
                             " (needs PyTorch: apt install python3-torch)");
  return path.string();
}

// make_reference.py's state, loaded once per test process.
inline const Reference& shared_reference() {
  static const Reference ref =
      load_reference(reference_file("reference.json", "make_reference.py"));
  return ref;
}

// Accumulates comparisons; reports the worst error relative to its allowance.
class Checker {
 public:
  explicit Checker(Precision p, std::string label = "") : precision_(p), label_(std::move(label)) {}

  void value(const std::string& name, double got, double ref, Quantity q) {
    const Tolerance t = tolerance(precision_, q);
    const double err = std::abs(got - ref);
    const double allowed = t.atol + t.rtol * std::abs(ref);
    ++count_;
    if (!(err <= allowed)) {  // NaN fails too
      ++violations_;
      if (violations_ <= 10)
        ADD_FAILURE() << label_ << " " << name << ": got " << got << ", reference " << ref
                      << ", |diff| " << err << " > allowed " << allowed;
    }
    const double ratio = std::isfinite(err) ? err / allowed : INFINITY;
    if (ratio > worst_ratio_ || worst_name_.empty()) {
      worst_ratio_ = ratio;
      worst_err_ = err;
      worst_name_ = name;
    }
  }

  void tensor(const std::string& name, const std::vector<float>& got, const std::vector<float>& ref,
              Quantity q) {
    ASSERT_EQ(got.size(), ref.size()) << name;
    for (size_t i = 0; i < got.size(); ++i)
      value(name + "[" + std::to_string(i) + "]", got[i], ref[i], q);
  }

  void parameters(const std::string& name, const Parameters& got, const Parameters& ref,
                  Quantity q) {
    ASSERT_EQ(got.weights.size(), ref.weights.size());
    for (size_t l = 0; l < got.weights.size(); ++l) {
      tensor(name + ".W" + std::to_string(l), got.weights[l], ref.weights[l], q);
      tensor(name + ".b" + std::to_string(l), got.biases[l], ref.biases[l], q);
    }
  }

  // Prints the worst error and the OK line; returns true when all passed.
  bool finish() {
    std::printf("%s %s: %zu values, worst %s |diff| %.3g (%.2f of its allowance)\n", label_.c_str(),
                to_string(precision_).c_str(), count_, worst_name_.c_str(), worst_err_,
                worst_ratio_);
    EXPECT_EQ(violations_, 0u);
    if (violations_ == 0) std::printf("OK %s %s\n", label_.c_str(), to_string(precision_).c_str());
    return violations_ == 0;
  }

 private:
  Precision precision_;
  std::string label_;
  size_t count_ = 0, violations_ = 0;
  double worst_ratio_ = 0, worst_err_ = 0;
  std::string worst_name_;
};

}  // namespace gt::engine::testing
