// Small pieces every oneDNN-backed CPU layer shares: NHWC memory descriptors of a batch,
// primitive attributes with a user-managed scratchpad (so executing a primitive never
// allocates), and a scratchpad buffer sized once for the primitives of one batch size.
// oneDNN (Debian libdnnl-dev) compiles its kernels at run time for the CPU it finds (AVX-512
// here), whatever instruction set the rest of the binary targets.
#pragma once
#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "engine/graph/shape.h"

namespace gt::engine::cpu::onednn {

// rows samples of `shape` as FP32 NHWC (oneDNN's logical dims are always N, C, H, W).
inline dnnl::memory::desc nhwc(int64_t rows, const graph::Shape& shape) {
  return dnnl::memory::desc({rows, shape.channels, shape.height, shape.width},
                            dnnl::memory::data_type::f32, dnnl::memory::format_tag::nhwc);
}

// One FP32 vector of `n` values.
inline dnnl::memory::desc vector(int64_t n) {
  return dnnl::memory::desc({n}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
}

inline dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// A buffer the primitives of one batch size share as their scratchpad (they run one at a time).
struct Scratchpad {
  std::vector<uint8_t> bytes;
  dnnl::memory memory;

  void fit(const dnnl::engine& engine, std::initializer_list<size_t> sizes) {
    size_t n = 1;
    for (size_t s : sizes) n = std::max(n, s);
    bytes.assign(n, 0);
    memory = dnnl::memory(dnnl::memory::desc({dnnl::memory::dim(n)}, dnnl::memory::data_type::u8,
                                             dnnl::memory::format_tag::a),
                          engine, bytes.data());
  }
};

// A memory object whose handle the layer points at its buffers before each execution.
inline dnnl::memory unbound(const dnnl::memory::desc& desc, const dnnl::engine& engine) {
  return dnnl::memory(desc, engine, DNNL_MEMORY_NONE);
}

// The primitives of a layer for one batch size — a training forward (which may keep a
// workspace for backward), an inference forward and a backward — with the memory objects their
// argument lists hold; the layer points src/dst/diff_src/diff_dst at its buffers before each
// run. Argument lists are built once, so running allocates nothing.
template <class Forward, class Backward>
struct LayerPlan {
  Forward train, infer;
  Backward backward;
  dnnl::memory src, dst, diff_src, diff_dst;
  std::vector<uint8_t> workspace;
  Scratchpad scratch;
  std::unordered_map<int, dnnl::memory> train_args, infer_args, backward_args;

  void forward(bool training, dnnl::stream& stream) {
    (training ? train : infer).execute(stream, training ? train_args : infer_args);
    stream.wait();
  }
  void run_backward(dnnl::stream& stream) {
    backward.execute(stream, backward_args);
    stream.wait();
  }
};

}  // namespace gt::engine::cpu::onednn
