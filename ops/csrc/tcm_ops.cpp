// Schemas of the mmaction_tcm ops and their CPU kernels (the CUDA ones are registered by
// tcm_cuda_binding.cpp when the extension is built with CUDA). Autograd and fake (meta)
// kernels are registered from Python (mmaction_tcm/ops/registrations.py).
#include <torch/library.h>

#include "tcm_binding_common.h"

namespace tcm_binding {
namespace {

at::Tensor correlation_cpu(const at::Tensor& f1_, const at::Tensor& f2_, int64_t patch_size,
                           int64_t dilation) {
  const tcm::Geometry g = check_correlation(f1_, f2_, patch_size, dilation);
  const auto wt = work_type(f1_, f2_);
  const at::Tensor f1 = f1_.to(wt), f2 = f2_.to(wt);
  at::Tensor out = at::empty({g.B, patch_size, patch_size, g.H, g.W}, f1.options());
  AT_DISPATCH_FLOATING_TYPES(wt, "mmaction_tcm::correlation", [&] {
    tcm_cpu::correlation_forward(f1.data_ptr<scalar_t>(), strides_of(f1),
                                 f2.data_ptr<scalar_t>(), strides_of(f2), g,
                                 out.data_ptr<scalar_t>());
  });
  return out.to(out_type(f1_, f2_));
}

std::tuple<at::Tensor, at::Tensor> correlation_backward_cpu(const at::Tensor& grad_,
                                                            const at::Tensor& f1_,
                                                            const at::Tensor& f2_,
                                                            int64_t patch_size,
                                                            int64_t dilation) {
  const tcm::Geometry g = check_correlation_backward(grad_, f1_, f2_, patch_size, dilation);
  const auto wt = work_type(f1_, f2_);
  const at::Tensor f1 = f1_.to(wt), f2 = f2_.to(wt);
  const at::Tensor grad = grad_.to(wt).contiguous();
  at::Tensor g1 = grad_like(f1), g2 = grad_like(f2);
  AT_DISPATCH_FLOATING_TYPES(wt, "mmaction_tcm::correlation_backward", [&] {
    tcm_cpu::correlation_backward(grad.data_ptr<scalar_t>(), f1.data_ptr<scalar_t>(),
                                  strides_of(f1), f2.data_ptr<scalar_t>(), strides_of(f2), g,
                                  g1.data_ptr<scalar_t>(), strides_of(g1),
                                  g2.data_ptr<scalar_t>(), strides_of(g2));
  });
  return {g1.to(f1_.scalar_type()), g2.to(f2_.scalar_type())};
}

std::tuple<at::Tensor, at::Tensor> tempo_match_cpu(const at::Tensor& f1_, const at::Tensor& f2_,
                                                   int64_t patch_size, double sigma,
                                                   double temperature) {
  const tcm::Geometry g = check_tempo_match(f1_, f2_, patch_size, sigma, temperature);
  const auto wt = work_type(f1_, f2_);
  const at::Tensor f1 = f1_.to(wt), f2 = f2_.to(wt);
  at::Tensor flow = at::empty({g.B, 2, g.H, g.W}, f1.options());
  at::Tensor conf = at::empty({g.B, 1, g.H, g.W}, f1.options());
  AT_DISPATCH_FLOATING_TYPES(wt, "mmaction_tcm::tempo_match", [&] {
    tcm_cpu::tempo_match_forward(f1.data_ptr<scalar_t>(), strides_of(f1),
                                 f2.data_ptr<scalar_t>(), strides_of(f2), g, sigma,
                                 temperature, flow.data_ptr<scalar_t>(),
                                 conf.data_ptr<scalar_t>());
  });
  const auto ot = out_type(f1_, f2_);
  return {flow.to(ot), conf.to(ot)};
}

std::tuple<at::Tensor, at::Tensor> tempo_match_backward_cpu(
    const at::Tensor& grad_flow_, const at::Tensor& grad_conf_, const at::Tensor& f1_,
    const at::Tensor& f2_, int64_t patch_size, double sigma, double temperature) {
  const tcm::Geometry g = check_tempo_match_backward(grad_flow_, grad_conf_, f1_, f2_,
                                                     patch_size, sigma, temperature);
  const auto wt = work_type(f1_, f2_);
  const at::Tensor f1 = f1_.to(wt), f2 = f2_.to(wt);
  const at::Tensor gf = grad_flow_.to(wt).contiguous(), gc = grad_conf_.to(wt).contiguous();
  at::Tensor g1 = grad_like(f1), g2 = grad_like(f2);
  AT_DISPATCH_FLOATING_TYPES(wt, "mmaction_tcm::tempo_match_backward", [&] {
    tcm_cpu::tempo_match_backward(gf.data_ptr<scalar_t>(), gc.data_ptr<scalar_t>(),
                                  f1.data_ptr<scalar_t>(), strides_of(f1),
                                  f2.data_ptr<scalar_t>(), strides_of(f2), g, sigma,
                                  temperature, g1.data_ptr<scalar_t>(), strides_of(g1),
                                  g2.data_ptr<scalar_t>(), strides_of(g2));
  });
  return {g1.to(f1_.scalar_type()), g2.to(f2_.scalar_type())};
}

}  // namespace
}  // namespace tcm_binding

TORCH_LIBRARY(mmaction_tcm, m) {
  m.def("correlation(Tensor f1, Tensor f2, int patch_size, int dilation_patch=1) -> Tensor");
  m.def("correlation_backward(Tensor grad, Tensor f1, Tensor f2, int patch_size, "
        "int dilation_patch) -> (Tensor, Tensor)");
  m.def("tempo_match(Tensor f1, Tensor f2, int patch_size=15, float sigma=5.0, "
        "float temperature=100.0) -> (Tensor, Tensor)");
  m.def("tempo_match_backward(Tensor grad_flow, Tensor grad_confidence, Tensor f1, "
        "Tensor f2, int patch_size, float sigma, float temperature) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(mmaction_tcm, CPU, m) {
  m.impl("correlation", &tcm_binding::correlation_cpu);
  m.impl("correlation_backward", &tcm_binding::correlation_backward_cpu);
  m.impl("tempo_match", &tcm_binding::tempo_match_cpu);
  m.impl("tempo_match_backward", &tcm_binding::tempo_match_backward_cpu);
}
