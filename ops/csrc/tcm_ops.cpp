// Schemas of the mmaction_tcm ops and their CPU kernels (the CUDA ones are registered by
// tcm_cuda_binding.cpp when the extension is built with CUDA). Autograd and fake (meta)
// kernels are registered from Python (mmaction_tcm/ops/native.py).
#include <torch/library.h>

#include "tcm_binding_common.h"

namespace tcm_binding {
namespace {

at::Tensor correlation_cpu(const at::Tensor& f1_, const at::Tensor& f2_, int64_t patch_size,
                           int64_t dilation) {
  check_pair(f1_, f2_);
  check_patch(patch_size, dilation, 1);
  const auto wt = work_type(f1_, f2_);
  const at::Tensor f1 = f1_.to(wt), f2 = f2_.to(wt);
  const tcm::Geometry g = geometry(f1, patch_size, dilation);
  at::Tensor out = at::empty({g.B, patch_size, patch_size, g.H, g.W}, f1.options());
  if (wt == at::kDouble)
    tcm_cpu::correlation_forward(f1.data_ptr<double>(), strides_of(f1), f2.data_ptr<double>(),
                                 strides_of(f2), g, out.data_ptr<double>());
  else
    tcm_cpu::correlation_forward(f1.data_ptr<float>(), strides_of(f1), f2.data_ptr<float>(),
                                 strides_of(f2), g, out.data_ptr<float>());
  return out.to(out_type(f1_, f2_));
}

std::tuple<at::Tensor, at::Tensor> correlation_backward_cpu(const at::Tensor& grad_,
                                                            const at::Tensor& f1_,
                                                            const at::Tensor& f2_,
                                                            int64_t patch_size,
                                                            int64_t dilation) {
  check_pair(f1_, f2_);
  check_patch(patch_size, dilation, 1);
  const auto wt = work_type(f1_, f2_);
  const at::Tensor f1 = f1_.to(wt), f2 = f2_.to(wt);
  const tcm::Geometry g = geometry(f1, patch_size, dilation);
  TORCH_CHECK(grad_.sizes() == at::IntArrayRef({g.B, patch_size, patch_size, g.H, g.W}),
              "mmaction_tcm: correlation grad has shape ", grad_.sizes());
  const at::Tensor grad = grad_.to(wt).contiguous();
  at::Tensor g1 = grad_like(f1), g2 = grad_like(f2);
  if (wt == at::kDouble)
    tcm_cpu::correlation_backward(grad.data_ptr<double>(), f1.data_ptr<double>(),
                                  strides_of(f1), f2.data_ptr<double>(), strides_of(f2), g,
                                  g1.data_ptr<double>(), strides_of(g1),
                                  g2.data_ptr<double>(), strides_of(g2));
  else
    tcm_cpu::correlation_backward(grad.data_ptr<float>(), f1.data_ptr<float>(),
                                  strides_of(f1), f2.data_ptr<float>(), strides_of(f2), g,
                                  g1.data_ptr<float>(), strides_of(g1), g2.data_ptr<float>(),
                                  strides_of(g2));
  return {g1.to(f1_.scalar_type()), g2.to(f2_.scalar_type())};
}

std::tuple<at::Tensor, at::Tensor> tempo_match_cpu(const at::Tensor& f1_, const at::Tensor& f2_,
                                                   int64_t patch_size, double sigma,
                                                   double temperature) {
  check_pair(f1_, f2_);
  check_patch(patch_size, 1, 3);
  check_positive("sigma", sigma);
  check_positive("temperature", temperature);
  const auto wt = work_type(f1_, f2_);
  const at::Tensor f1 = f1_.to(wt), f2 = f2_.to(wt);
  const tcm::Geometry g = geometry(f1, patch_size, 1);
  at::Tensor flow = at::empty({g.B, 2, g.H, g.W}, f1.options());
  at::Tensor conf = at::empty({g.B, 1, g.H, g.W}, f1.options());
  if (wt == at::kDouble)
    tcm_cpu::tempo_match_forward(f1.data_ptr<double>(), strides_of(f1), f2.data_ptr<double>(),
                                 strides_of(f2), g, sigma, temperature,
                                 flow.data_ptr<double>(), conf.data_ptr<double>());
  else
    tcm_cpu::tempo_match_forward(f1.data_ptr<float>(), strides_of(f1), f2.data_ptr<float>(),
                                 strides_of(f2), g, sigma, temperature, flow.data_ptr<float>(),
                                 conf.data_ptr<float>());
  const auto ot = out_type(f1_, f2_);
  return {flow.to(ot), conf.to(ot)};
}

std::tuple<at::Tensor, at::Tensor> tempo_match_backward_cpu(
    const at::Tensor& grad_flow_, const at::Tensor& grad_conf_, const at::Tensor& f1_,
    const at::Tensor& f2_, int64_t patch_size, double sigma, double temperature) {
  check_pair(f1_, f2_);
  check_patch(patch_size, 1, 3);
  const auto wt = work_type(f1_, f2_);
  const at::Tensor f1 = f1_.to(wt), f2 = f2_.to(wt);
  const tcm::Geometry g = geometry(f1, patch_size, 1);
  TORCH_CHECK(grad_flow_.sizes() == at::IntArrayRef({g.B, 2, g.H, g.W}) &&
                  grad_conf_.sizes() == at::IntArrayRef({g.B, 1, g.H, g.W}),
              "mmaction_tcm: tempo_match grads have shapes ", grad_flow_.sizes(), " and ",
              grad_conf_.sizes());
  const at::Tensor gf = grad_flow_.to(wt).contiguous(), gc = grad_conf_.to(wt).contiguous();
  at::Tensor g1 = grad_like(f1), g2 = grad_like(f2);
  if (wt == at::kDouble)
    tcm_cpu::tempo_match_backward(gf.data_ptr<double>(), gc.data_ptr<double>(),
                                  f1.data_ptr<double>(), strides_of(f1), f2.data_ptr<double>(),
                                  strides_of(f2), g, sigma, temperature,
                                  g1.data_ptr<double>(), strides_of(g1),
                                  g2.data_ptr<double>(), strides_of(g2));
  else
    tcm_cpu::tempo_match_backward(gf.data_ptr<float>(), gc.data_ptr<float>(),
                                  f1.data_ptr<float>(), strides_of(f1), f2.data_ptr<float>(),
                                  strides_of(f2), g, sigma, temperature, g1.data_ptr<float>(),
                                  strides_of(g1), g2.data_ptr<float>(), strides_of(g2));
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
