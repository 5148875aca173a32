// The cuDNN graph (backend) API's operation graphs for the problems of cudnn_problem.h: tensor
// descriptors (NHWC by strides, FP32 virtual intermediates), the convolution / pointwise /
// normalisation operations, and the graph that binds them to a handle. Each problem's tensors
// have fixed unique ids; `variant_pointers` lays a call's buffers out in the graph's id order
// and checks that each has the alignment the problem promised. Internal to the cuDNN path.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/cuda/cudnn_descriptor.h"
#include "engine/cuda/cudnn_problem.h"

namespace gt::engine::cuda {

struct OperationSet {
  std::vector<Descriptor> keep;  // tensors and the descriptors the operations refer to
  std::vector<Descriptor> ops;   // finalised operations, in graph order
  std::vector<int64_t> uids;     // the graph's non-virtual tensors, in variant-pack order
};

// Built without a handle (no GPU needed): every descriptor is finalised, so a wrong attribute
// shows up here.
OperationSet operations(const ConvProblem& problem);
OperationSet operations(const BatchNormProblem& problem);

// The finalised operation graph of `set` on `handle`'s device.
Descriptor operation_graph(const OperationSet& set, cudnnHandle_t handle);

// The data pointers of one call in `uids` order. Throws gt::Error naming the tensor when one is
// missing or less aligned than the problem says. BatchNorm's epsilon and momentum are passed by
// value: the returned pointers point into `t`, which must outlive their use.
std::vector<void*> variant_pointers(const ConvProblem& problem, const ConvTensors& t);
std::vector<void*> variant_pointers(const BatchNormProblem& problem,
                                    const BatchNormForwardTensors& t);
std::vector<void*> variant_pointers(const BatchNormProblem& problem,
                                    const BatchNormBackwardTensors& t);

cudnnDataType_t data_type(Precision precision);

}  // namespace gt::engine::cuda
