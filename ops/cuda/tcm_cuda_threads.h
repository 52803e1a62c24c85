// What one CUDA thread computes, as plain functions of its flat index (TCM_HD: the host
// compiler reads them too, so tests run every "thread" on the CPU and check the index
// arithmetic against the PyTorch reference without a GPU; see tests/test_ops_cuda_threads.py).
//
// Layouts (contiguous): feature maps (B, C, H, W); cost volume (B, P*P, H, W), which is
// also the correlation output (B, P, P, H, W); flow (B, 2, H, W); confidence (B, 1, H, W).
// Displacement k = i * P + j pairs f1 at (h, w) with f2 at (h + (i - R) d, w + (j - R) d).
//
// The correlation and its gradients are computed per output element (one thread per
// (b, k, h, w) or per (b, c, h, w)): enough threads to fill the GPU, reads coalesced along
// w, and both input gradients *gathered* (no atomics, deterministic). The per-pixel
// matching is the routine shared with the CPU kernels (tcm::match_lanes, L = 1).
#pragma once

#include <stdint.h>

#include "tcm_kernels.h"
#include "tcm_pixel.h"

namespace tcm_cuda {

struct Dims {
  int64_t B, C, H, W, HW, PP;
  int P, R, dil;
};

inline Dims dims_of(const Geometry& g) {
  return {g.B, g.C, g.H, g.W, g.H * g.W, int64_t(g.P) * g.P, g.P, (g.P - 1) / 2, g.dil};
}

// cost[b, k, h, w] = sum_c f1[b, c, h, w] * f2[b, c, h + dy, w + dx] (0 outside f2).
// `idx` runs over B * P*P * H * W.
template <typename T>
TCM_HD void cost_entry(int64_t idx, const T* f1, const T* f2, const Dims& d, T* cost) {
  const int64_t p = idx % d.HW;
  const int64_t k = (idx / d.HW) % d.PP;
  const int64_t b = idx / (d.HW * d.PP);
  const int h = static_cast<int>(p / d.W), w = static_cast<int>(p % d.W);
  const int y = h + (static_cast<int>(k / d.P) - d.R) * d.dil;
  const int x = w + (static_cast<int>(k % d.P) - d.R) * d.dil;
  T s = T(0);
  if (y >= 0 && y < d.H && x >= 0 && x < d.W) {
    const T* a = f1 + b * d.C * d.HW + p;
    const T* c = f2 + b * d.C * d.HW + int64_t(y) * d.W + x;
    for (int64_t ch = 0; ch < d.C; ++ch) s += a[ch * d.HW] * c[ch * d.HW];
  }
  cost[idx] = s;
}

// Element `idx` of a (B, C, H, W) map: its image b, channel plane bc = b * C + c, pixel
// p = y * W + x, and the window rows [ilo, ihi] / columns [jlo, jhi] whose displacement
// from (y, x) stays inside the map.
struct Element {
  int64_t b, bc, p;
  int y, x, ilo, ihi, jlo, jhi;
};

TCM_HD Element element_at(int64_t idx, const Dims& d) {
  Element e;
  e.p = idx % d.HW;
  e.bc = idx / d.HW;
  e.b = e.bc / d.C;
  e.y = static_cast<int>(e.p / d.W);
  e.x = static_cast<int>(e.p % d.W);
  tcm::valid_range(e.y, int(d.H), d.R, d.dil, d.P, &e.ilo, &e.ihi);
  tcm::valid_range(e.x, int(d.W), d.R, d.dil, d.P, &e.jlo, &e.jhi);
  return e;
}

// d(loss)/d(f1)[b, c, h, w] = sum_k gcost[b, k, h, w] * f2[b, c, h + dy_k, w + dx_k].
// `idx` runs over B * C * H * W.
template <typename T>
TCM_HD void grad_f1_entry(int64_t idx, const T* gcost, const T* f2, const Dims& d, T* gf1) {
  const Element e = element_at(idx, d);
  const T* g = gcost + e.b * d.PP * d.HW + e.p;
  const T* src = f2 + e.bc * d.HW;
  T s = T(0);
  for (int i = e.ilo; i <= e.ihi; ++i) {
    const int64_t row = int64_t(e.y + (i - d.R) * d.dil) * d.W + e.x - d.R * d.dil;
    for (int j = e.jlo; j <= e.jhi; ++j)
      s += g[(int64_t(i) * d.P + j) * d.HW] * src[row + int64_t(j) * d.dil];
  }
  gf1[idx] = s;
}

// d(loss)/d(f2)[b, c, y, x] = sum over the pixels (h, w) = (y - dy_k, x - dx_k) that see
// (y, x) through displacement k of gcost[b, k, h, w] * f1[b, c, h, w]. Window row i
// reaches (y, x) from h = y - (i - R) d, i.e. row P - 1 - i of valid_range around y.
// `idx` runs over B * C * H * W.
template <typename T>
TCM_HD void grad_f2_entry(int64_t idx, const T* gcost, const T* f1, const Dims& d, T* gf2) {
  const Element e = element_at(idx, d);  // its ranges, mirrored, have an in-bounds source
  const T* g = gcost + e.b * d.PP * d.HW;
  const T* src = f1 + e.bc * d.HW;
  T s = T(0);
  for (int im = e.ilo; im <= e.ihi; ++im) {
    const int i = d.P - 1 - im;
    const int h = e.y - (i - d.R) * d.dil;
    for (int jm = e.jlo; jm <= e.jhi; ++jm) {
      const int j = d.P - 1 - jm;
      const int64_t p = int64_t(h) * d.W + e.x - (j - d.R) * d.dil;
      s += g[(int64_t(i) * d.P + j) * d.HW + p] * src[p];
    }
  }
  gf2[idx] = s;
}

// Per-pixel scratch of the matching (P*P <= kMaxPatch^2).
template <typename T>
struct MatchScratch {
  T cost[kMaxPatch * kMaxPatch], expo[kMaxPatch * kMaxPatch];
  T gauss[2 * kMaxPatch], gxy[2 * kMaxPatch];
};

template <typename T>
TCM_HD void load_costs(const T* volume, int64_t pixel, const Dims& d, T* cost) {
  const int64_t b = pixel / d.HW, p = pixel % d.HW;
  const T* src = volume + b * d.PP * d.HW + p;
  for (int64_t k = 0; k < d.PP; ++k) cost[k] = src[k * d.HW];
}

// Steps 5-7 for pixel `pixel` (over B * H * W) from its column of the cost volume.
template <typename T>
TCM_HD void match_entry(int64_t pixel, const T* volume, const Dims& d, T sigma,
                        T temperature, MatchScratch<T>& s, T* flow, T* conf) {
  load_costs(volume, pixel, d, s.cost);
  tcm::gauss_table<T>(d.P, sigma, s.gauss);
  tcm::MatchLanes<T, 1> r;
  tcm::match_lanes<T, 1>(s.cost, d.P, s.gauss, temperature, s.expo, s.gxy, r);
  const int64_t b = pixel / d.HW, p = pixel % d.HW;
  flow[(b * 2) * d.HW + p] = r.u[0];
  flow[(b * 2 + 1) * d.HW + p] = r.v[0];
  conf[b * d.HW + p] = r.conf[0];
}

// Backward of steps 5-7 for one pixel: overwrites the pixel's column of `volume` (the raw
// costs on entry) with d(loss)/d(cost).
template <typename T>
TCM_HD void match_backward_entry(int64_t pixel, T* volume, const T* grad_flow,
                                 const T* grad_conf, const Dims& d, T sigma, T temperature,
                                 MatchScratch<T>& s) {
  const int64_t b = pixel / d.HW, p = pixel % d.HW;
  T* column = volume + b * d.PP * d.HW + p;
  const T gu = grad_flow[(b * 2) * d.HW + p], gv = grad_flow[(b * 2 + 1) * d.HW + p];
  const T gc = grad_conf[b * d.HW + p];
  if (gu == T(0) && gv == T(0) && gc == T(0)) {
    for (int64_t k = 0; k < d.PP; ++k) column[k * d.HW] = T(0);
    return;
  }
  load_costs(volume, pixel, d, s.cost);
  tcm::gauss_table<T>(d.P, sigma, s.gauss);
  tcm::MatchLanes<T, 1> r;
  tcm::match_lanes<T, 1>(s.cost, d.P, s.gauss, temperature, s.expo, s.gxy, r);
  tcm::match_lanes_backward<T, 1>(s.cost, s.expo, s.gxy, r, d.P, &gu, &gv, &gc, column, d.HW);
}

}  // namespace tcm_cuda
