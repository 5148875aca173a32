// The cuDNN path's plan cache (see cudnn_plans.h): operation graph → heuristic candidates →
// precision filter → execution plans, optionally timed, cached by the problem's key.
#include "engine/cuda/cudnn_plans.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <variant>
#include <vector>

#include "common/error.h"
#include "engine/cuda/check.h"
#include "engine/cuda/cudnn_autotune.h"
#include "engine/cuda/cudnn_engines.h"
#include "engine/cuda/cudnn_graphs.h"
#include "engine/cuda/cudnn_library.h"
#include "engine/cuda/device_buffer.h"

namespace gt::engine::cuda {

struct CudnnPlan::Impl {
  std::variant<ConvProblem, BatchNormProblem> problem;
  std::string key;
  cudnnHandle_t handle = nullptr;
  OperationSet set;  // the graph's tensors and operations, kept alive with it
  Descriptor graph;
  Descriptor config;
  Descriptor plan;
  size_t workspace = 0;
  std::string engine;
  bool autotuned = false;
};

struct CudnnCall::Impl {
  cudnnHandle_t handle = nullptr;
  cudnnBackendDescriptor_t plan = nullptr;
  BatchNormForwardTensors by_value;  // holds BatchNorm's epsilon and momentum for the pack
  Descriptor pack;
};

namespace {

struct Built {
  Descriptor plan;
  size_t workspace = 0;
};

// An execution plan for one engine configuration, or why none.
std::optional<Built> try_build(cudnnHandle_t handle, const EngineConfig& engine,
                               size_t max_workspace, std::string& failure) {
  Descriptor plan(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
  plan.set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
  plan.set_descriptor(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, engine.config);
  if (const cudnnStatus_t status = plan.try_finalize(); status != CUDNN_STATUS_SUCCESS) {
    const std::string detail = cudnn_last_error();
    failure =
        std::string(cudnn().error_string(status)) + (detail.empty() ? "" : " (" + detail + ")");
    return std::nullopt;
  }
  const auto workspace =
      static_cast<size_t>(plan.get_int64(CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE));
  if (workspace > max_workspace) {
    failure = fmt::format("needs {} MiB of workspace (the limit is {} MiB)", workspace >> 20,
                          max_workspace >> 20);
    return std::nullopt;
  }
  return Built{std::move(plan), workspace};
}

Descriptor variant_pack(const std::vector<int64_t>& uids, std::vector<void*> pointers,
                        void* workspace) {
  Descriptor pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  pack.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, static_cast<int64_t>(uids.size()),
           uids.data());
  pack.set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR,
           static_cast<int64_t>(pointers.size()), pointers.data());
  pack.set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
  pack.finalize();
  return pack;
}

Precision precision_of(const std::variant<ConvProblem, BatchNormProblem>& p) {
  return std::visit([](const auto& q) { return q.precision; }, p);
}

// Scratch buffers shaped like a problem's tensors, for timing candidates.
struct Scratch {
  std::vector<DeviceBuffer> buffers;
  void* add(size_t bytes) {
    DeviceBuffer& b = buffers.emplace_back(bytes, "cuDNN autotune scratch");
    CUDA_CHECK(cudaMemset(b.get(), 0, bytes));
    return b.get();
  }
};

}  // namespace

CudnnPlan::CudnnPlan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CudnnPlan::~CudnnPlan() = default;
const std::string& CudnnPlan::key() const { return impl_->key; }
size_t CudnnPlan::workspace_bytes() const { return impl_->workspace; }
const std::string& CudnnPlan::engine() const { return impl_->engine; }
bool CudnnPlan::autotuned() const { return impl_->autotuned; }

CudnnCall::CudnnCall() = default;
CudnnCall::CudnnCall(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CudnnCall::~CudnnCall() = default;
CudnnCall::CudnnCall(CudnnCall&&) noexcept = default;
CudnnCall& CudnnCall::operator=(CudnnCall&&) noexcept = default;

void CudnnCall::run(cudaStream_t stream) const {
  if (!impl_) throw gt::Error("cuDNN: running a call that was never bound");
  CUDNN_CHECK(cudnn().set_stream(impl_->handle, stream));
  CUDNN_CHECK(cudnn().execute(impl_->handle, impl_->plan, impl_->pack.get()));
}

struct CudnnPlans::State {
  CudnnPlanOptions options;
  cudnnHandle_t handle = nullptr;
  std::optional<AutotuneFile> tuned;
  std::string notes;
  struct Entry {
    std::unique_ptr<CudnnPlan> plan;
    std::string why;
  };
  std::map<std::string, Entry> plans;
  struct Candidate {
    EngineConfig engine;
    std::string refusal;     // the precision rule that refuses it; "" when it may run
    std::string heuristics;  // the heuristics mode that offered it first
  };
  struct Candidates {
    std::vector<Candidate> list;
    std::string no_heuristics;  // modes that offered nothing, and why
  };

  ~State() {
    plans.clear();  // plans before the handle they were built on
    if (handle) cudnn().destroy(handle);
  }

  template <typename Problem>
  const CudnnPlan* find(const Problem& problem) {
    const std::string key = plan_key(problem);
    if (const auto it = plans.find(key); it != plans.end()) return it->second.plan.get();
    Entry entry;
    try {
      entry.plan = build(problem, key, entry.why);
    } catch (const gt::Error& e) {
      entry.why = e.what();
    }
    return plans.emplace(key, std::move(entry)).first->second.plan.get();
  }

  template <typename Problem>
  std::unique_ptr<CudnnPlan> build(const Problem& problem, const std::string& key,
                                   std::string& why);
  template <typename Problem>
  std::vector<CudnnEngineTiming> survey(const Problem& problem);
  Candidates collect(const Descriptor& graph, Precision precision, bool thorough) const;
  template <typename Problem>
  std::vector<double> time_each(const Problem& problem, const std::vector<int64_t>& uids,
                                const std::vector<Built>& built);
};

// The heuristics' candidates for a graph: instant mode, then (when `thorough`) mode B, then the
// fallback list, each configuration once, each with the precision rule that refuses it, if any.
CudnnPlans::State::Candidates CudnnPlans::State::collect(const Descriptor& graph,
                                                         Precision precision, bool thorough) const {
  Candidates out;
  std::set<std::string> seen;
  std::vector<cudnnBackendHeurMode_t> modes{CUDNN_HEUR_MODE_INSTANT};
  if (thorough) modes.push_back(CUDNN_HEUR_MODE_B);
  modes.push_back(CUDNN_HEUR_MODE_FALLBACK);
  for (const cudnnBackendHeurMode_t mode : modes) {
    std::string why_none;
    for (EngineConfig& e : heuristic_configs(graph, mode, why_none)) {
      if (!seen.insert(e.tag()).second) continue;
      std::string refusal = engine_refusal(precision, options.deterministic, e.numerical);
      out.list.push_back({std::move(e), std::move(refusal), heuristic_mode_name(mode)});
    }
    if (!why_none.empty())
      out.no_heuristics += fmt::format("{}{} heuristics: {}", out.no_heuristics.empty() ? "" : "; ",
                                       heuristic_mode_name(mode), why_none);
  }
  return out;
}

template <typename Problem>
std::unique_ptr<CudnnPlan> CudnnPlans::State::build(const Problem& problem, const std::string& key,
                                                    std::string& why) {
  auto impl = std::make_unique<CudnnPlan::Impl>();
  impl->problem = problem;
  impl->key = key;
  impl->handle = handle;
  impl->set = operations(problem);
  impl->graph = operation_graph(impl->set, handle);

  Candidates all = collect(impl->graph, problem.precision, options.autotune);
  std::vector<EngineConfig> candidates;
  std::map<std::string, int> refused;
  for (Candidate& c : all.list) {
    if (c.refusal.empty())
      candidates.push_back(std::move(c.engine));
    else
      ++refused[c.refusal];
  }

  // Which to build: the autotune file's choice when there is one (moved to the front), else
  // the first that builds, or with autotune every one that builds (up to
  // `autotune_candidates`), timed.
  const std::optional<std::string> chosen = options.autotune ? tuned->choice(key) : std::nullopt;
  if (chosen)
    std::stable_partition(candidates.begin(), candidates.end(),
                          [&](const EngineConfig& e) { return e.tag() == *chosen; });
  const bool from_file = chosen && !candidates.empty() && candidates[0].tag() == *chosen;
  const size_t wanted = !options.autotune || from_file ? 1
                        : options.autotune_candidates > 0
                            ? static_cast<size_t>(options.autotune_candidates)
                            : candidates.size();
  std::vector<size_t> engines;  // indices into candidates of the plans built
  std::vector<Built> built;
  int failed = 0;
  std::string first_failure;
  for (size_t i = 0; i < candidates.size() && built.size() < wanted; ++i) {
    std::string failure;
    if (std::optional<Built> b =
            try_build(handle, candidates[i], options.max_workspace_bytes, failure)) {
      engines.push_back(i);
      built.push_back(std::move(*b));
    } else if (++failed == 1) {
      first_failure = candidates[i].tag() + ": " + failure;
    }
  }
  if (built.empty()) {
    why = fmt::format("no cuDNN engine runs {} ({} candidates", key, candidates.size());
    for (const auto& [reason, n] : refused) why += fmt::format("; {} refused: {}", n, reason);
    if (failed) why += fmt::format("; {} failed to build, first {}", failed, first_failure);
    if (!all.no_heuristics.empty()) why += "; " + all.no_heuristics;
    why += ")";
    return nullptr;
  }
  size_t pick = 0;
  bool timed = false;
  if (built.size() > 1) {
    const std::vector<double> ms = time_each(problem, impl->set.uids, built);
    const size_t f = static_cast<size_t>(std::min_element(ms.begin(), ms.end()) - ms.begin());
    if (std::isfinite(ms[f])) {
      pick = f;
      timed = true;
      tuned->record(key, candidates[engines[pick]].tag(), ms[f]);
    }
  }
  EngineConfig& engine = candidates[engines[pick]];
  impl->autotuned = timed || (from_file && engines[pick] == 0);
  impl->engine = engine.describe();
  impl->workspace = built[pick].workspace;
  impl->plan = std::move(built[pick].plan);
  impl->config = std::move(engine.config);  // the plan refers to its engine configuration
  return std::make_unique<CudnnPlan>(std::move(impl));
}

template <typename Problem>
std::vector<CudnnEngineTiming> CudnnPlans::State::survey(const Problem& problem) {
  OperationSet set = operations(problem);
  const Descriptor graph = operation_graph(set, handle);
  Candidates all = collect(graph, problem.precision, true);
  std::vector<CudnnEngineTiming> out;
  std::vector<Built> built;
  std::vector<size_t> rows;  // out's index of each built plan
  for (Candidate& c : all.list) {
    CudnnEngineTiming& r = out.emplace_back();
    r.engine = c.engine.describe();
    r.heuristics = c.heuristics;
    r.refused = c.refusal;
    if (!r.refused.empty()) continue;
    const auto t0 = std::chrono::steady_clock::now();
    std::string failure;
    std::optional<Built> b = try_build(handle, c.engine, options.max_workspace_bytes, failure);
    r.build_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!b) {
      r.refused = "does not build: " + failure;
      continue;
    }
    r.workspace_bytes = b->workspace;
    rows.push_back(out.size() - 1);
    built.push_back(std::move(*b));
  }
  if (!built.empty()) {
    const std::vector<double> ms = time_each(problem, set.uids, built);
    for (size_t i = 0; i < built.size(); ++i) out[rows[i]].milliseconds = ms[i];
  }
  return out;
}

// Times each built plan (one warm-up run, then three) on scratch buffers: milliseconds per run,
// infinity for a plan that failed to run.
template <typename Problem>
std::vector<double> CudnnPlans::State::time_each(const Problem& problem,
                                                 const std::vector<int64_t>& uids,
                                                 const std::vector<Built>& built) {
  Scratch scratch;
  size_t workspace_bytes = 0;
  for (const Built& b : built) workspace_bytes = std::max(workspace_bytes, b.workspace);
  void* workspace = scratch.add(workspace_bytes + 1);
  std::vector<void*> pointers;
  BatchNormForwardTensors by_value;
  if constexpr (std::is_same_v<Problem, ConvProblem>) {
    const size_t bytes = element_bytes(problem.precision);
    ConvTensors t;
    t.x = scratch.add(problem.x.elements() * bytes);
    t.w = scratch.add(problem.w.elements() * bytes);
    t.y = scratch.add(problem.y.elements() * bytes);
    if (problem.op == ConvOp::forward_bias_relu) t.bias = scratch.add(problem.y.dims[1] * bytes);
    pointers = variant_pointers(problem, t);
  } else {
    const size_t data = problem.x.elements() * element_bytes(problem.precision);
    const size_t channel = problem.x.dims[1] * sizeof(float);
    if (problem.op == BatchNormOp::forward_training) {
      by_value.x = scratch.add(data);
      by_value.y = scratch.add(data);
      float** per_channel[] = {const_cast<float**>(&by_value.scale),
                               const_cast<float**>(&by_value.bias),
                               const_cast<float**>(&by_value.running_mean_in),
                               const_cast<float**>(&by_value.running_var_in),
                               &by_value.running_mean_out,
                               &by_value.running_var_out,
                               &by_value.saved_mean,
                               &by_value.saved_inv_std};
      for (float** slot : per_channel) *slot = static_cast<float*>(scratch.add(channel));
      pointers = variant_pointers(problem, by_value);
    } else {
      BatchNormBackwardTensors t;
      t.x = scratch.add(data);
      t.dy = scratch.add(data);
      t.dx = scratch.add(data);
      t.scale = static_cast<float*>(scratch.add(channel));
      t.saved_mean = static_cast<float*>(scratch.add(channel));
      t.saved_inv_std = static_cast<float*>(scratch.add(channel));
      t.dscale = static_cast<float*>(scratch.add(channel));
      t.dbias = static_cast<float*>(scratch.add(channel));
      pointers = variant_pointers(problem, t);
    }
  }
  const Descriptor pack = variant_pack(uids, pointers, workspace);
  cudaEvent_t start = nullptr, stop = nullptr;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  CUDNN_CHECK(cudnn().set_stream(handle, nullptr));
  std::vector<double> ms_each(built.size(), std::numeric_limits<double>::infinity());
  constexpr int kRuns = 3;
  for (size_t i = 0; i < built.size(); ++i) {
    const cudnnBackendDescriptor_t plan = built[i].plan.get();
    if (cudnn().execute(handle, plan, pack.get()) != CUDNN_STATUS_SUCCESS) continue;
    CUDA_CHECK(cudaEventRecord(start, nullptr));
    bool ok = true;
    for (int r = 0; r < kRuns && ok; ++r)
      ok = cudnn().execute(handle, plan, pack.get()) == CUDNN_STATUS_SUCCESS;
    CUDA_CHECK(cudaEventRecord(stop, nullptr));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (ok) ms_each[i] = ms / kRuns;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms_each;
}

CudnnPlans::CudnnPlans(const CudnnPlanOptions& options) : state_(std::make_unique<State>()) {
  state_->options = options;
  const Cudnn& api = cudnn();
  if (const cudnnStatus_t status = api.create(&state_->handle); status != CUDNN_STATUS_SUCCESS) {
    state_->handle = nullptr;
    const std::string detail = cudnn_last_error();
    throw gt::Error(std::string("cannot create a cuDNN handle: ") + api.error_string(status) +
                    (detail.empty() ? "" : " (" + detail + ")"));
  }
  if (options.autotune) {
    int device = 0;
    cudaDeviceProp prop{};
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    const std::string context =
        fmt::format("cuDNN {}, {} (sm_{}{})", cudnn_version_text(api.get_version()), prop.name,
                    prop.major, prop.minor);
    state_->tuned.emplace(options.autotune_file, context);
    state_->notes = state_->tuned->note();
  }
}

CudnnPlans::~CudnnPlans() = default;

const CudnnPlan* CudnnPlans::find(const ConvProblem& p) { return state_->find(p); }
const CudnnPlan* CudnnPlans::find(const BatchNormProblem& p) { return state_->find(p); }

const CudnnPlan& CudnnPlans::plan(const ConvProblem& p) {
  if (const CudnnPlan* found = find(p)) return *found;
  throw gt::Error(why_unsupported(plan_key(p)));
}

const CudnnPlan& CudnnPlans::plan(const BatchNormProblem& p) {
  if (const CudnnPlan* found = find(p)) return *found;
  throw gt::Error(why_unsupported(plan_key(p)));
}

std::vector<CudnnEngineTiming> CudnnPlans::survey(const ConvProblem& p) {
  return state_->survey(p);
}
std::vector<CudnnEngineTiming> CudnnPlans::survey(const BatchNormProblem& p) {
  return state_->survey(p);
}

std::string CudnnPlans::why_unsupported(const std::string& key) const {
  const auto it = state_->plans.find(key);
  if (it == state_->plans.end()) return "no plan was asked for " + key;
  return it->second.why;
}

namespace {

template <typename Problem, typename Tensors>
CudnnCall bind_call(const CudnnPlan& plan, const Tensors& tensors, void* workspace,
                    size_t workspace_bytes) {
  const CudnnPlan::Impl& p = plan.impl();
  const Problem* problem = std::get_if<Problem>(&p.problem);
  if (!problem) throw gt::Error("cuDNN: buffers of the wrong kind for the plan of " + p.key);
  if (workspace_bytes < p.workspace || (p.workspace > 0 && !workspace))
    throw gt::Error(fmt::format("cuDNN: the plan of {} needs {} bytes of workspace, {} given",
                                p.key, p.workspace, workspace_bytes));
  auto call = std::make_unique<CudnnCall::Impl>();
  call->handle = p.handle;
  call->plan = p.plan.get();
  std::vector<void*> pointers;
  if constexpr (std::is_same_v<Tensors, BatchNormForwardTensors>) {
    call->by_value = tensors;  // the pack points at this copy's epsilon and momentum
    pointers = variant_pointers(*problem, call->by_value);
  } else {
    pointers = variant_pointers(*problem, tensors);
  }
  call->pack = variant_pack(p.set.uids, pointers, workspace);
  return CudnnCall(std::move(call));
}

}  // namespace

CudnnCall CudnnPlans::bind(const CudnnPlan& plan, const ConvTensors& t, void* workspace,
                           size_t workspace_bytes) const {
  return bind_call<ConvProblem>(plan, t, workspace, workspace_bytes);
}

CudnnCall CudnnPlans::bind(const CudnnPlan& plan, const BatchNormForwardTensors& t, void* workspace,
                           size_t workspace_bytes) const {
  return bind_call<BatchNormProblem>(plan, t, workspace, workspace_bytes);
}

CudnnCall CudnnPlans::bind(const CudnnPlan& plan, const BatchNormBackwardTensors& t,
                           void* workspace, size_t workspace_bytes) const {
  return bind_call<BatchNormProblem>(plan, t, workspace, workspace_bytes);
}

size_t CudnnPlans::size() const {
  size_t n = 0;
  for (const auto& [key, entry] : state_->plans) n += entry.plan != nullptr;
  return n;
}

size_t CudnnPlans::max_workspace_bytes() const {
  size_t most = 0;
  for (const auto& [key, entry] : state_->plans)
    if (entry.plan) most = std::max(most, entry.plan->workspace_bytes());
  return most;
}

const std::string& CudnnPlans::notes() const { return state_->notes; }

}  // namespace gt::engine::cuda
