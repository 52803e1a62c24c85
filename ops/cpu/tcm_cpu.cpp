// CPU kernels. Work is split over batch items (at::parallel_for over B); each thread packs
// its image pair into row-major scratch "planes" (H, C, WP): for every row, the C channels
// as lines of WP floats, zero-padded by R*d columns on each side plus a tail up to a
// multiple of kLanes. The correlation then runs on kLanes output pixels at once with
// register accumulators for a block of displacements (no horizontal sums, no bounds
// checks), and the per-pixel match arithmetic (softmax, soft-argmax and their backward)
// is the shared routine of tcm_pixel.h. Any input strides are accepted by the packing.
//
// No subnormal number is formed from normal data: inputs and incoming gradients are
// copied in with subnormals set to 0, and the matching's cut-offs (tcm_pixel.h) keep the
// softmax tail and its gradients either normal or exactly 0. A correlation sum or gradient
// gather is subnormal only when its exact value is, i.e. for inputs near 1e-19 and below.
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "tcm_kernels.h"
#include "tcm_pixel.h"

namespace tcm_cpu {
namespace {

constexpr int kLanes = 16;  // output pixels per vector block (one AVX-512 / two AVX2 regs)
constexpr int kJBlock = 8;  // displacement columns accumulated together
constexpr int kCBlock = 8;  // channels accumulated together in the backward

// out[x] = in[x * stride] for x < n, subnormal values replaced by 0: what enters the
// kernels from outside (features, incoming gradients) holds no subnormal number.
template <typename T>
inline void copy_normal(const T* in, int64_t stride, int64_t n, T* out) {
  if (stride == 1) {
    TCM_SIMD
    for (int64_t x = 0; x < n; ++x) out[x] = tcm::zero_subnormal(in[x]);
  } else {
    for (int64_t x = 0; x < n; ++x) out[x] = tcm::zero_subnormal(in[x * stride]);
  }
}

// Sizes of one packed image.
struct Plane {
  int64_t C, H, W, WB, pad, WP;  // WB: W rounded up to kLanes; WP = WB + 2 * pad
  int P, R, dil;
  Plane(const Geometry& g)
      : C(g.C), H(g.H), W(g.W), WB((g.W + kLanes - 1) / kLanes * kLanes),
        pad(int64_t((g.P - 1) / 2) * g.dil), WP(0), P(g.P), R((g.P - 1) / 2), dil(g.dil) {
    WP = WB + 2 * pad;
  }
  int64_t size() const { return H * C * WP; }
  int64_t volume() const { return int64_t(P) * P * H * WP; }  // (P*P, H, WP)
};

// src image (C, H, W) with element strides -> dst (H, C, WP) with the pixel (y, x) of
// channel c at dst[(y * C + c) * WP + pad + x]; padding stays zero, subnormal inputs
// become 0 (tcm::zero_subnormal).
template <typename T>
void pack(const T* src, const Strides& s, const Plane& pl, T* dst) {
  std::fill(dst, dst + pl.size(), T(0));
  for (int64_t y = 0; y < pl.H; ++y)
    for (int64_t c = 0; c < pl.C; ++c) {
      const T* in = src + c * s.c + y * s.h;
      T* out = dst + (y * pl.C + c) * pl.WP + pl.pad;
      copy_normal(in, s.w, pl.W, out);
    }
}

// (H, C, WP) plane interior -> image (C, H, W) with element strides.
template <typename T>
void unpack(const T* src, const Plane& pl, T* dst, const Strides& s) {
  for (int64_t y = 0; y < pl.H; ++y)
    for (int64_t c = 0; c < pl.C; ++c) {
      const T* in = src + (y * pl.C + c) * pl.WP + pl.pad;
      T* out = dst + c * s.c + y * s.h;
      for (int64_t x = 0; x < pl.W; ++x) out[x * s.w] = in[x];
    }
}

// out[(j0 + jj) * ld + l] for pixels (h, w0 + l) and displacement columns j0..j0+JB-1 of
// one window row (a_row: f1 at (h, w0); b_row: f2 row h + (i - R) * d at column w0 - R*d).
template <typename T, int JB>
inline void corr_block_cols(const T* a_row, const T* b_row, int64_t C, int64_t WP, int dil,
                            int j0, T* out, int64_t ld) {
  T acc[JB][kLanes] = {};
  for (int64_t c = 0; c < C; ++c) {
    const T* a = a_row + c * WP;
    const T* b = b_row + c * WP + int64_t(j0) * dil;
    for (int jj = 0; jj < JB; ++jj) {
      const T* bj = b + int64_t(jj) * dil;
      TCM_SIMD
      for (int l = 0; l < kLanes; ++l) acc[jj][l] += a[l] * bj[l];
    }
  }
  for (int jj = 0; jj < JB; ++jj)
    for (int l = 0; l < kLanes; ++l) out[(j0 + jj) * ld + l] = acc[jj][l];
}

template <typename T>
inline void corr_row_cols(const T* a_row, const T* b_row, int64_t C, int64_t WP, int P,
                          int dil, T* out, int64_t ld) {
  int j = 0;
  for (; j + kJBlock <= P; j += kJBlock)
    corr_block_cols<T, kJBlock>(a_row, b_row, C, WP, dil, j, out, ld);
  switch (P - j) {
    case 7: corr_block_cols<T, 7>(a_row, b_row, C, WP, dil, j, out, ld); break;
    case 6: corr_block_cols<T, 6>(a_row, b_row, C, WP, dil, j, out, ld); break;
    case 5: corr_block_cols<T, 5>(a_row, b_row, C, WP, dil, j, out, ld); break;
    case 4: corr_block_cols<T, 4>(a_row, b_row, C, WP, dil, j, out, ld); break;
    case 3: corr_block_cols<T, 3>(a_row, b_row, C, WP, dil, j, out, ld); break;
    case 2: corr_block_cols<T, 2>(a_row, b_row, C, WP, dil, j, out, ld); break;
    case 1: corr_block_cols<T, 1>(a_row, b_row, C, WP, dil, j, out, ld); break;
    default: break;
  }
}

// Correlation of kLanes pixels (h, w0..w0+kLanes-1): cost laid out (P*P, kLanes).
template <typename T>
void corr_lanes(const T* a, const T* b, const Plane& pl, int64_t h, int64_t w0, T* cost) {
  int ilo, ihi;
  tcm::valid_range(int(h), int(pl.H), pl.R, pl.dil, pl.P, &ilo, &ihi);
  const int64_t row = int64_t(pl.P) * kLanes;  // one displacement row of the window
  std::fill(cost, cost + ilo * row, T(0));     // rows with f2 out of bounds are zero
  std::fill(cost + (ihi + 1) * row, cost + pl.P * row, T(0));
  const T* a_row = a + h * pl.C * pl.WP + pl.pad + w0;
  for (int i = ilo; i <= ihi; ++i) {
    const int64_t y = h + int64_t(i - pl.R) * pl.dil;
    const T* b_row = b + y * pl.C * pl.WP + w0;  // column w0 + j*d is offset (j - R)*d
    corr_row_cols(a_row, b_row, pl.C, pl.WP, pl.P, pl.dil, cost + int64_t(i) * pl.P * kLanes,
                  kLanes);
  }
}

// Backward of the correlation of one image for the gradient volume G (P*P, H, WP), whose
// pixel (h, w) sits at column pad + w and whose padding and tail columns are zero.
//   ga[h, c, w] = sum_k G[k, h, w] * b[h + (i-R)d, c, w + (j-R)d]
//   gb[y, c, x] = sum_k G[k, y - (i-R)d, x - (j-R)d] * a[y - (i-R)d, c, x - (j-R)d]
// Both are gathers (no write conflicts); ga and gb are (H, C, WP) planes.
template <typename T, int CB>
inline void grad_block(const T* G, const T* src, const Plane& pl, int64_t h, int64_t x0,
                       int64_t c0, int sign, T* dst) {
  const int64_t HWP = pl.H * pl.WP;
  int ilo, ihi;
  tcm::valid_range(int(h), int(pl.H), pl.R, pl.dil, pl.P, &ilo, &ihi);
  if (sign < 0) {  // rows i with h - (i - R) * d inside the image
    const int lo = pl.P - 1 - ihi, hi = pl.P - 1 - ilo;
    ilo = lo;
    ihi = hi;
  }
  T acc[CB][kLanes] = {};
  for (int i = ilo; i <= ihi; ++i) {
    // sign = +1: neighbour row of b for ga; sign = -1: source row of G and a for gb
    const int64_t y = h + sign * int64_t(i - pl.R) * pl.dil;
    const int64_t grow = (sign > 0 ? h : y) * pl.WP;
    for (int j = 0; j < pl.P; ++j) {
      const int64_t shift = sign * int64_t(j - pl.R) * pl.dil;
      const T* g = G + int64_t(i * pl.P + j) * HWP + grow + pl.pad + x0 + (sign > 0 ? 0 : shift);
      const T* s = src + (y * pl.C + c0) * pl.WP + pl.pad + x0 + shift;
      for (int cc = 0; cc < CB; ++cc) {
        const T* sc = s + cc * pl.WP;
        TCM_SIMD
        for (int l = 0; l < kLanes; ++l) acc[cc][l] += g[l] * sc[l];
      }
    }
  }
  for (int cc = 0; cc < CB; ++cc) {
    T* d = dst + (h * pl.C + c0 + cc) * pl.WP + pl.pad + x0;
    for (int l = 0; l < kLanes; ++l) d[l] = acc[cc][l];
  }
}

template <typename T>
void grad_plane(const T* G, const T* src, const Plane& pl, int sign, T* dst) {
  std::fill(dst, dst + pl.size(), T(0));
  for (int64_t h = 0; h < pl.H; ++h)
    for (int64_t x0 = 0; x0 < pl.WB; x0 += kLanes) {
      int64_t c = 0;
      for (; c + kCBlock <= pl.C; c += kCBlock)
        grad_block<T, kCBlock>(G, src, pl, h, x0, c, sign, dst);
      for (; c < pl.C; ++c) grad_block<T, 1>(G, src, pl, h, x0, c, sign, dst);
    }
}

template <typename T>
struct Scratch {
  std::vector<T> a, b, ga, gb, G, lanes, expo, gxy;
  Scratch(const Plane& pl, bool backward)
      : a(pl.size()), b(pl.size()), ga(backward ? pl.size() : 0),
        gb(backward ? pl.size() : 0), G(backward ? pl.volume() : 0),
        lanes(int64_t(pl.P) * pl.P * kLanes), expo(int64_t(pl.P) * pl.P * kLanes),
        gxy(2 * int64_t(pl.P) * kLanes) {}
};

// Image pair b of the batch -> planes s.a, s.b.
template <typename T>
void pack_pair(const T* f1, Strides s1, const T* f2, Strides s2, int64_t b, const Plane& pl,
               Scratch<T>& s) {
  pack(f1 + b * s1.b, s1, pl, s.a.data());
  pack(f2 + b * s2.b, s2, pl, s.b.data());
}

// Gradients of image b from its volume s.G.
template <typename T>
void backward_from_volume(const Plane& pl, Scratch<T>& s, T* gf1, Strides sg1, T* gf2,
                          Strides sg2, int64_t b) {
  grad_plane(s.G.data(), s.b.data(), pl, +1, s.ga.data());
  grad_plane(s.G.data(), s.a.data(), pl, -1, s.gb.data());
  unpack(s.ga.data(), pl, gf1 + b * sg1.b, sg1);
  unpack(s.gb.data(), pl, gf2 + b * sg2.b, sg2);
}

template <typename T>
void correlation_forward_impl(const T* f1, Strides s1, const T* f2, Strides s2,
                              const Geometry& g, T* out) {
  const Plane pl(g);
  const int64_t HW = g.H * g.W, PP = int64_t(g.P) * g.P;
  at::parallel_for(0, g.B, 1, [&](int64_t b0, int64_t b1) {
    Scratch<T> s(pl, false);
    for (int64_t b = b0; b < b1; ++b) {
      pack_pair(f1, s1, f2, s2, b, pl, s);
      T* ob = out + b * PP * HW;
      for (int64_t h = 0; h < g.H; ++h)
        for (int64_t w0 = 0; w0 < g.W; w0 += kLanes) {
          corr_lanes(s.a.data(), s.b.data(), pl, h, w0, s.lanes.data());
          const int n = int(std::min<int64_t>(kLanes, g.W - w0));
          for (int64_t k = 0; k < PP; ++k)
            std::copy(s.lanes.data() + k * kLanes, s.lanes.data() + k * kLanes + n,
                      ob + k * HW + h * g.W + w0);
        }
    }
  });
}

template <typename T>
void correlation_backward_impl(const T* grad, const T* f1, Strides s1, const T* f2,
                               Strides s2, const Geometry& g, T* gf1, Strides sg1, T* gf2,
                               Strides sg2) {
  const Plane pl(g);
  const int64_t HW = g.H * g.W, PP = int64_t(g.P) * g.P;
  at::parallel_for(0, g.B, 1, [&](int64_t b0, int64_t b1) {
    Scratch<T> s(pl, true);
    std::fill(s.G.begin(), s.G.end(), T(0));
    for (int64_t b = b0; b < b1; ++b) {
      pack_pair(f1, s1, f2, s2, b, pl, s);
      const T* gb = grad + b * PP * HW;
      for (int64_t k = 0; k < PP; ++k)
        for (int64_t h = 0; h < g.H; ++h)
          copy_normal(gb + k * HW + h * g.W, 1, g.W,
                      s.G.data() + (k * g.H + h) * pl.WP + pl.pad);
      backward_from_volume(pl, s, gf1, sg1, gf2, sg2, b);
    }
  });
}

template <typename T>
void tempo_match_forward_impl(const T* f1, Strides s1, const T* f2, Strides s2,
                              const Geometry& g, double sigma, double temperature, T* flow,
                              T* conf) {
  const Plane pl(g);
  const int64_t HW = g.H * g.W;
  std::vector<T> gauss(2 * g.P - 1);
  tcm::gauss_table<T>(g.P, T(sigma), gauss.data());
  at::parallel_for(0, g.B, 1, [&](int64_t b0, int64_t b1) {
    Scratch<T> s(pl, false);
    tcm::MatchLanes<T, kLanes> r;
    for (int64_t b = b0; b < b1; ++b) {
      pack_pair(f1, s1, f2, s2, b, pl, s);
      for (int64_t h = 0; h < g.H; ++h)
        for (int64_t w0 = 0; w0 < g.W; w0 += kLanes) {
          corr_lanes(s.a.data(), s.b.data(), pl, h, w0, s.lanes.data());
          tcm::match_lanes<T, kLanes>(s.lanes.data(), g.P, gauss.data(), T(temperature),
                                      s.expo.data(), s.gxy.data(), r);
          const int n = int(std::min<int64_t>(kLanes, g.W - w0));
          const int64_t p = h * g.W + w0;
          std::copy(r.u, r.u + n, flow + (b * 2) * HW + p);
          std::copy(r.v, r.v + n, flow + (b * 2 + 1) * HW + p);
          std::copy(r.conf, r.conf + n, conf + b * HW + p);
        }
    }
  });
}

template <typename T>
void tempo_match_backward_impl(const T* grad_flow, const T* grad_conf, const T* f1,
                               Strides s1, const T* f2, Strides s2, const Geometry& g,
                               double sigma, double temperature, T* gf1, Strides sg1,
                               T* gf2, Strides sg2) {
  const Plane pl(g);
  const int64_t HW = g.H * g.W;
  std::vector<T> gauss(2 * g.P - 1);
  tcm::gauss_table<T>(g.P, T(sigma), gauss.data());
  at::parallel_for(0, g.B, 1, [&](int64_t b0, int64_t b1) {
    Scratch<T> s(pl, true);
    std::fill(s.G.begin(), s.G.end(), T(0));
    tcm::MatchLanes<T, kLanes> r;
    T gu[kLanes], gv[kLanes], gc[kLanes];
    for (int64_t b = b0; b < b1; ++b) {
      pack_pair(f1, s1, f2, s2, b, pl, s);
      for (int64_t h = 0; h < g.H; ++h)
        for (int64_t w0 = 0; w0 < g.W; w0 += kLanes) {
          const int n = int(std::min<int64_t>(kLanes, g.W - w0));
          const int64_t p = h * g.W + w0;
          std::fill(gu, gu + kLanes, T(0));
          std::fill(gv, gv + kLanes, T(0));
          std::fill(gc, gc + kLanes, T(0));
          copy_normal(grad_flow + (b * 2) * HW + p, 1, n, gu);
          copy_normal(grad_flow + (b * 2 + 1) * HW + p, 1, n, gv);
          copy_normal(grad_conf + b * HW + p, 1, n, gc);
          corr_lanes(s.a.data(), s.b.data(), pl, h, w0, s.lanes.data());
          tcm::match_lanes<T, kLanes>(s.lanes.data(), g.P, gauss.data(), T(temperature),
                                      s.expo.data(), s.gxy.data(), r);
          // lanes past W have zero cost (zero-padded f1), hence a zero gradient
          tcm::match_lanes_backward<T, kLanes>(s.lanes.data(), s.expo.data(), s.gxy.data(), r,
                                               g.P, gu, gv, gc,
                                               s.G.data() + h * pl.WP + pl.pad + w0,
                                               g.H * pl.WP);
        }
      backward_from_volume(pl, s, gf1, sg1, gf2, sg2, b);
    }
  });
}

}  // namespace

#define TCM_CPU_DEFINE(T)                                                                  \
  void correlation_forward(const T* f1, Strides s1, const T* f2, Strides s2,               \
                           const Geometry& g, T* out) {                                    \
    correlation_forward_impl(f1, s1, f2, s2, g, out);                                      \
  }                                                                                        \
  void correlation_backward(const T* grad, const T* f1, Strides s1, const T* f2,           \
                            Strides s2, const Geometry& g, T* gf1, Strides sg1, T* gf2,    \
                            Strides sg2) {                                                 \
    correlation_backward_impl(grad, f1, s1, f2, s2, g, gf1, sg1, gf2, sg2);                \
  }                                                                                        \
  void tempo_match_forward(const T* f1, Strides s1, const T* f2, Strides s2,               \
                           const Geometry& g, double sigma, double temperature, T* flow,   \
                           T* conf) {                                                      \
    tempo_match_forward_impl(f1, s1, f2, s2, g, sigma, temperature, flow, conf);           \
  }                                                                                        \
  void tempo_match_backward(const T* grad_flow, const T* grad_conf, const T* f1,           \
                            Strides s1, const T* f2, Strides s2, const Geometry& g,        \
                            double sigma, double temperature, T* gf1, Strides sg1, T* gf2, \
                            Strides sg2) {                                                 \
    tempo_match_backward_impl(grad_flow, grad_conf, f1, s1, f2, s2, g, sigma, temperature, \
                              gf1, sg1, gf2, sg2);                                         \
  }
TCM_CPU_DEFINE(float)
TCM_CPU_DEFINE(double)
#undef TCM_CPU_DEFINE

}  // namespace tcm_cpu
