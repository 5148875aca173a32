// Which library runs the CPU backend's 3x3 "same" convolutions: oneDNN's primitives on NHWC
// activations (weights in the layout oneDNN picks, reordered from OHWI) against im2col +
// OpenBLAS sgemm (+ col2im for the data gradient), forward + backward-data + backward-weights
// for the three layers of cnn:32,64,128 on 32x32 images. Prints ms per step and GFLOP/s.
// Build and run (not part of the CMake build):
//   g++ -O2 -fopenmp -std=c++17 bench/cpu/conv_choice.cpp -o /tmp/conv_choice -ldnnl -lopenblas
//   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /tmp/conv_choice 128 5   # batch, timed repeats
#include <cblas.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct Shape {
  int n, h, w, c, o;
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void fill(float* p, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = float((i * 7919) % 1000) / 1000.f - 0.5f;
}

double bench_onednn(const Shape& s, int reps) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream st(eng);
  const dnnl::memory::desc src({s.n, s.c, s.h, s.w}, dt::f32, tag::nhwc);
  const dnnl::memory::desc dst({s.n, s.o, s.h, s.w}, dt::f32, tag::nhwc);
  const dnnl::memory::desc any_w({s.o, s.c, 3, 3}, dt::f32, tag::any);
  const dnnl::memory::desc user_w({s.o, s.c, 3, 3}, dt::f32, tag::ohwi);
  const dnnl::memory::dims strides{1, 1}, pad{1, 1};
  const auto algo = dnnl::algorithm::convolution_direct;
  const dnnl::convolution_forward::primitive_desc fpd(
      {dnnl::prop_kind::forward_training, algo, src, any_w, dst, strides, pad, pad}, eng);
  const dnnl::convolution_backward_data::primitive_desc bdpd(
      {algo, src, any_w, dst, strides, pad, pad}, eng, fpd);
  const dnnl::convolution_backward_weights::primitive_desc bwpd(
      {algo, src, any_w, dst, strides, pad, pad}, eng, fpd);
  std::printf("  oneDNN: forward %s, backward data %s, backward weights %s\n", fpd.impl_info_str(),
              bdpd.impl_info_str(), bwpd.impl_info_str());
  dnnl::memory x(src, eng), y(dst, eng), dx(src, eng), dy(dst, eng), w(user_w, eng),
      dw(user_w, eng), fw(fpd.weights_desc(), eng), bw(bdpd.weights_desc(), eng),
      gw(bwpd.diff_weights_desc(), eng);
  for (auto* m : {&x, &dy, &w})
    fill(static_cast<float*>(m->get_data_handle()), m->get_desc().get_size() / 4);
  dnnl::reorder to_fw(w, fw), to_bw(w, bw), from_gw(gw, dw);
  dnnl::convolution_forward f(fpd);
  dnnl::convolution_backward_data bd(bdpd);
  dnnl::convolution_backward_weights bwt(bwpd);
  double t0 = 0;
  for (int r = 0; r < reps + 2; ++r) {
    if (r == 2) t0 = now();
    to_fw.execute(st, w, fw);
    f.execute(st, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, fw}, {DNNL_ARG_DST, y}});
    bwt.execute(st, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, gw}});
    from_gw.execute(st, gw, dw);
    to_bw.execute(st, w, bw);
    bd.execute(st, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, bw}, {DNNL_ARG_DIFF_SRC, dx}});
    st.wait();
  }
  return (now() - t0) / reps;
}

double bench_im2col(const Shape& s, int reps) {
  const int K = 9 * s.c;
  const long M = long(s.n) * s.h * s.w;
  std::vector<float> x(size_t(M) * s.c), col(size_t(M) * K), w(size_t(s.o) * K), y(size_t(M) * s.o),
      dy(size_t(M) * s.o), dw(size_t(s.o) * K), dx(x.size()), dcol(size_t(M) * K);
  fill(x.data(), x.size());
  fill(w.data(), w.size());
  fill(dy.data(), dy.size());
  auto im2col = [&] {
#pragma omp parallel for
    for (long p = 0; p < M; ++p) {
      const int n = int(p / (s.h * s.w)), hw = int(p % (s.h * s.w)), oh = hw / s.w, ow = hw % s.w;
      for (int kh = 0; kh < 3; ++kh)
        for (int kw = 0; kw < 3; ++kw) {
          float* d = &col[size_t(p) * K + (kh * 3 + kw) * s.c];
          const int ih = oh + kh - 1, iw = ow + kw - 1;
          const bool pad = ih < 0 || iw < 0 || ih >= s.h || iw >= s.w;
          const float* in = pad ? nullptr : &x[((size_t(n) * s.h + ih) * s.w + iw) * s.c];
          for (int ci = 0; ci < s.c; ++ci) d[ci] = pad ? 0.0f : in[ci];
        }
    }
  };
  auto col2im = [&] {
#pragma omp parallel for
    for (long q = 0; q < M; ++q) {
      const int n = int(q / (s.h * s.w)), hw = int(q % (s.h * s.w)), ih = hw / s.w, iw = hw % s.w;
      float* d = &dx[size_t(q) * s.c];
      for (int ci = 0; ci < s.c; ++ci) d[ci] = 0;
      for (int kh = 0; kh < 3; ++kh)
        for (int kw = 0; kw < 3; ++kw) {
          const int oh = ih - kh + 1, ow = iw - kw + 1;
          if (oh < 0 || ow < 0 || oh >= s.h || ow >= s.w) continue;
          const float* c = &dcol[((size_t(n) * s.h + oh) * s.w + ow) * K + (kh * 3 + kw) * s.c];
          for (int ci = 0; ci < s.c; ++ci) d[ci] += c[ci];
        }
    }
  };
  double t0 = 0;
  for (int r = 0; r < reps + 2; ++r) {
    if (r == 2) t0 = now();
    im2col();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), s.o, K, 1, col.data(), K, w.data(),
                K, 0, y.data(), s.o);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s.o, K, int(M), 1, dy.data(), s.o,
                col.data(), K, 0, dw.data(), K);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(M), K, s.o, 1, dy.data(), s.o,
                w.data(), K, 0, dcol.data(), K);
    col2im();
  }
  return (now() - t0) / reps;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 128;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  std::printf("threads %d, batch %d, %d timed repeats\n", omp_get_max_threads(), n, reps);
  const Shape shapes[] = {{n, 32, 32, 1, 32}, {n, 16, 16, 32, 64}, {n, 8, 8, 64, 128}};
  double total_onednn = 0, total_im2col = 0;
  for (const Shape& s : shapes) {
    const double flops = 3 * 2.0 * s.n * s.h * s.w * 9 * s.c * s.o;
    const double a = bench_onednn(s, reps), b = bench_im2col(s, reps);
    total_onednn += a;
    total_im2col += b;
    std::printf(
        "%2dx%2dx%-3d -> %3d: oneDNN %8.2f ms (%5.1f GFLOP/s)   im2col+sgemm %8.2f ms "
        "(%5.1f GFLOP/s)\n",
        s.h, s.w, s.c, s.o, a * 1e3, flops / a * 1e-9, b * 1e3, flops / b * 1e-9);
  }
  std::printf("per step: oneDNN %.2f ms, im2col+sgemm %.2f ms (%.2fx)\n", total_onednn * 1e3,
              total_im2col * 1e3, total_im2col / total_onednn);
}
