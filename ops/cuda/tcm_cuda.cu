// CUDA kernels: one thread per output pixel, running the shared per-pixel routines of
// tcm_pixel.h (L = 1 lane). Inputs are channels-last contiguous (B, H, W, C) buffers.
// This file includes only CUDA and our own headers, so `nvcc -c` compiles it without
// torch (the torch binding is ops/csrc/tcm_cuda_binding.cpp).
#include <cuda_runtime.h>

#include "tcm_kernels.h"
#include "tcm_pixel.h"

namespace tcm_cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kMaxPP = kMaxPatch * kMaxPatch;

struct AtomicAdd {
  template <typename T>
  TCM_HD void operator()(T* p, T v) const {
#if defined(__CUDA_ARCH__)
    atomicAdd(p, v);
#else
    *p += v;
#endif
  }
};

struct Pixel {
  int64_t index;
  int b, h, w;
};

__device__ __forceinline__ bool pixel_of(const Geometry& g, Pixel* px) {
  px->index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (px->index >= g.B * g.H * g.W) return false;
  px->w = static_cast<int>(px->index % g.W);
  px->h = static_cast<int>((px->index / g.W) % g.H);
  px->b = static_cast<int>(px->index / (g.W * g.H));
  return true;
}

template <typename T>
__global__ void corr_forward_kernel(const T* f1, const T* f2, Geometry g, T* out) {
  Pixel px;
  if (!pixel_of(g, &px)) return;
  const int PP = g.P * g.P;
  T cost[kMaxPP];
  const T* f2img = f2 + static_cast<int64_t>(px.b) * g.H * g.W * g.C;
  tcm::corr_pixel<T>(f1 + px.index * g.C, f2img, px.h, px.w, int(g.H), int(g.W), int(g.C),
                     g.P, g.dil, cost);
  const int64_t HW = g.H * g.W, p = px.index - px.b * HW;
  for (int k = 0; k < PP; ++k) out[(px.b * int64_t(PP) + k) * HW + p] = cost[k];
}

template <typename T>
__global__ void corr_backward_kernel(const T* grad, const T* f1, const T* f2, Geometry g,
                                     T* gf1, T* gf2) {
  Pixel px;
  if (!pixel_of(g, &px)) return;
  const int PP = g.P * g.P;
  T gcost[kMaxPP];
  const int64_t HW = g.H * g.W, p = px.index - px.b * HW;
  for (int k = 0; k < PP; ++k) gcost[k] = grad[(px.b * int64_t(PP) + k) * HW + p];
  const int64_t img = static_cast<int64_t>(px.b) * HW * g.C;
  tcm::corr_pixel_backward<T>(gcost, f1 + px.index * g.C, f2 + img, px.h, px.w, int(g.H),
                              int(g.W), int(g.C), g.P, g.dil, gf1 + px.index * g.C,
                              gf2 + img, AtomicAdd());
}

template <typename T>
__global__ void match_forward_kernel(const T* f1, const T* f2, Geometry g, T sigma,
                                     T temperature, T* flow, T* conf) {
  Pixel px;
  if (!pixel_of(g, &px)) return;
  T cost[kMaxPP], expo[kMaxPP], gauss[2 * kMaxPatch], gxy[2 * kMaxPatch];
  tcm::gauss_table<T>(g.P, sigma, gauss);
  const T* f2img = f2 + static_cast<int64_t>(px.b) * g.H * g.W * g.C;
  tcm::corr_pixel<T>(f1 + px.index * g.C, f2img, px.h, px.w, int(g.H), int(g.W), int(g.C),
                     g.P, 1, cost);
  tcm::MatchLanes<T, 1> r;
  tcm::match_lanes<T, 1>(cost, g.P, gauss, temperature, expo, gxy, r);
  const int64_t HW = g.H * g.W, p = px.index - px.b * HW;
  flow[(px.b * 2) * HW + p] = r.u[0];
  flow[(px.b * 2 + 1) * HW + p] = r.v[0];
  conf[px.b * HW + p] = r.conf[0];
}

template <typename T>
__global__ void match_backward_kernel(const T* grad_flow, const T* grad_conf, const T* f1,
                                      const T* f2, Geometry g, T sigma, T temperature, T* gf1,
                                      T* gf2) {
  Pixel px;
  if (!pixel_of(g, &px)) return;
  const int64_t HW = g.H * g.W, p = px.index - px.b * HW;
  const T gu = grad_flow[(px.b * 2) * HW + p], gv = grad_flow[(px.b * 2 + 1) * HW + p];
  const T gc = grad_conf[px.b * HW + p];
  if (gu == T(0) && gv == T(0) && gc == T(0)) return;
  T cost[kMaxPP], expo[kMaxPP], gauss[2 * kMaxPatch], gxy[2 * kMaxPatch];
  tcm::gauss_table<T>(g.P, sigma, gauss);
  const int64_t img = static_cast<int64_t>(px.b) * HW * g.C;
  const T* f1p = f1 + px.index * g.C;
  tcm::corr_pixel<T>(f1p, f2 + img, px.h, px.w, int(g.H), int(g.W), int(g.C), g.P, 1, cost);
  tcm::MatchLanes<T, 1> r;
  tcm::match_lanes<T, 1>(cost, g.P, gauss, temperature, expo, gxy, r);
  tcm::match_lanes_backward<T, 1>(cost, expo, gxy, r, g.P, &gu, &gv, &gc, expo, 1);
  tcm::corr_pixel_backward<T>(expo, f1p, f2 + img, px.h, px.w, int(g.H), int(g.W), int(g.C),
                              g.P, 1, gf1 + px.index * g.C, gf2 + img,
                              AtomicAdd());
}

unsigned blocks_for(const Geometry& g) {
  return static_cast<unsigned>((g.B * g.H * g.W + kThreads - 1) / kThreads);
}

template <typename T>
void zero(T* p, const Geometry& g, cudaStream_t s) {
  cudaMemsetAsync(p, 0, sizeof(T) * g.B * g.C * g.H * g.W, s);
}

}  // namespace

#define TCM_CUDA_DEFINE(T)                                                                 \
  void correlation_forward(const T* f1, const T* f2, const Geometry& g, T* out,            \
                           void* stream) {                                                 \
    if (g.B * g.H * g.W == 0) return;                                                      \
    corr_forward_kernel<T><<<blocks_for(g), kThreads, 0, (cudaStream_t)stream>>>(          \
        f1, f2, g, out);                                                                   \
  }                                                                                        \
  void correlation_backward(const T* grad, const T* f1, const T* f2, const Geometry& g,    \
                            T* gf1, T* gf2, void* stream) {                                \
    zero(gf1, g, (cudaStream_t)stream);                                                    \
    zero(gf2, g, (cudaStream_t)stream);                                                    \
    if (g.B * g.H * g.W == 0) return;                                                      \
    corr_backward_kernel<T><<<blocks_for(g), kThreads, 0, (cudaStream_t)stream>>>(         \
        grad, f1, f2, g, gf1, gf2);                                                        \
  }                                                                                        \
  void tempo_match_forward(const T* f1, const T* f2, const Geometry& g, double sigma,      \
                           double temperature, T* flow, T* conf, void* stream) {           \
    if (g.B * g.H * g.W == 0) return;                                                      \
    match_forward_kernel<T><<<blocks_for(g), kThreads, 0, (cudaStream_t)stream>>>(         \
        f1, f2, g, T(sigma), T(temperature), flow, conf);                                  \
  }                                                                                        \
  void tempo_match_backward(const T* grad_flow, const T* grad_conf, const T* f1,           \
                            const T* f2, const Geometry& g, double sigma,                  \
                            double temperature, T* gf1, T* gf2, void* stream) {            \
    zero(gf1, g, (cudaStream_t)stream);                                                    \
    zero(gf2, g, (cudaStream_t)stream);                                                    \
    if (g.B * g.H * g.W == 0) return;                                                      \
    match_backward_kernel<T><<<blocks_for(g), kThreads, 0, (cudaStream_t)stream>>>(        \
        grad_flow, grad_conf, f1, f2, g, T(sigma), T(temperature), gf1, gf2);              \
  }
TCM_CUDA_DEFINE(float)
TCM_CUDA_DEFINE(double)
#undef TCM_CUDA_DEFINE

}  // namespace tcm_cuda
