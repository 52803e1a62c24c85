"""The CUDA kernels' per-thread arithmetic, run on the CPU.

``ops/cuda/tcm_cuda_threads.h`` holds what each CUDA thread computes as plain functions of
its flat index; ``tcm_cuda.cu`` only wraps them in ``__global__`` launches. Here a small C++
program runs every "thread" of every kernel sequentially (float64) and the results are
compared with the PyTorch path and autograd: the index arithmetic of the GPU kernels
(cost volume, gathered input gradients, per-pixel matching and its in-place backward) is
checked on any machine with a host compiler, GPU or not.
"""
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmaction_tcm.ops.torch_impl import correlation_torch, tempo_match_torch

OPS = Path(__file__).resolve().parents[1] / 'ops'

HARNESS = r'''
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "tcm_cuda_threads.h"
using namespace tcm_cuda;

int main(int argc, char** argv) {
  FILE* in = std::fopen(argv[1], "rb");
  int64_t hdr[6];
  double par[2];
  if (std::fread(hdr, sizeof(int64_t), 6, in) != 6) return 2;
  if (std::fread(par, sizeof(double), 2, in) != 2) return 2;
  const int64_t B = hdr[0], C = hdr[1], H = hdr[2], W = hdr[3];
  const int P = int(hdr[4]), dil = int(hdr[5]);
  const int64_t N = B * C * H * W, HW = H * W, PP = int64_t(P) * P;
  auto read = [&](int64_t n) {
    std::vector<double> v(n);
    if (int64_t(std::fread(v.data(), sizeof(double), n, in)) != n) std::exit(2);
    return v;
  };
  std::vector<double> f1 = read(N), f2 = read(N), gcorr = read(B * PP * HW);
  std::vector<double> gflow = read(B * 2 * HW), gconf = read(B * HW);
  std::fclose(in);
  FILE* out = std::fopen(argv[2], "wb");
  auto write = [&](const std::vector<double>& v) {
    std::fwrite(v.data(), sizeof(double), v.size(), out);
  };
  // correlation (dilation `dil`) and its backward for d(loss)/d(corr) = gcorr
  const Dims dc = dims_of(Geometry{B, C, H, W, P, dil});
  std::vector<double> corr(B * PP * HW), g1(N), g2(N);
  for (int64_t i = 0; i < B * PP * HW; ++i) cost_entry(i, f1.data(), f2.data(), dc, corr.data());
  for (int64_t i = 0; i < N; ++i) {
    grad_f1_entry(i, gcorr.data(), f2.data(), dc, g1.data());
    grad_f2_entry(i, gcorr.data(), f1.data(), dc, g2.data());
  }
  write(corr); write(g1); write(g2);
  // tempo_match (dilation 1): forward, then backward through the in-place volume
  const Dims dm = dims_of(Geometry{B, C, H, W, P, 1});
  std::vector<double> vol(B * PP * HW), flow(B * 2 * HW), conf(B * HW);
  MatchScratch<double> s;
  for (int64_t i = 0; i < B * PP * HW; ++i) cost_entry(i, f1.data(), f2.data(), dm, vol.data());
  for (int64_t px = 0; px < B * HW; ++px)
    match_entry(px, vol.data(), dm, par[0], par[1], s, flow.data(), conf.data());
  for (int64_t i = 0; i < B * PP * HW; ++i) cost_entry(i, f1.data(), f2.data(), dm, vol.data());
  for (int64_t px = 0; px < B * HW; ++px)
    match_backward_entry(px, vol.data(), gflow.data(), gconf.data(), dm, par[0], par[1], s);
  for (int64_t i = 0; i < N; ++i) {
    grad_f1_entry(i, vol.data(), f2.data(), dm, g1.data());
    grad_f2_entry(i, vol.data(), f1.data(), dm, g2.data());
  }
  write(flow); write(conf); write(g1); write(g2);
  std::fclose(out);
  return 0;
}
'''


@pytest.fixture(scope='module')
def harness(tmp_path_factory):
    compiler = shutil.which('c++')
    if compiler is None:
        pytest.skip('no host C++ compiler')
    folder = tmp_path_factory.mktemp('cuda_threads')
    src, exe = folder / 'harness.cpp', folder / 'harness'
    src.write_text(HARNESS)
    done = subprocess.run([compiler, '-std=c++17', '-O1', '-Wall', '-I', str(OPS / 'include'),
                           '-I', str(OPS / 'cuda'), str(src), '-o', str(exe)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return exe


def run_threads(exe, tmp_path, f1, f2, gcorr, gflow, gconf, P, dil, sigma, temperature):
    B, C, H, W = f1.shape
    inp, outp = tmp_path / 'in.bin', tmp_path / 'out.bin'
    with open(inp, 'wb') as fh:
        fh.write(np.array([B, C, H, W, P, dil], dtype=np.int64).tobytes())
        fh.write(np.array([sigma, temperature], dtype=np.float64).tobytes())
        for t in (f1, f2, gcorr, gflow, gconf):
            fh.write(t.detach().double().contiguous().numpy().tobytes())
    done = subprocess.run([str(exe), str(inp), str(outp)], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    flat = torch.from_numpy(np.fromfile(outp, dtype=np.float64))
    sizes = [(B, P, P, H, W), f1.shape, f1.shape, (B, 2, H, W), (B, 1, H, W), f1.shape,
             f1.shape]
    out, start = [], 0
    for size in sizes:
        n = int(np.prod(size))
        out.append(flat[start:start + n].view(*size))
        start += n
    assert start == flat.numel()
    return out


@pytest.mark.parametrize('shape,P,dil', [
    ((2, 5, 6, 7), 5, 1),
    ((1, 3, 4, 9), 7, 2),    # window larger than the map, dilated correlation
    ((2, 4, 5, 5), 3, 1),
    ((1, 6, 3, 3), 15, 1),   # the released window on a tiny map
])
def test_cuda_thread_functions_match_pytorch(harness, tmp_path, shape, P, dil):
    g = torch.Generator().manual_seed(sum(shape) + P)
    B, C, H, W = shape
    f1 = F.normalize(torch.randn(*shape, generator=g, dtype=torch.float64), dim=1)
    f2 = F.normalize(torch.randn(*shape, generator=g, dtype=torch.float64), dim=1)
    gcorr = torch.randn(B, P, P, H, W, generator=g, dtype=torch.float64)
    gflow = torch.randn(B, 2, H, W, generator=g, dtype=torch.float64)
    gconf = torch.randn(B, 1, H, W, generator=g, dtype=torch.float64)
    gflow[..., 0, :] = 0  # pixels without gradient take the early-exit branch
    gconf[..., 0, :] = 0
    sigma, temperature = 2.0, 10.0
    corr, cg1, cg2, flow, conf, mg1, mg2 = run_threads(
        harness, tmp_path, f1, f2, gcorr, gflow, gconf, P, dil, sigma, temperature)

    a, b = f1.clone().requires_grad_(), f2.clone().requires_grad_()
    ref = correlation_torch(a, b, P, dil)
    ref_g1, ref_g2 = torch.autograd.grad((ref * gcorr).sum(), (a, b))
    torch.testing.assert_close(corr, ref.detach(), rtol=0, atol=1e-12)
    torch.testing.assert_close(cg1, ref_g1, rtol=0, atol=1e-12)
    torch.testing.assert_close(cg2, ref_g2, rtol=0, atol=1e-12)

    ref_flow, ref_conf = tempo_match_torch(a, b, P, sigma, temperature)
    ref_m1, ref_m2 = torch.autograd.grad((ref_flow * gflow).sum() + (ref_conf * gconf).sum(),
                                         (a, b))
    torch.testing.assert_close(flow, ref_flow.detach(), rtol=0, atol=1e-12)
    torch.testing.assert_close(conf, ref_conf.detach(), rtol=0, atol=1e-12)
    torch.testing.assert_close(mg1, ref_m1, rtol=0, atol=1e-10)
    torch.testing.assert_close(mg2, ref_m2, rtol=0, atol=1e-10)
