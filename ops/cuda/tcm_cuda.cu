// CUDA kernels: thin __global__ wrappers around the per-thread functions of
// tcm_cuda_threads.h. Inputs are contiguous (B, C, H, W) buffers.
//
//   correlation   forward: one thread per cost entry (b, k, h, w)
//                 backward: one thread per input element, gradients gathered (no atomics)
//   tempo_match   forward: cost volume into a workspace, then one thread per pixel runs
//                 the shared matching routine (tcm::match_lanes)
//                 backward: cost volume recomputed into the workspace, turned in place into
//                 d(loss)/d(cost) per pixel, then the correlation backward
//
// The workspace is transient (freed by the caller after the call): nothing of size
// (B, P*P, H, W) is kept between forward and backward. This file includes only CUDA and
// our own headers, so `nvcc -c` compiles it without torch (the torch binding is
// ops/csrc/tcm_cuda_binding.cpp).
#include <cuda_runtime.h>

#include "tcm_cuda_threads.h"

namespace tcm_cuda {
namespace {

constexpr int kThreads = 256;       // element-wise kernels
constexpr int kMatchThreads = 128;  // per-pixel matching (large per-thread scratch)

__device__ __forceinline__ int64_t thread_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

unsigned blocks(int64_t n, int threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

template <typename T>
__global__ void cost_kernel(const T* f1, const T* f2, Dims d, T* cost) {
  const int64_t idx = thread_index();
  if (idx < d.B * d.PP * d.HW) cost_entry(idx, f1, f2, d, cost);
}

template <typename T>
__global__ void grad_f1_kernel(const T* gcost, const T* f2, Dims d, T* gf1) {
  const int64_t idx = thread_index();
  if (idx < d.B * d.C * d.HW) grad_f1_entry(idx, gcost, f2, d, gf1);
}

template <typename T>
__global__ void grad_f2_kernel(const T* gcost, const T* f1, Dims d, T* gf2) {
  const int64_t idx = thread_index();
  if (idx < d.B * d.C * d.HW) grad_f2_entry(idx, gcost, f1, d, gf2);
}

template <typename T>
__global__ void match_kernel(const T* volume, Dims d, T sigma, T temperature, T* flow,
                             T* conf) {
  const int64_t pixel = thread_index();
  if (pixel >= d.B * d.HW) return;
  MatchScratch<T> s;
  match_entry(pixel, volume, d, sigma, temperature, s, flow, conf);
}

template <typename T>
__global__ void match_backward_kernel(T* volume, const T* grad_flow, const T* grad_conf,
                                      Dims d, T sigma, T temperature) {
  const int64_t pixel = thread_index();
  if (pixel >= d.B * d.HW) return;
  MatchScratch<T> s;
  match_backward_entry(pixel, volume, grad_flow, grad_conf, d, sigma, temperature, s);
}

template <typename T>
void launch_cost(const T* f1, const T* f2, const Dims& d, T* cost, cudaStream_t s) {
  const int64_t n = d.B * d.PP * d.HW;
  if (n > 0) cost_kernel<T><<<blocks(n, kThreads), kThreads, 0, s>>>(f1, f2, d, cost);
}

template <typename T>
void launch_input_grads(const T* gcost, const T* f1, const T* f2, const Dims& d, T* gf1,
                        T* gf2, cudaStream_t s) {
  const int64_t n = d.B * d.C * d.HW;
  if (n == 0) return;
  grad_f1_kernel<T><<<blocks(n, kThreads), kThreads, 0, s>>>(gcost, f2, d, gf1);
  grad_f2_kernel<T><<<blocks(n, kThreads), kThreads, 0, s>>>(gcost, f1, d, gf2);
}

}  // namespace

#define TCM_CUDA_DEFINE(T)                                                                 \
  void correlation_forward(const T* f1, const T* f2, const Geometry& g, T* out,            \
                           void* stream) {                                                 \
    launch_cost(f1, f2, dims_of(g), out, (cudaStream_t)stream);                            \
  }                                                                                        \
  void correlation_backward(const T* grad, const T* f1, const T* f2, const Geometry& g,    \
                            T* gf1, T* gf2, void* stream) {                                \
    launch_input_grads(grad, f1, f2, dims_of(g), gf1, gf2, (cudaStream_t)stream);          \
  }                                                                                        \
  void tempo_match_forward(const T* f1, const T* f2, const Geometry& g, double sigma,      \
                           double temperature, T* flow, T* conf, T* workspace,             \
                           void* stream) {                                                 \
    const Dims d = dims_of(g);                                                             \
    const cudaStream_t s = (cudaStream_t)stream;                                           \
    if (d.B * d.HW == 0) return;                                                           \
    launch_cost(f1, f2, d, workspace, s);                                                  \
    match_kernel<T><<<blocks(d.B * d.HW, kMatchThreads), kMatchThreads, 0, s>>>(           \
        workspace, d, T(sigma), T(temperature), flow, conf);                               \
  }                                                                                        \
  void tempo_match_backward(const T* grad_flow, const T* grad_conf, const T* f1,           \
                            const T* f2, const Geometry& g, double sigma,                  \
                            double temperature, T* gf1, T* gf2, T* workspace,              \
                            void* stream) {                                                \
    const Dims d = dims_of(g);                                                             \
    const cudaStream_t s = (cudaStream_t)stream;                                           \
    if (d.B * d.HW == 0) return;                                                           \
    launch_cost(f1, f2, d, workspace, s);                                                  \
    match_backward_kernel<T><<<blocks(d.B * d.HW, kMatchThreads), kMatchThreads, 0, s>>>(  \
        workspace, grad_flow, grad_conf, d, T(sigma), T(temperature));                     \
    launch_input_grads(workspace, f1, f2, d, gf1, gf2, s);                                 \
  }
TCM_CUDA_DEFINE(float)
TCM_CUDA_DEFINE(double)
#undef TCM_CUDA_DEFINE

}  // namespace tcm_cuda
