// What the CPU and CUDA torch bindings share: the preconditions of the four ops (one
// place, so both devices reject the same inputs with the same messages), the work / output
// dtypes and the gradient layout.
#pragma once

#include <ATen/ATen.h>

#include "tcm_kernels.h"

namespace tcm_binding {

inline void check_pair(const at::Tensor& f1, const at::Tensor& f2) {
  TORCH_CHECK(f1.dim() == 4, "mmaction_tcm: f1 must be 4-D (B, C, H, W), got ", f1.sizes());
  TORCH_CHECK(f2.sizes() == f1.sizes(), "mmaction_tcm: f1 and f2 must have the same shape, got ",
              f1.sizes(), " and ", f2.sizes());
  TORCH_CHECK(f1.device() == f2.device(), "mmaction_tcm: f1 and f2 must be on one device");
  TORCH_CHECK(at::isFloatingType(f1.scalar_type()) && at::isFloatingType(f2.scalar_type()),
              "mmaction_tcm: f1 and f2 must be floating point, got ", f1.scalar_type(),
              " and ", f2.scalar_type());
}

inline void check_patch(int64_t patch_size, int64_t dilation, int64_t minimum) {
  TORCH_CHECK(patch_size >= minimum && patch_size % 2 == 1,
              "mmaction_tcm: patch_size must be an odd integer >= ", minimum, ", got ",
              patch_size);
  TORCH_CHECK(dilation >= 1, "mmaction_tcm: dilation_patch must be >= 1, got ", dilation);
}

inline void check_positive(const char* name, double v) {
  TORCH_CHECK(v > 0, "mmaction_tcm: ", name, " must be > 0, got ", v);
}

inline tcm::Geometry geometry(const at::Tensor& f1, int64_t patch_size, int64_t dilation) {
  return {f1.size(0), f1.size(1), f1.size(2), f1.size(3), static_cast<int>(patch_size),
          static_cast<int>(dilation)};
}

// correlation / correlation_backward: (B, C, H, W) pair, odd P >= 1, dilation >= 1.
inline tcm::Geometry check_correlation(const at::Tensor& f1, const at::Tensor& f2,
                                       int64_t patch_size, int64_t dilation) {
  check_pair(f1, f2);
  check_patch(patch_size, dilation, 1);
  return geometry(f1, patch_size, dilation);
}

// correlation_backward: the forward's checks and the incoming gradient (B, P, P, H, W).
inline tcm::Geometry check_correlation_backward(const at::Tensor& grad, const at::Tensor& f1,
                                                const at::Tensor& f2, int64_t patch_size,
                                                int64_t dilation) {
  const tcm::Geometry g = check_correlation(f1, f2, patch_size, dilation);
  TORCH_CHECK(grad.sizes() == at::IntArrayRef({g.B, g.P, g.P, g.H, g.W}),
              "mmaction_tcm: correlation grad has shape ", grad.sizes());
  return g;
}

// tempo_match / tempo_match_backward: (B, C, H, W) pair, odd P >= 3, sigma and
// temperature > 0.
inline tcm::Geometry check_tempo_match(const at::Tensor& f1, const at::Tensor& f2,
                                       int64_t patch_size, double sigma, double temperature) {
  check_pair(f1, f2);
  check_patch(patch_size, 1, 3);
  check_positive("sigma", sigma);
  check_positive("temperature", temperature);
  return geometry(f1, patch_size, 1);
}

// tempo_match_backward: the forward's checks and the incoming gradients, flow (B, 2, H, W)
// and confidence (B, 1, H, W).
inline tcm::Geometry check_tempo_match_backward(const at::Tensor& grad_flow,
                                                const at::Tensor& grad_conf,
                                                const at::Tensor& f1, const at::Tensor& f2,
                                                int64_t patch_size, double sigma,
                                                double temperature) {
  const tcm::Geometry g = check_tempo_match(f1, f2, patch_size, sigma, temperature);
  TORCH_CHECK(grad_flow.sizes() == at::IntArrayRef({g.B, 2, g.H, g.W}) &&
                  grad_conf.sizes() == at::IntArrayRef({g.B, 1, g.H, g.W}),
              "mmaction_tcm: tempo_match grads have shapes ", grad_flow.sizes(), " and ",
              grad_conf.sizes());
  return g;
}

// Output dtype follows type promotion; arithmetic runs in double for double, else float
// (the kernels exist for these two: dispatch with AT_DISPATCH_FLOATING_TYPES).
inline at::ScalarType out_type(const at::Tensor& a, const at::Tensor& b) {
  return at::promote_types(a.scalar_type(), b.scalar_type());
}

inline at::ScalarType work_type(const at::Tensor& a, const at::Tensor& b) {
  return out_type(a, b) == at::kDouble ? at::kDouble : at::kFloat;
}

inline tcm::Strides strides_of(const at::Tensor& t) {
  return {t.stride(0), t.stride(1), t.stride(2), t.stride(3)};
}

// Layout of an input's gradient: channels_last when the input is channels_last (and not
// also NCHW-contiguous), else contiguous NCHW. The fake kernels
// (mmaction_tcm/ops/registrations.py, `grad_format`) state the same rule, so compiled graphs
// see the strides the kernels return.
inline at::MemoryFormat grad_format(const at::Tensor& t) {
  return (!t.is_contiguous() && t.is_contiguous(at::MemoryFormat::ChannelsLast))
             ? at::MemoryFormat::ChannelsLast
             : at::MemoryFormat::Contiguous;
}

// Gradient buffers in the layout of `grad_format`.
inline at::Tensor grad_like(const at::Tensor& t) {
  return at::empty(t.sizes(), t.options().memory_format(grad_format(t)));
}

}  // namespace tcm_binding
