// Operation graphs of the cuDNN path (see cudnn_graphs.h), written against the graph (backend)
// C API: each descriptor is created, its attributes set and finalised, as cuDNN's backend
// documentation lays out per descriptor type.
#include "engine/cuda/cudnn_graphs.h"

#include <string>

#include "common/error.h"

namespace gt::engine::cuda {
namespace {

// Unique ids of the tensors (variant-pack keys). Virtual intermediates start at 100.
enum ConvUid : int64_t { kX = 1, kW = 2, kY = 3, kBias = 4, kConvOut = 101, kBiasOut = 102 };
enum BatchNormUid : int64_t {
  kBnX = 1,
  kBnY = 2,  // dy in the backward graph
  kBnScale = 3,
  kBnBias = 4,
  kBnMean = 5,  // saved mean
  kBnInvStd = 6,
  kBnRunMeanIn = 7,
  kBnRunVarIn = 8,
  kBnRunMeanOut = 9,
  kBnRunVarOut = 10,
  kBnEpsilon = 11,
  kBnMomentum = 12,
  kBnDx = 13,
  kBnDscale = 14,
  kBnDbias = 15,
};

struct TensorSpec {
  int64_t uid;
  cudnnDataType_t type;
  Tensor4d shape;
  int alignment = 16;
  bool is_virtual = false;
  bool by_value = false;
};

Descriptor tensor(const TensorSpec& s) {
  Descriptor d(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  d.set_data_type(CUDNN_ATTR_TENSOR_DATA_TYPE, s.type);
  d.set_int64s(CUDNN_ATTR_TENSOR_DIMENSIONS, {s.shape.dims.begin(), s.shape.dims.end()});
  d.set_int64s(CUDNN_ATTR_TENSOR_STRIDES, {s.shape.strides.begin(), s.shape.strides.end()});
  d.set_int64(CUDNN_ATTR_TENSOR_UNIQUE_ID, s.uid);
  d.set_int64(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, s.alignment);
  if (s.is_virtual) {
    const bool yes = true;
    d.set(CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &yes);
  }
  if (s.by_value) {
    const bool yes = true;
    d.set(CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &yes);
  }
  d.finalize();
  return d;
}

// One value per channel, [1, C, 1, 1].
Tensor4d per_channel(int64_t c) { return {{1, c, 1, 1}, {c, 1, c, c}}; }
Tensor4d scalar() { return {{1, 1, 1, 1}, {1, 1, 1, 1}}; }

Descriptor convolution(const ConvGeometry& g) {
  Descriptor d(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  d.set_data_type(CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_DATA_FLOAT);
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  d.set(CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
  d.set_int64(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, 2);
  d.set_int64s(CUDNN_ATTR_CONVOLUTION_DILATIONS, {1, 1});
  d.set_int64s(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, {g.stride_h, g.stride_w});
  d.set_int64s(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, {g.pad_top, g.pad_left});
  d.set_int64s(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, {g.pad_bottom, g.pad_right});
  d.finalize();
  return d;
}

Descriptor pointwise(cudnnPointwiseMode_t mode) {
  Descriptor d(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
  d.set(CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode);
  d.set_data_type(CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_DATA_FLOAT);
  d.finalize();
  return d;
}

// The attributes of one convolution operation: its descriptor type and where x, w and y (dx,
// dw or dy for the backward ones), the convolution, alpha and beta go.
struct ConvAttributes {
  cudnnBackendDescriptorType_t type;
  cudnnBackendAttributeName_t x, w, y, conv, alpha, beta;
};

ConvAttributes conv_attributes(ConvOp op) {
  switch (op) {
    case ConvOp::backward_data:
      return {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA};
    case ConvOp::backward_filter:
      return {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA};
    case ConvOp::forward:
    case ConvOp::forward_bias_relu:
      break;
  }
  return {CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR,
          CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
          CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
          CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
          CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
          CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA,
          CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA};
}

// The convolution operation of `op` (forward for the fused problem) on x, w, y (y may be the
// virtual FP32 intermediate), with alpha 1 and beta 0.
Descriptor convolution_op(ConvOp op, const Descriptor& conv, const Descriptor& x,
                          const Descriptor& w, const Descriptor& y) {
  const ConvAttributes a = conv_attributes(op);
  const float alpha = 1.0f, beta = 0.0f;
  Descriptor d(a.type);
  d.set_descriptor(a.x, x);
  d.set_descriptor(a.w, w);
  d.set_descriptor(a.y, y);
  d.set_descriptor(a.conv, conv);
  d.set(a.alpha, CUDNN_TYPE_FLOAT, 1, &alpha);
  d.set(a.beta, CUDNN_TYPE_FLOAT, 1, &beta);
  d.finalize();
  return d;
}

// y = mode(x) or y = mode(x, b).
Descriptor pointwise_op(const Descriptor& pw, const Descriptor& x, const Descriptor* b,
                        const Descriptor& y) {
  Descriptor d(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
  d.set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw);
  d.set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x);
  if (b) d.set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, *b);
  d.set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y);
  d.finalize();
  return d;
}

void require(const void* pointer, int alignment, const char* what) {
  if (!pointer) throw gt::Error(std::string("cuDNN call: no buffer given for ") + what);
  if (pointer_alignment(pointer) < alignment)
    throw gt::Error(std::string("cuDNN call: the buffer for ") + what + " is aligned to " +
                    std::to_string(pointer_alignment(pointer)) + " bytes; its plan assumed " +
                    std::to_string(alignment));
}

}  // namespace

cudnnDataType_t data_type(Precision precision) {
  switch (precision) {
    case Precision::fp16:
      return CUDNN_DATA_HALF;
    case Precision::bf16:
      return CUDNN_DATA_BFLOAT16;
    case Precision::fp32:
    case Precision::tf32:
      return CUDNN_DATA_FLOAT;
  }
  return CUDNN_DATA_FLOAT;
}

OperationSet operations(const ConvProblem& p) {
  const cudnnDataType_t type = data_type(p.precision);
  OperationSet set;
  set.keep.reserve(9);  // the references below stay valid
  const Descriptor& x = set.keep.emplace_back(tensor({kX, type, p.x, p.alignment[0]}));
  const Descriptor& w = set.keep.emplace_back(tensor({kW, type, p.w, p.alignment[1]}));
  const Descriptor& y = set.keep.emplace_back(tensor({kY, type, p.y, p.alignment[2]}));
  const Descriptor& conv = set.keep.emplace_back(convolution(p.geometry));
  set.uids = {kX, kW, kY};
  if (p.op != ConvOp::forward_bias_relu) {
    set.ops.push_back(convolution_op(p.op, conv, x, w, y));
    return set;
  }
  // conv → FP32 virtual → + bias → FP32 virtual → ReLU → y.
  const Descriptor& bias =
      set.keep.emplace_back(tensor({kBias, type, per_channel(p.y.dims[1]), p.alignment[2]}));
  const Descriptor& conv_out =
      set.keep.emplace_back(tensor({kConvOut, CUDNN_DATA_FLOAT, p.y, 16, true}));
  const Descriptor& bias_out =
      set.keep.emplace_back(tensor({kBiasOut, CUDNN_DATA_FLOAT, p.y, 16, true}));
  const Descriptor& add = set.keep.emplace_back(pointwise(CUDNN_POINTWISE_ADD));
  const Descriptor& relu = set.keep.emplace_back(pointwise(CUDNN_POINTWISE_RELU_FWD));
  set.ops.push_back(convolution_op(ConvOp::forward, conv, x, w, conv_out));
  set.ops.push_back(pointwise_op(add, conv_out, &bias, bias_out));
  set.ops.push_back(pointwise_op(relu, bias_out, nullptr, y));
  set.uids.push_back(kBias);
  return set;
}

OperationSet operations(const BatchNormProblem& p) {
  const cudnnDataType_t type = data_type(p.precision);
  const Tensor4d channel = per_channel(p.x.dims[1]);
  OperationSet set;
  set.keep.reserve(16);  // the references below stay valid
  auto add = [&](int64_t uid, cudnnDataType_t t, const Tensor4d& shape, int alignment = 16,
                 bool by_value = false) -> const Descriptor& {
    return set.keep.emplace_back(tensor({uid, t, shape, alignment, false, by_value}));
  };
  const Descriptor& x = add(kBnX, type, p.x, p.alignment);
  const Descriptor& y = add(kBnY, type, p.x, p.alignment);
  const Descriptor& scale = add(kBnScale, CUDNN_DATA_FLOAT, channel);
  const Descriptor& mean = add(kBnMean, CUDNN_DATA_FLOAT, channel);
  const Descriptor& inv_std = add(kBnInvStd, CUDNN_DATA_FLOAT, channel);
  const cudnnBackendNormMode_t mode = CUDNN_BATCH_NORM;
  if (p.op == BatchNormOp::forward_training) {
    const Descriptor& bias = add(kBnBias, CUDNN_DATA_FLOAT, channel);
    const Descriptor& mean_in = add(kBnRunMeanIn, CUDNN_DATA_FLOAT, channel);
    const Descriptor& var_in = add(kBnRunVarIn, CUDNN_DATA_FLOAT, channel);
    const Descriptor& mean_out = add(kBnRunMeanOut, CUDNN_DATA_FLOAT, channel);
    const Descriptor& var_out = add(kBnRunVarOut, CUDNN_DATA_FLOAT, channel);
    const Descriptor& epsilon = add(kBnEpsilon, CUDNN_DATA_FLOAT, scalar(), 16, true);
    const Descriptor& momentum = add(kBnMomentum, CUDNN_DATA_FLOAT, scalar(), 16, true);
    const cudnnBackendNormFwdPhase_t phase = CUDNN_NORM_FWD_TRAINING;
    Descriptor d(CUDNN_BACKEND_OPERATION_NORM_FORWARD_DESCRIPTOR);
    d.set(CUDNN_ATTR_OPERATION_NORM_FWD_MODE, CUDNN_TYPE_NORM_MODE, 1, &mode);
    d.set(CUDNN_ATTR_OPERATION_NORM_FWD_PHASE, CUDNN_TYPE_NORM_FWD_PHASE, 1, &phase);
    d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_FWD_XDESC, x);
    d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_FWD_MEAN_DESC, mean);
    d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_FWD_INV_VARIANCE_DESC, inv_std);
    d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_FWD_SCALE_DESC, scale);
    d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_FWD_BIAS_DESC, bias);
    d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_FWD_EPSILON_DESC, epsilon);
    d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_FWD_EXP_AVG_FACTOR_DESC, momentum);
    d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_FWD_INPUT_RUNNING_MEAN_DESC, mean_in);
    d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_FWD_INPUT_RUNNING_VAR_DESC, var_in);
    d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_FWD_OUTPUT_RUNNING_MEAN_DESC, mean_out);
    d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_FWD_OUTPUT_RUNNING_VAR_DESC, var_out);
    d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_FWD_YDESC, y);
    d.finalize();
    set.ops.push_back(std::move(d));
    set.uids = {kBnX,          kBnY,         kBnScale, kBnBias,   kBnRunMeanIn, kBnRunVarIn,
                kBnRunMeanOut, kBnRunVarOut, kBnMean,  kBnInvStd, kBnEpsilon,   kBnMomentum};
    return set;
  }
  const Descriptor& dx = add(kBnDx, type, p.x, p.alignment);
  const Descriptor& dscale = add(kBnDscale, CUDNN_DATA_FLOAT, channel);
  const Descriptor& dbias = add(kBnDbias, CUDNN_DATA_FLOAT, channel);
  Descriptor d(CUDNN_BACKEND_OPERATION_NORM_BACKWARD_DESCRIPTOR);
  d.set(CUDNN_ATTR_OPERATION_NORM_BWD_MODE, CUDNN_TYPE_NORM_MODE, 1, &mode);
  d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_BWD_XDESC, x);
  d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_BWD_DYDESC, y);
  d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_BWD_SCALE_DESC, scale);
  d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_BWD_MEAN_DESC, mean);
  d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_BWD_INV_VARIANCE_DESC, inv_std);
  d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_BWD_DSCALE_DESC, dscale);
  d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_BWD_DBIAS_DESC, dbias);
  d.set_descriptor(CUDNN_ATTR_OPERATION_NORM_BWD_DXDESC, dx);
  d.finalize();
  set.ops.push_back(std::move(d));
  set.uids = {kBnX, kBnY, kBnScale, kBnMean, kBnInvStd, kBnDx, kBnDscale, kBnDbias};
  return set;
}

Descriptor operation_graph(const OperationSet& set, cudnnHandle_t handle) {
  std::vector<cudnnBackendDescriptor_t> ops;
  for (const Descriptor& op : set.ops) ops.push_back(op.get());
  Descriptor graph(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  graph.set_descriptors(CUDNN_ATTR_OPERATIONGRAPH_OPS, ops);
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
  graph.finalize();
  return graph;
}

std::vector<void*> variant_pointers(const ConvProblem& p, const ConvTensors& t) {
  require(t.x, p.alignment[0], p.op == ConvOp::backward_data ? "dx" : "x");
  require(t.w, p.alignment[1], p.op == ConvOp::backward_filter ? "dw" : "w");
  const bool backward = p.op == ConvOp::backward_data || p.op == ConvOp::backward_filter;
  require(t.y, p.alignment[2], backward ? "dy" : "y");
  std::vector<void*> out{t.x, t.w, t.y};
  if (p.op == ConvOp::forward_bias_relu) {
    require(t.bias, p.alignment[2], "bias");
    out.push_back(t.bias);
  }
  return out;
}

std::vector<void*> variant_pointers(const BatchNormProblem& p, const BatchNormForwardTensors& t) {
  if (p.op != BatchNormOp::forward_training)
    throw gt::Error("cuDNN call: BatchNorm forward buffers given to a backward plan");
  require(t.x, p.alignment, "BatchNorm x");
  require(t.y, p.alignment, "BatchNorm y");
  for (const void* q :
       {static_cast<const void*>(t.scale), static_cast<const void*>(t.bias),
        static_cast<const void*>(t.running_mean_in), static_cast<const void*>(t.running_var_in),
        static_cast<const void*>(t.running_mean_out), static_cast<const void*>(t.running_var_out),
        static_cast<const void*>(t.saved_mean), static_cast<const void*>(t.saved_inv_std)})
    require(q, 16, "a BatchNorm per-channel tensor");
  auto v = [](const void* q) { return const_cast<void*>(q); };
  return {v(t.x),
          v(t.y),
          v(t.scale),
          v(t.bias),
          v(t.running_mean_in),
          v(t.running_var_in),
          v(t.running_mean_out),
          v(t.running_var_out),
          v(t.saved_mean),
          v(t.saved_inv_std),
          v(&t.epsilon),
          v(&t.momentum)};
}

std::vector<void*> variant_pointers(const BatchNormProblem& p, const BatchNormBackwardTensors& t) {
  if (p.op != BatchNormOp::backward)
    throw gt::Error("cuDNN call: BatchNorm backward buffers given to a forward plan");
  require(t.x, p.alignment, "BatchNorm x");
  require(t.dy, p.alignment, "BatchNorm dy");
  require(t.dx, p.alignment, "BatchNorm dx");
  for (const void* q : {static_cast<const void*>(t.scale), static_cast<const void*>(t.saved_mean),
                        static_cast<const void*>(t.saved_inv_std),
                        static_cast<const void*>(t.dscale), static_cast<const void*>(t.dbias)})
    require(q, 16, "a BatchNorm per-channel tensor");
  auto v = [](const void* q) { return const_cast<void*>(q); };
  return {v(t.x),  v(t.dy),     v(t.scale), v(t.saved_mean), v(t.saved_inv_std),
          v(t.dx), v(t.dscale), v(t.dbias)};
}

}  // namespace gt::engine::cuda
