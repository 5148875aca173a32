// The PyTorch reference state and the per-precision tolerance table, shared by the CPU test
// (reference_test.cpp) and the CUDA test (cuda_reference_test.cpp, cuda helper). Usage:
//
//   auto ref = gt::engine::testing::generate_reference(dir);   // runs make_reference.py
//   if (!ref) GTEST_SKIP() << ref.error;                        // no /usr/bin/python3 + torch
//   auto be = make_cuda_backend(0);
//   be->setup(ref->spec, ref->optimizer, Precision::fp16, ref->batch.rows, ref->batch, 1);
//   be->set_parameters(ref->initial);
//   StepDebug d = be->debug_step(ref->batch);
//   Checker check(Precision::fp16);
//   check.tensor("logits", d.logits, ref->logits, Quantity::logits);
//   check.value("loss", d.loss, ref->loss, Quantity::loss);
//   check.parameters("grad", d.grads, ref->grads, Quantity::gradient);
//   … be->debug_steps(ref->batch, 10) vs ref->adam_losses (Quantity::step_loss) …
//   check.finish();   // prints the worst error, EXPECTs no violation, prints "OK …"
//
// The reference is FP32 PyTorch; reduced precisions are compared against it with looser
// tolerances derived from their unit roundoff (fp16 2^-11, bf16 2^-8, tf32 2^-11 on GEMM inputs).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "nlohmann/json.hpp"

namespace gt::engine::testing {

enum class Quantity { logits, loss, gradient, step_loss, parameter };

struct Tolerance {
  double atol, rtol;
};

// |a − b| ≤ atol + rtol·|ref|, one row per precision.
inline Tolerance tolerance(Precision p, Quantity q) {
  const bool grad = q == Quantity::gradient;
  switch (p) {
    case Precision::fp32: return grad ? Tolerance{1e-6, 1e-4} : Tolerance{1e-5, 1e-5};
    case Precision::tf32: return grad ? Tolerance{2e-4, 5e-3} : Tolerance{2e-3, 3e-3};
    case Precision::fp16: return grad ? Tolerance{2e-4, 5e-3} : Tolerance{2e-3, 3e-3};
    case Precision::bf16: return grad ? Tolerance{2e-3, 4e-2} : Tolerance{2e-2, 2e-2};
  }
  return {0, 0};
}

struct Reference {
  ModelSpec spec;
  OptimizerSpec optimizer;
  Dataset batch;                    // f32 features, labels
  Parameters initial;
  std::vector<float> logits;
  float loss = 0;
  Parameters grads;
  std::vector<float> adam_losses;   // loss before each of the K Adam steps
  Parameters after_steps;           // parameters after the K steps
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

struct Generated {
  std::optional<Reference> ref;
  std::string error;
  explicit operator bool() const { return ref.has_value(); }
  const Reference* operator->() const { return &*ref; }
  const Reference& operator*() const { return *ref; }
};

// A Python with torch: $GREENTRAIN_PYTHON, else Debian's /usr/bin/python3, else python3 on
// PATH (the GPU machine's torch lives there). Empty when none has torch.
inline std::string python_with_torch() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("GREENTRAIN_PYTHON")) candidates.push_back(env);
  candidates.push_back("/usr/bin/python3");
  candidates.push_back("python3");
  for (const auto& py : candidates)
    if (std::system((py + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0) return py;
  return "";
}

// Runs tests/engine/make_reference.py (GREENTRAIN_SOURCE_DIR) with python_with_torch() into
// `dir`/reference-<args hash>.json; `args` are extra script options (e.g. "--hidden 64").
inline Generated generate_reference(const std::string& dir, const std::string& args = "") {
  Generated g;
  const char* src = std::getenv("GREENTRAIN_SOURCE_DIR");
  const std::string script =
      std::string(src ? src : ".") + "/tests/engine/make_reference.py";
  const std::string py = python_with_torch();
  if (py.empty() || !std::filesystem::exists(script)) {
    g.error = "no python3 with torch (set GREENTRAIN_PYTHON) or no " + script;
    return g;
  }
  std::filesystem::create_directories(dir);
  const std::string out =
      dir + "/reference-" + std::to_string(std::hash<std::string>{}(args)) + ".json";
  const std::string cmd = py + " '" + script + "' '" + out + "' " + args;
  if (std::system(cmd.c_str()) != 0) {
    g.error = "failed: " + cmd;
    return g;
  }
  g.ref = load_reference(out);
  return g;
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
    std::printf("%s %s: %zu values, worst %s |diff| %.3g (%.2f of its allowance)\n",
                label_.c_str(), to_string(precision_).c_str(), count_, worst_name_.c_str(),
                worst_err_, worst_ratio_);
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
