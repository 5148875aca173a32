// The cuDNN path's execution plans, built once per problem and cached by its key
// (cudnn_problem.h), like GemmRunner does for cuBLASLt. The one header a CNN layer needs: no
// cuDNN types here. A layer asks for its plans in setup (forward, backward data, backward
// filter, BatchNorm), sizes one workspace as the largest `workspace_bytes()` of them, binds each
// call to its buffers once (`bind`), and in a step only runs the bound calls, which allocate
// nothing and can be captured into a CUDA graph.
//
// Choosing the engine: cuDNN's heuristics in "instant" mode, then its fallback list, each
// configuration filtered by the precision rules of cudnn_engines.h (fp32 is true FP32, every
// precision accumulates in FP32); the first one that builds within the workspace limit wins.
// The limit matters most in true FP32: without tensor cores the fast data-gradient engines are
// FFT and GEMM based and need a few hundred MiB at the study's sizes (353 MiB for a 64-image
// 112x112x64 -> 32 data gradient), and under 256 MiB only a direct kernel 65x slower was left;
// so it is 1 GiB (PyTorch allows any free memory; the CNN backend lowers it to an eighth of the
// free memory on small GPUs). With autotune on, the list also holds heuristics mode B's
// configurations, and the first `autotune_candidates` plans that build are timed on the GPU and
// the fastest kept (timing every one would build dozens of runtime-compiled BatchNorm engines,
// ~130 ms each, for gains under 3 %). The choice goes to the autotune file, so
// later runs on the same GPU and cuDNN build that plan directly. `survey` shows every candidate
// with its time, for people choosing engines (bench/gpu/cudnn_survey).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/cuda/cudnn_problem.h"

namespace gt::engine::cuda {

struct CudnnPlanOptions {
  bool deterministic = false;  // refuse engines noted non-deterministic
  size_t max_workspace_bytes = size_t(1) << 30;
  bool autotune = false;
  std::string autotune_file;    // where choices are kept ("" = only for this process)
  int autotune_candidates = 8;  // the most plans timed per problem; 0: every one that builds
};

// One engine configuration the heuristics offered for a problem, as `CudnnPlans::survey` saw it.
struct CudnnEngineTiming {
  std::string engine;      // e.g. "eng12 k2=1 (tensor cores)"
  std::string heuristics;  // the mode that offered it first: "instant", "B" or "fallback"
  std::string refused;     // why it was not run (a precision rule, or the build's failure); ""
  double build_ms = 0;     // building its execution plan (runtime-compiled engines are slow)
  size_t workspace_bytes = 0;
  double milliseconds = std::numeric_limits<double>::quiet_NaN();  // per run; inf: failed to run
};

// A built execution plan; owned by its CudnnPlans.
class CudnnPlan {
 public:
  struct Impl;
  explicit CudnnPlan(std::unique_ptr<Impl> impl);
  ~CudnnPlan();
  const std::string& key() const;
  size_t workspace_bytes() const;
  // The engine configuration chosen, e.g. "eng12 k2=1 (tensor cores)", and whether by timing.
  const std::string& engine() const;
  bool autotuned() const;
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// One call of a plan bound to its buffers and workspace: run() only sets the stream and
// executes (no allocation, capturable into a CUDA graph). It must not outlive its CudnnPlans.
class CudnnCall {
 public:
  struct Impl;
  CudnnCall();
  explicit CudnnCall(std::unique_ptr<Impl> impl);
  ~CudnnCall();
  CudnnCall(CudnnCall&&) noexcept;
  CudnnCall& operator=(CudnnCall&&) noexcept;
  void run(cudaStream_t stream) const;

 private:
  std::unique_ptr<Impl> impl_;
};

class CudnnPlans {
 public:
  // A cuDNN handle on the current CUDA device. Throws gt::Error when no usable cuDNN 9 is found
  // (naming every place tried) or the handle cannot be made, and when the autotune file exists
  // but cannot be read.
  explicit CudnnPlans(const CudnnPlanOptions& options = {});
  ~CudnnPlans();
  CudnnPlans(const CudnnPlans&) = delete;
  CudnnPlans& operator=(const CudnnPlans&) = delete;

  // The plan of a problem, built on first request; nullptr when no engine of this cuDNN runs it
  // under the precision's rules (why_unsupported says why). Failures are remembered too.
  const CudnnPlan* find(const ConvProblem& problem);
  const CudnnPlan* find(const BatchNormProblem& problem);
  // The same, throwing gt::Error with the reason when there is no plan.
  const CudnnPlan& plan(const ConvProblem& problem);
  const CudnnPlan& plan(const BatchNormProblem& problem);
  std::string why_unsupported(const std::string& key) const;
  // Every candidate of a problem, each built and timed (nothing cached, the autotune file
  // untouched). Throws gt::Error when the problem's graph cannot be made.
  std::vector<CudnnEngineTiming> survey(const ConvProblem& problem);
  std::vector<CudnnEngineTiming> survey(const BatchNormProblem& problem);

  // Throws gt::Error when a buffer is missing or less aligned than the problem promised, when the
  // tensors do not fit the plan's problem, or when the workspace is smaller than the plan's.
  CudnnCall bind(const CudnnPlan& plan, const ConvTensors& tensors, void* workspace,
                 size_t workspace_bytes) const;
  CudnnCall bind(const CudnnPlan& plan, const BatchNormForwardTensors& tensors, void* workspace,
                 size_t workspace_bytes) const;
  CudnnCall bind(const CudnnPlan& plan, const BatchNormBackwardTensors& tensors, void* workspace,
                 size_t workspace_bytes) const;
  template <typename Tensors>
  void execute(const CudnnPlan& plan, const Tensors& tensors, void* workspace,
               size_t workspace_bytes, cudaStream_t stream) const {
    bind(plan, tensors, workspace, workspace_bytes).run(stream);
  }

  size_t size() const;                 // plans built
  size_t max_workspace_bytes() const;  // the largest workspace of the plans built
  // What the autotune file said when it was read ("" when nothing worth saying).
  const std::string& notes() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace gt::engine::cuda
