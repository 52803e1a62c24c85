// Per-pixel tempo-match arithmetic and window geometry, shared by the CPU and CUDA kernels.
//
// Displacement k = i * P + j (row i, column j of the P x P window, radius R = (P - 1) / 2)
// pairs f1 at (h, w) with f2 at (h + (i - R) * d, w + (j - R) * d); out-of-bounds entries
// are exactly zero (steps 4-7 of the released TCM matching).
//
// Everything here is plain C++ plus the TCM_HD qualifier, so nvcc and the host compiler
// read the same code. `acc_t` is the accumulation type (float for float/half/bfloat16
// inputs, double for double inputs).
#pragma once

#include <math.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define TCM_HD __host__ __device__ __forceinline__
#define TCM_SIMD_SUM(var)
#define TCM_SIMD
#else
#define TCM_HD inline
#if defined(_OPENMP)  // the CPU build uses -fopenmp; elsewhere the loops stay scalar
#define TCM_PRAGMA(x) _Pragma(#x)
#define TCM_SIMD_SUM(var) TCM_PRAGMA(omp simd reduction(+ : var))
#define TCM_SIMD TCM_PRAGMA(omp simd)
#else
#define TCM_SIMD_SUM(var)
#define TCM_SIMD
#endif
#endif

namespace tcm {

// ---------------------------------------------------------------- elementary functions

// exp for float on the host: Cephes-style range reduction + degree-6 polynomial
// (about 1 ulp on [-87, 88]); branch-free so that `omp simd` loops vectorise it.
TCM_HD float exp_acc(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  // plain compares and the 1.5 * 2^23 rounding trick (round to nearest) keep the loop
  // vectorisable without -ffast-math (fminf / floorf are not, under IEEE rules)
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  union { int32_t i; float f; } scale;
  scale.i = (static_cast<int32_t>(n) + 127) << 23;
  return p * scale.f;
#endif
}

TCM_HD double exp_acc(double x) { return exp(x); }

// ---------------------------------------------------------------- underflow cut-offs
//
// Real features make the temperature-100 kernel-softmax very peaked: most of a pixel's
// P*P probabilities lie far below the smallest normal float (~1.2e-38), and the gradients
// formed from them would be subnormal numbers, which CPUs compute at a fraction of normal
// speed. The matching never forms them: a quantity below its cut-off is an exact zero.
//
// - exp(x - max logit) < prob (2^-48 float, 2^-160 double) is 0: all dropped probabilities
//   of a pixel sum to < 225 * 2^-48 < 2^-40 of the softmax sum (float rounding: 2^-24);
//   kept ones are >= 2^-48 / (P*P), so their gradients stay normal for any upstream
//   gradient above ~1e-12;
// - a Gaussian factor, or the product of the two, < weight (2^-36 float) is 0 (only for
//   sigma << P; sigma = 5, P = 15 has factors >= 0.0198): it changes a kept exp by a
//   relative < 34 * 2^-36 < 2^-30, and the forward and backward use the same weights;
// - a cost c with 0 < c < cost / temperature enters the logit as 0 (a logit change
//   < 2^-60); its gradient still passes (ReLU mask on the raw cost).
template <typename acc_t>
struct Cutoff;

template <>
struct Cutoff<float> {
  static constexpr float log_prob = -33.2710647f;   // ln 2^-48
  static constexpr float weight = 1.4551915e-11f;   // 2^-36
  static constexpr float log_weight = -24.9532985f; // ln 2^-36
  static constexpr float cost = 8.6736174e-19f;     // 2^-60
};

template <>
struct Cutoff<double> {
  static constexpr double log_prob = -110.90354888959125;  // ln 2^-160
  static constexpr double weight = 6.842277657836021e-49;  // 2^-160
  static constexpr double log_weight = -110.90354888959125;
  static constexpr double cost = 3.8725919148493183e-121;  // 2^-400
};

// x, or 0 where x is subnormal: inputs and incoming gradients enter the kernels as under
// denormals-are-zero (an absolute change < 2^-126 for float, 2^-1022 for double).
template <typename T>
TCM_HD T zero_subnormal(T x) {
  const T smallest = sizeof(T) == 4 ? T(1.17549435e-38f) : T(2.2250738585072014e-308);
  return (x < smallest && x > -smallest) ? T(0) : x;
}

// ---------------------------------------------------------------- window geometry

// Columns j of the window whose f2 column w + (j - R) * d lies inside [0, W).
TCM_HD void valid_range(int pos, int size, int radius, int dil, int patch, int* lo, int* hi) {
  const int below = pos / dil;                 // steps we may go towards 0
  const int above = (size - 1 - pos) / dil;    // steps we may go towards size - 1
  *lo = radius - below > 0 ? radius - below : 0;
  *hi = radius + above < patch - 1 ? radius + above : patch - 1;
}

// ---------------------------------------------------------------- tempo match

// gauss[t] = exp(-(t - (P - 1))^2 / (2 sigma^2)) for t in [0, 2P - 1): the 1-D factor of
// the (unnormalised) Gaussian, indexed by offset + P - 1; below Cutoff::weight it is 0.
template <typename acc_t>
TCM_HD void gauss_table(int P, acc_t sigma, acc_t* gauss) {
  const acc_t scale = acc_t(-0.5) / (sigma * sigma);
  for (int t = 0; t < 2 * P - 1; ++t) {
    const acc_t o = static_cast<acc_t>(t - (P - 1));
    const acc_t a = scale * o * o;  // factors below the cut-off are 0 (exp is not formed)
    gauss[t] = a < Cutoff<acc_t>::log_weight ? acc_t(0) : acc_t(exp(a));
  }
}

// Matching of L pixels at once (L = 1 on the GPU, a vector width on the CPU): the raw
// cost of displacement k for lane l is cost[k * L + l]. Same arithmetic per lane.
template <typename acc_t, int L>
struct MatchLanes {
  acc_t u[L], v[L], conf[L], inv_sum[L];
  int argmax[L];     // first index of the maximum (ties: lowest k = dy * P + dx)
  acc_t min_weight;  // temperature * Cutoff::weight, for the backward
};

// Logit weight temperature * g(i - iy) * g(j - ix) of one displacement (gy carries the
// temperature), 0 below temperature * Cutoff::weight; both factors are 0 or >= the cut-off,
// so the product is a normal number or 0.
template <typename acc_t>
TCM_HD acc_t kernel_weight(acc_t gy, acc_t gx, acc_t min_weight) {
  const acc_t w = gy * gx;
  return w < min_weight ? acc_t(0) : w;
}

// Forward of matching steps 4-7. `expo[k * L + l]` receives exp(logit - max_logit) and
// `gxy` (2 * P * L values) the per-lane Gaussian factors, both reused by the backward.
// The largest logit is conf * temperature: the Gaussian is 1 at the argmax and <= 1
// elsewhere, and ReLU makes every entry >= 0.
template <typename acc_t, int L>
TCM_HD void match_lanes(const acc_t* cost, int P, const acc_t* gauss, acc_t temperature,
                        acc_t* expo, acc_t* gxy, MatchLanes<acc_t, L>& r) {
  const int PP = P * P;
  const int R = (P - 1) / 2;
  acc_t best[L];
  int arg[L];
  TCM_SIMD
  for (int l = 0; l < L; ++l) {
    best[l] = cost[l] > acc_t(0) ? cost[l] : acc_t(0);
    arg[l] = 0;
  }
  for (int k = 1; k < PP; ++k) {
    TCM_SIMD
    for (int l = 0; l < L; ++l) {
      const acc_t c = cost[k * L + l];
      const bool better = c > best[l];
      best[l] = better ? c : best[l];
      arg[l] = better ? k : arg[l];
    }
  }
  acc_t* gx = gxy;          // gx[j * L + l] = g(j - ix_l)
  acc_t* gy = gxy + P * L;  // gy[i * L + l] = g(i - iy_l) * temperature
  for (int t = 0; t < P; ++t)
    for (int l = 0; l < L; ++l) {
      gx[t * L + l] = gauss[t - arg[l] % P + P - 1];
      gy[t * L + l] = gauss[t - arg[l] / P + P - 1] * temperature;
    }
  acc_t s[L], su[L], sv[L], shift[L];
  for (int l = 0; l < L; ++l) {
    s[l] = su[l] = sv[l] = acc_t(0);
    shift[l] = best[l] * temperature;
  }
  const acc_t min_weight = Cutoff<acc_t>::weight * temperature;
  const acc_t min_cost = Cutoff<acc_t>::cost / temperature;
  const acc_t log_prob = Cutoff<acc_t>::log_prob;
  for (int i = 0; i < P; ++i) {
    acc_t srow[L];
    for (int l = 0; l < L; ++l) srow[l] = acc_t(0);
    for (int j = 0; j < P; ++j) {
      const int k = i * P + j;
      const acc_t dx = static_cast<acc_t>(j - R);
      TCM_SIMD
      for (int l = 0; l < L; ++l) {
        // ReLU, then the cut-offs above; x <= 0 (the argmax has x = 0 exactly)
        const acc_t c = cost[k * L + l] > min_cost ? cost[k * L + l] : acc_t(0);
        const acc_t x = kernel_weight(gy[i * L + l], gx[j * L + l], min_weight) * c - shift[l];
        const acc_t e = x > log_prob ? exp_acc(x) : acc_t(0);  // exp_acc(x >= -87) is normal
        expo[k * L + l] = e;
        srow[l] += e;
        su[l] += e * dx;
      }
    }
    const acc_t dy = static_cast<acc_t>(i - R);
    for (int l = 0; l < L; ++l) {
      s[l] += srow[l];
      sv[l] += srow[l] * dy;
    }
  }
  for (int l = 0; l < L; ++l) {
    r.inv_sum[l] = acc_t(1) / s[l];
    r.u[l] = su[l] * r.inv_sum[l] / static_cast<acc_t>(R);
    r.v[l] = sv[l] * r.inv_sum[l] / static_cast<acc_t>(R);
    r.conf[l] = best[l];
    r.argmax[l] = arg[l];
  }
  r.min_weight = min_weight;
}

// Backward of match_lanes: d(loss)/d(raw cost) into gcost[k * ld + l] (gcost may alias
// expo when ld == L). The argmax centre of the Gaussian and the max shift carry no
// gradient; the confidence gradient goes to the argmax entry; ReLU passes gradient only
// where the raw cost is > 0.
//   dL/dlogit_k = p_k * (gu * ((j - R) / R - u) + gv * ((i - R) / R - v))
template <typename acc_t, int L>
TCM_HD void match_lanes_backward(const acc_t* cost, const acc_t* expo, const acc_t* gxy,
                                 const MatchLanes<acc_t, L>& r, int P, const acc_t* grad_u,
                                 const acc_t* grad_v, const acc_t* grad_conf, acc_t* gcost,
                                 int64_t ld) {
  const int R = (P - 1) / 2;
  const acc_t inv_r = acc_t(1) / static_cast<acc_t>(R);
  const acc_t* gx = gxy;
  const acc_t* gy = gxy + P * L;
  const acc_t min_weight = r.min_weight;
  acc_t base[L], gu[L];
  for (int l = 0; l < L; ++l) {
    base[l] = -(grad_u[l] * r.u[l] + grad_v[l] * r.v[l]);
    gu[l] = grad_u[l] * inv_r;
  }
  for (int i = 0; i < P; ++i) {
    acc_t rowterm[L];
    for (int l = 0; l < L; ++l)
      rowterm[l] = base[l] + grad_v[l] * static_cast<acc_t>(i - R) * inv_r;
    for (int j = 0; j < P; ++j) {
      const int k = i * P + j;
      const acc_t dx = static_cast<acc_t>(j - R);
      acc_t* out = gcost + k * ld;
      TCM_SIMD
      for (int l = 0; l < L; ++l) {
        const acc_t dlogit = expo[k * L + l] * r.inv_sum[l] * (rowterm[l] + gu[l] * dx);
        const acc_t w = kernel_weight(gy[i * L + l], gx[j * L + l], min_weight);
        out[l] = cost[k * L + l] > acc_t(0) ? dlogit * w : acc_t(0);
      }
    }
  }
  for (int l = 0; l < L; ++l) {
    const int k = r.argmax[l];
    if (cost[k * L + l] > acc_t(0)) gcost[k * ld + l] += grad_conf[l];
  }
}

}  // namespace tcm
