// CUDA kernels of the mmaction_tcm ops (compiled only when the extension is built with a
// CUDA torch; the kernels themselves live in ops/cuda/tcm_cuda.cu). Inputs are converted
// to contiguous (B, C, H, W) float (double for double) buffers. The preconditions are the
// CPU binding's (tcm_binding_common.h), plus the CUDA patch limit of tempo_match.
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include "tcm_binding_common.h"

namespace tcm_binding {
namespace {

at::Tensor as_nchw(const at::Tensor& t, at::ScalarType wt) {
  return t.to(wt).contiguous();
}

// Transient cost volume of tempo_match (B * P * P * H * W elements of f1's type).
at::Tensor workspace_for(const at::Tensor& f1, const tcm::Geometry& g) {
  return at::empty({g.B * g.P * g.P * g.H * g.W}, f1.options());
}

// The kernels write contiguous gradients; hand them back in the input's dtype and in the
// layout the fake kernels promise (grad_format).
at::Tensor as_grad_of(const at::Tensor& grad, const at::Tensor& input) {
  return grad.to(input.scalar_type()).contiguous(grad_format(input));
}

void check_cuda_patch(int64_t patch_size) {
  TORCH_CHECK(patch_size <= tcm_cuda::kMaxPatch, "mmaction_tcm: tempo_match on CUDA supports "
              "patch_size <= ", tcm_cuda::kMaxPatch, ", got ", patch_size);
}

void* stream() { return c10::cuda::getCurrentCUDAStream().stream(); }

at::Tensor correlation_cuda(const at::Tensor& f1_, const at::Tensor& f2_, int64_t patch_size,
                            int64_t dilation) {
  const tcm::Geometry g = check_correlation(f1_, f2_, patch_size, dilation);
  const c10::cuda::CUDAGuard guard(f1_.device());
  const auto wt = work_type(f1_, f2_);
  const at::Tensor f1 = as_nchw(f1_, wt), f2 = as_nchw(f2_, wt);
  at::Tensor out = at::empty({g.B, patch_size, patch_size, g.H, g.W}, f1.options());
  AT_DISPATCH_FLOATING_TYPES(wt, "mmaction_tcm::correlation", [&] {
    tcm_cuda::correlation_forward(f1.data_ptr<scalar_t>(), f2.data_ptr<scalar_t>(), g,
                                  out.data_ptr<scalar_t>(), stream());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out.to(out_type(f1_, f2_));
}

std::tuple<at::Tensor, at::Tensor> correlation_backward_cuda(const at::Tensor& grad_,
                                                             const at::Tensor& f1_,
                                                             const at::Tensor& f2_,
                                                             int64_t patch_size,
                                                             int64_t dilation) {
  const tcm::Geometry g = check_correlation_backward(grad_, f1_, f2_, patch_size, dilation);
  const c10::cuda::CUDAGuard guard(f1_.device());
  const auto wt = work_type(f1_, f2_);
  const at::Tensor f1 = as_nchw(f1_, wt), f2 = as_nchw(f2_, wt);
  const at::Tensor grad = grad_.to(wt).contiguous();
  at::Tensor g1 = at::empty_like(f1), g2 = at::empty_like(f2);
  AT_DISPATCH_FLOATING_TYPES(wt, "mmaction_tcm::correlation_backward", [&] {
    tcm_cuda::correlation_backward(grad.data_ptr<scalar_t>(), f1.data_ptr<scalar_t>(),
                                   f2.data_ptr<scalar_t>(), g, g1.data_ptr<scalar_t>(),
                                   g2.data_ptr<scalar_t>(), stream());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {as_grad_of(g1, f1_), as_grad_of(g2, f2_)};
}

std::tuple<at::Tensor, at::Tensor> tempo_match_cuda(const at::Tensor& f1_,
                                                    const at::Tensor& f2_, int64_t patch_size,
                                                    double sigma, double temperature) {
  const tcm::Geometry g = check_tempo_match(f1_, f2_, patch_size, sigma, temperature);
  check_cuda_patch(patch_size);
  const c10::cuda::CUDAGuard guard(f1_.device());
  const auto wt = work_type(f1_, f2_);
  const at::Tensor f1 = as_nchw(f1_, wt), f2 = as_nchw(f2_, wt);
  at::Tensor flow = at::empty({g.B, 2, g.H, g.W}, f1.options().memory_format(
                                                      at::MemoryFormat::Contiguous));
  at::Tensor conf = at::empty({g.B, 1, g.H, g.W}, flow.options());
  at::Tensor work = workspace_for(f1, g);
  AT_DISPATCH_FLOATING_TYPES(wt, "mmaction_tcm::tempo_match", [&] {
    tcm_cuda::tempo_match_forward(f1.data_ptr<scalar_t>(), f2.data_ptr<scalar_t>(), g, sigma,
                                  temperature, flow.data_ptr<scalar_t>(),
                                  conf.data_ptr<scalar_t>(), work.data_ptr<scalar_t>(),
                                  stream());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const auto ot = out_type(f1_, f2_);
  return {flow.to(ot), conf.to(ot)};
}

std::tuple<at::Tensor, at::Tensor> tempo_match_backward_cuda(
    const at::Tensor& grad_flow_, const at::Tensor& grad_conf_, const at::Tensor& f1_,
    const at::Tensor& f2_, int64_t patch_size, double sigma, double temperature) {
  const tcm::Geometry g = check_tempo_match_backward(grad_flow_, grad_conf_, f1_, f2_,
                                                     patch_size, sigma, temperature);
  check_cuda_patch(patch_size);
  const c10::cuda::CUDAGuard guard(f1_.device());
  const auto wt = work_type(f1_, f2_);
  const at::Tensor f1 = as_nchw(f1_, wt), f2 = as_nchw(f2_, wt);
  const at::Tensor gf = grad_flow_.to(wt).contiguous(), gc = grad_conf_.to(wt).contiguous();
  at::Tensor g1 = at::empty_like(f1), g2 = at::empty_like(f2);
  at::Tensor work = workspace_for(f1, g);
  AT_DISPATCH_FLOATING_TYPES(wt, "mmaction_tcm::tempo_match_backward", [&] {
    tcm_cuda::tempo_match_backward(gf.data_ptr<scalar_t>(), gc.data_ptr<scalar_t>(),
                                   f1.data_ptr<scalar_t>(), f2.data_ptr<scalar_t>(), g, sigma,
                                   temperature, g1.data_ptr<scalar_t>(),
                                   g2.data_ptr<scalar_t>(), work.data_ptr<scalar_t>(),
                                   stream());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {as_grad_of(g1, f1_), as_grad_of(g2, f2_)};
}

}  // namespace
}  // namespace tcm_binding

TORCH_LIBRARY_IMPL(mmaction_tcm, CUDA, m) {
  m.impl("correlation", &tcm_binding::correlation_cuda);
  m.impl("correlation_backward", &tcm_binding::correlation_backward_cuda);
  m.impl("tempo_match", &tcm_binding::tempo_match_cuda);
  m.impl("tempo_match_backward", &tcm_binding::tempo_match_backward_cuda);
}
