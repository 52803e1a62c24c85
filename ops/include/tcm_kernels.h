// Raw-pointer entry points of the CPU and CUDA kernels (no torch types, so the CUDA file
// compiles with nvcc alone). The torch bindings in ops/csrc convert tensors to these.
//
// Feature maps are (B, C, H, W) given by element strides; outputs are contiguous:
// correlation (B, P, P, H, W), flow (B, 2, H, W), confidence (B, 1, H, W).
#pragma once

#include <stdint.h>

namespace tcm {

struct Strides {
  int64_t b, c, h, w;
};

struct Geometry {
  int64_t B, C, H, W;
  int P, dil;
};

}  // namespace tcm

namespace tcm_cpu {
using tcm::Geometry;
using tcm::Strides;

#define TCM_CPU_DECLARE(T)                                                                 \
  void correlation_forward(const T* f1, Strides s1, const T* f2, Strides s2,               \
                           const Geometry& g, T* out);                                     \
  void correlation_backward(const T* grad, const T* f1, Strides s1, const T* f2,           \
                            Strides s2, const Geometry& g, T* gf1, Strides sg1, T* gf2,    \
                            Strides sg2);                                                  \
  void tempo_match_forward(const T* f1, Strides s1, const T* f2, Strides s2,               \
                           const Geometry& g, double sigma, double temperature, T* flow,   \
                           T* conf);                                                       \
  void tempo_match_backward(const T* grad_flow, const T* grad_conf, const T* f1,           \
                            Strides s1, const T* f2, Strides s2, const Geometry& g,        \
                            double sigma, double temperature, T* gf1, Strides sg1, T* gf2, \
                            Strides sg2);
TCM_CPU_DECLARE(float)
TCM_CPU_DECLARE(double)
#undef TCM_CPU_DECLARE
}  // namespace tcm_cpu

namespace tcm_cuda {
using tcm::Geometry;
using tcm::Strides;

// Largest patch tempo_match accepts on CUDA (per-thread scratch of P*P values); the
// correlation kernels have no such limit.
constexpr int kMaxPatch = 21;

// Inputs here are contiguous (B, C, H, W) device buffers; `stream` is a cudaStream_t.
// Gradient outputs are contiguous (B, C, H, W), every element written. tempo_match needs a
// `workspace` of B * P * P * H * W elements (a transient cost volume).
#define TCM_CUDA_DECLARE(T)                                                                \
  void correlation_forward(const T* f1, const T* f2, const Geometry& g, T* out,            \
                           void* stream);                                                  \
  void correlation_backward(const T* grad, const T* f1, const T* f2, const Geometry& g,    \
                            T* gf1, T* gf2, void* stream);                                 \
  void tempo_match_forward(const T* f1, const T* f2, const Geometry& g, double sigma,      \
                           double temperature, T* flow, T* conf, T* workspace,             \
                           void* stream);                                                  \
  void tempo_match_backward(const T* grad_flow, const T* grad_conf, const T* f1,           \
                            const T* f2, const Geometry& g, double sigma,                  \
                            double temperature, T* gf1, T* gf2, T* workspace,              \
                            void* stream);
TCM_CUDA_DECLARE(float)
TCM_CUDA_DECLARE(double)
#undef TCM_CUDA_DECLARE
}  // namespace tcm_cuda
