"""Native ``mmaction_tcm::correlation`` / ``mmaction_tcm::tempo_match`` against references.

Two references: the PyTorch path (:mod:`mmaction_tcm.ops.torch_impl`) and the naive loops
below, written from docs/design.md §2 steps 4-7 independently of both implementations.
"""
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

import mmaction_tcm  # noqa: F401
from mmaction_tcm.ops import backends, correlation, extension, tempo_match
from mmaction_tcm.ops.torch_impl import correlation_torch, tempo_match_torch
from helpers import randn, unit
from reference_tcm import correlation_loop

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not extension.is_available(), reason='native ops unavailable: '
                                f'{extension.unavailable_reason()}')

# Checks that hold on every device run on the CPU and, where a GPU is present, on CUDA.
CUDA = pytest.param('cuda', marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                     reason='no CUDA device'))
DEVICES = ['cpu', CUDA]


# ----------------------------------------------------------------------------- references
# correlation_loop (tests/reference_tcm.py): loop over displacements, zero outside.

def naive_tempo_match(f1, f2, P, sigma, temperature):
    """Per-pixel Python arithmetic in float64 on the naive correlation."""
    corr = correlation_loop(f1.double(), f2.double(), P).flatten(1, 2)  # (B, P*P, H, W)
    B, _, H, W = corr.shape
    R = (P - 1) // 2
    flow = torch.zeros(B, 2, H, W, dtype=torch.float64)
    conf = torch.zeros(B, 1, H, W, dtype=torch.float64)
    for b in range(B):
        for h in range(H):
            for w in range(W):
                c = [max(float(v), 0.0) for v in corr[b, :, h, w]]
                best = max(c)
                k0 = c.index(best)  # first maximum
                iy, ix = divmod(k0, P)
                logits = []
                for k in range(P * P):
                    py, px = divmod(k, P)
                    g = math.exp(-((px - ix) ** 2 + (py - iy) ** 2) / (2 * sigma ** 2))
                    logits.append(g * c[k] * temperature)
                m = max(logits)
                e = [math.exp(v - m) for v in logits]
                s = sum(e)
                flow[b, 0, h, w] = sum(e[k] * (k % P - R) for k in range(P * P)) / s / R
                flow[b, 1, h, w] = sum(e[k] * (k // P - R) for k in range(P * P)) / s / R
                conf[b, 0, h, w] = best
    return flow, conf


# ----------------------------------------------------------------------------- forward

@pytest.mark.parametrize('shape,P,d', [
    ((2, 5, 7, 9), 7, 1),     # H != W
    ((1, 3, 6, 5), 5, 2),     # batch 1, dilated patch
    ((2, 4, 3, 4), 9, 1),     # maps smaller than the patch
    ((3, 17, 20, 19), 3, 1),  # odd channel count, several lane blocks
    ((2, 4, 5, 5), 1, 1),     # a single displacement
])
@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
def test_correlation_matches_references(shape, P, d, dtype):
    f1, f2 = randn(shape, dtype, 1), randn(shape, dtype, 2)
    out = correlation(f1, f2, P, d, corr_backend='native')
    assert out.shape == (shape[0], P, P, shape[2], shape[3]) and out.dtype == dtype
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-5,
                                                                             atol=1e-5)
    torch.testing.assert_close(out, correlation_loop(f1, f2, P, d), **tol)
    torch.testing.assert_close(out, correlation_torch(f1, f2, P, d), **tol)


@pytest.mark.parametrize('shape,P,sigma,temperature', [
    ((2, 8, 6, 7), 5, 5.0, 100.0),
    ((1, 4, 3, 5), 7, 2.0, 10.0),     # maps smaller than the patch
    ((2, 16, 9, 18), 15, 5.0, 100.0),  # the released patch, W over one lane block
    ((1, 3, 4, 4), 3, 1.0, 1.0),
])
def test_tempo_match_matches_references(shape, P, sigma, temperature):
    f1, f2 = unit(shape, seed=3), unit(shape, seed=4)
    flow, conf = tempo_match(f1, f2, P, sigma, temperature, corr_backend='native')
    assert flow.shape == (shape[0], 2, shape[2], shape[3])
    assert conf.shape == (shape[0], 1, shape[2], shape[3])
    ref_flow, ref_conf = naive_tempo_match(f1, f2, P, sigma, temperature)
    torch.testing.assert_close(flow, ref_flow, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(conf, ref_conf, rtol=1e-12, atol=1e-12)
    t_flow, t_conf = tempo_match_torch(f1, f2, P, sigma, temperature)
    torch.testing.assert_close(flow, t_flow, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(conf, t_conf)
    # float32 against the float64 answer
    f_flow, f_conf = tempo_match(f1.float(), f2.float(), P, sigma, temperature,
                                 corr_backend='native')
    torch.testing.assert_close(f_flow.double(), ref_flow, rtol=0, atol=2e-5)
    torch.testing.assert_close(f_conf.double(), ref_conf, rtol=0, atol=1e-6)


def test_argmax_ties_pick_the_first_maximum():
    """Equal best correlations: the Gaussian centres on the lowest index k = dy * P + dx."""
    P, C, H, W = 5, 2, 5, 5
    f1 = torch.zeros(1, C, H, W, dtype=torch.float64)
    f2 = torch.zeros(1, C, H, W, dtype=torch.float64)
    f1[0, 0, 2, 2] = 1.0
    f2[0, 0, 1, 3] = 0.8  # displacement (dy, dx) = (-1, +1): k = 1 * 5 + 3 = 8
    f2[0, 0, 3, 1] = 0.8  # displacement (+1, -1): k = 3 * 5 + 1 = 16
    flow, conf = tempo_match(f1, f2, P, 1.0, 10.0, corr_backend='native')
    ref_flow, ref_conf = naive_tempo_match(f1, f2, P, 1.0, 10.0)
    torch.testing.assert_close(flow, ref_flow)
    assert conf[0, 0, 2, 2].item() == pytest.approx(0.8)
    # the first-max rule puts the centre at k = 8, so the flow leans up-right (u>0, v<0)
    assert flow[0, 0, 2, 2] > 0 and flow[0, 1, 2, 2] < 0
    # torch.max on CPU (the PyTorch path) makes the same choice
    t_flow, _ = tempo_match_torch(f1, f2, P, 1.0, 10.0)
    torch.testing.assert_close(flow, t_flow)
    corr = correlation_torch(f1, f2, P).flatten(1, 2).clamp_min(0)
    assert corr.max(dim=1).indices[0, 2, 2].item() == 8


# ----------------------------------------------------------------------------- gradients

@pytest.mark.parametrize('device', DEVICES)
def test_correlation_gradcheck(device):
    f1 = randn((1, 3, 4, 5), seed=5, device=device).requires_grad_()
    f2 = randn((1, 3, 4, 5), seed=6, device=device).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: correlation(a, b, 5, 2, corr_backend='native'),
                                    (f1, f2))


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('P,sigma,temperature', [(5, 2.0, 10.0), (3, 5.0, 100.0)])
def test_tempo_match_gradcheck(P, sigma, temperature, device):
    f1 = (0.5 * unit((2, 4, 5, 6), seed=7, device=device)).requires_grad_()
    f2 = (0.5 * unit((2, 4, 5, 6), seed=8, device=device)).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: tempo_match(a, b, P, sigma, temperature, corr_backend='native'), (f1, f2))


@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-10), (torch.float32, 2e-4)])
def test_gradients_match_pytorch_path(dtype, tol):
    shape = (2, 16, 9, 18)
    base1, base2 = unit(shape, dtype, 9), unit(shape, dtype, 10)
    w_flow = randn((2, 2, 9, 18), dtype, 11)
    w_conf = randn((2, 1, 9, 18), dtype, 12)
    w_corr = randn((2, 15, 15, 9, 18), dtype, 13)
    grads = {}
    for backend in ('native', 'pytorch'):
        f1, f2 = base1.clone().requires_grad_(), base2.clone().requires_grad_()
        flow, conf = tempo_match(f1, f2, 15, corr_backend=backend)
        loss = (flow * w_flow).sum() + (conf * w_conf).sum()
        loss = loss + (correlation(f1, f2, 15, corr_backend=backend) * w_corr).sum()
        loss.backward()
        grads[backend] = (f1.grad, f2.grad)
    for a, b in zip(grads['native'], grads['pytorch']):
        scale = b.abs().max().item()
        torch.testing.assert_close(a, b, rtol=0, atol=tol * scale)


def test_only_one_output_used_in_backward():
    """grad of flow alone and of confidence alone (the other output's grad is None)."""
    f1 = unit((1, 4, 6, 6), seed=14).requires_grad_()
    f2 = unit((1, 4, 6, 6), seed=15).requires_grad_()
    for pick in (0, 1):
        out_n = tempo_match(f1, f2, 5, corr_backend='native')[pick].sum()
        gn = torch.autograd.grad(out_n, (f1, f2))
        out_t = tempo_match(f1, f2, 5, corr_backend='pytorch')[pick].sum()
        gt = torch.autograd.grad(out_t, (f1, f2))
        for a, b in zip(gn, gt):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_tempo_match_saves_only_its_inputs():
    """The fused op keeps no (B, P*P, H, W) cost volume for backward."""
    f1 = unit((2, 8, 12, 12), torch.float32, 16).requires_grad_()
    f2 = unit((2, 8, 12, 12), torch.float32, 17).requires_grad_()
    saved = {}

    def pack(t):
        saved.setdefault(backend, 0)
        saved[backend] += t.numel()
        return t

    for backend in ('native', 'pytorch'):
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            flow, conf = tempo_match(f1, f2, 15, corr_backend=backend)
        (flow.sum() + conf.sum()).backward()
    assert saved['native'] <= f1.numel() + f2.numel()
    volume = 2 * 15 * 15 * 12 * 12
    assert saved['pytorch'] > 3 * volume  # the unfused path keeps several volumes


# ----------------------------------------------------------------------------- layouts, dtypes

@pytest.mark.parametrize('device', DEVICES)
def test_channels_last_and_non_contiguous_inputs(device):
    base1 = unit((2, 6, 7, 10), seed=18, device=device)
    base2 = unit((2, 6, 7, 10), seed=19, device=device)
    f1 = base1.contiguous(memory_format=torch.channels_last).requires_grad_()
    wide = torch.zeros(2, 6, 7, 20, dtype=torch.float64, device=device)
    wide[..., ::2] = base2
    f2 = wide[..., ::2].requires_grad_()  # strided view, not contiguous in any format
    assert not f2.is_contiguous() and f1.is_contiguous(memory_format=torch.channels_last)
    flow, conf = tempo_match(f1, f2, 5, corr_backend='native')
    ref_flow, ref_conf = tempo_match(base1, base2, 5, corr_backend='native')
    torch.testing.assert_close(flow, ref_flow, rtol=0, atol=0)
    torch.testing.assert_close(conf, ref_conf, rtol=0, atol=0)
    (flow.sum() + conf.sum()).backward()
    r1, r2 = base1.clone().requires_grad_(), base2.clone().requires_grad_()
    rf, rc = tempo_match(r1, r2, 5, corr_backend='pytorch')
    (rf.sum() + rc.sum()).backward()
    torch.testing.assert_close(f1.grad, r1.grad, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(f2.grad, r2.grad, rtol=1e-9, atol=1e-9)
    assert f1.grad.is_contiguous(memory_format=torch.channels_last)
    corr = correlation(f1, f2.detach().transpose(2, 3).contiguous().transpose(2, 3), 5,
                       corr_backend='native')
    torch.testing.assert_close(corr.cpu(), correlation_loop(base1.cpu(), base2.cpu(), 5))


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_half_inputs_accumulate_in_float32(dtype, device):
    f1, f2 = unit((2, 64, 8, 9), dtype, 20, device), unit((2, 64, 8, 9), dtype, 21, device)
    corr = correlation(f1, f2, 7, corr_backend='native').cpu()
    assert corr.dtype == dtype
    ref = correlation_loop(f1.cpu().double(), f2.cpu().double(), 7)
    # only the final rounding to `dtype` remains (a half-precision accumulation of 64
    # products would be off by far more than one rounding step)
    eps = torch.finfo(dtype).eps
    assert (corr.double() - ref).abs().max().item() <= eps * 1.01 * ref.abs().max().item()
    flow, conf = tempo_match(f1, f2, 7, corr_backend='native')
    assert flow.dtype == dtype and conf.dtype == dtype
    f_flow, _ = tempo_match(f1.float(), f2.float(), 7, corr_backend='native')
    torch.testing.assert_close(flow.float(), f_flow, rtol=0, atol=2 * eps)


def test_bf16_autocast_forward_and_backward():
    conv = torch.nn.Conv2d(8, 16, 1)
    x = randn((2, 8, 9, 10), torch.float32, 22).requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        feat = conv(x)
        assert feat.dtype == torch.bfloat16
        feat = feat / feat.float().norm(dim=1, keepdim=True).to(feat.dtype)
        flow, conf = tempo_match(feat[:1], feat[1:], 7, corr_backend='native')
    assert flow.dtype == torch.bfloat16
    (flow.float().sum() + conf.float().sum()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def _compile_check(backend, device='cpu'):
    f1 = unit((2, 8, 7, 9), torch.float32, 23, device).requires_grad_()
    f2 = unit((2, 8, 7, 9), torch.float32, 24, device).requires_grad_()

    def fn(a, b):
        flow, conf = tempo_match(a * 2.0, b, 5, corr_backend='native')
        corr = correlation(a, b, 3, corr_backend='native')
        return flow.square().sum() + conf.sum() + corr.sum()

    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend=backend)
    out = compiled(f1, f2)
    g_compiled = torch.autograd.grad(out, (f1, f2))
    ref = fn(f1, f2)
    g_ref = torch.autograd.grad(ref, (f1, f2))
    torch.testing.assert_close(out, ref)
    for a, b in zip(g_compiled, g_ref):
        torch.testing.assert_close(a, b)


def test_torch_compile_traces_the_ops():
    """Dynamo + AOTAutograd: fake kernels and the autograd registration, no graph break."""
    _compile_check('aot_eager')


@pytest.mark.parametrize('device', [pytest.param('cpu', marks=pytest.mark.slow), CUDA])
def test_torch_compile_inductor(device):
    """Inductor checks the strides the kernels return against the fake kernels'."""
    _compile_check('inductor', device)


def test_fake_kernels_give_shapes_and_dtypes():
    from torch._subclasses.fake_tensor import FakeTensorMode
    with FakeTensorMode():
        f1 = torch.empty(3, 4, 5, 6, dtype=torch.bfloat16)
        f2 = torch.empty(3, 4, 5, 6, dtype=torch.bfloat16)
        corr = torch.ops.mmaction_tcm.correlation(f1, f2, 7, 1)
        flow, conf = torch.ops.mmaction_tcm.tempo_match(f1, f2, 7, 5.0, 100.0)
    assert corr.shape == (3, 7, 7, 5, 6) and corr.dtype == torch.bfloat16
    assert flow.shape == (3, 2, 5, 6) and conf.shape == (3, 1, 5, 6)


# ----------------------------------------------------------------------------- errors, backends

def test_op_errors_name_the_argument():
    f = torch.randn(1, 2, 4, 4)
    with pytest.raises(RuntimeError, match='patch_size must be an odd'):
        torch.ops.mmaction_tcm.correlation(f, f, 4, 1)
    with pytest.raises(RuntimeError, match='same shape'):
        torch.ops.mmaction_tcm.tempo_match(f, torch.randn(1, 2, 4, 5), 5, 5.0, 100.0)
    with pytest.raises(RuntimeError, match='sigma must be > 0'):
        torch.ops.mmaction_tcm.tempo_match(f, f, 5, 0.0, 100.0)


@pytest.mark.parametrize('device', DEVICES)
def test_backward_ops_check_the_incoming_gradient_shapes(device):
    """Both devices' bindings share the checks (ops/csrc/tcm_binding_common.h)."""
    f = torch.randn(2, 3, 4, 5, device=device)
    ops = torch.ops.mmaction_tcm
    with pytest.raises(RuntimeError, match=r'correlation grad has shape \[2, 3, 3, 4, 4\]'):
        ops.correlation_backward(torch.zeros(2, 3, 3, 4, 4, device=device), f, f, 3, 1)
    with pytest.raises(RuntimeError, match=r'tempo_match grads have shapes \[2, 2, 4, 5\] and '
                                           r'\[2, 2, 4, 5\]'):
        ops.tempo_match_backward(torch.zeros(2, 2, 4, 5, device=device),
                                 torch.zeros(2, 2, 4, 5, device=device), f, f, 5, 5.0, 100.0)
    with pytest.raises(RuntimeError, match='temperature must be > 0'):
        ops.tempo_match_backward(torch.zeros(2, 2, 4, 5, device=device),
                                 torch.zeros(2, 1, 4, 5, device=device), f, f, 5, 5.0, 0.0)
    g1, g2 = ops.correlation_backward(torch.zeros(2, 3, 3, 4, 5, device=device), f, f, 3, 1)
    assert g1.shape == g2.shape == f.shape


def test_auto_backend_uses_native_and_falls_back_with_one_warning(monkeypatch):
    assert backends.resolve_backend('auto') is backends.BACKENDS['native']
    monkeypatch.setattr(extension, 'is_available', lambda: False)
    monkeypatch.setattr(backends, '_resolved', {})  # resolve 'auto' again
    f1, f2 = unit((1, 4, 5, 5), seed=25), unit((1, 4, 5, 5), seed=26)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        tempo_match(f1, f2, 5)
        tempo_match(f1, f2, 5)
    messages = [str(w.message) for w in caught if 'native correlation ops' in str(w.message)]
    assert len(messages) == 1
    assert backends.resolve_backend('auto') is backends.BACKENDS['pytorch']


def test_mmcv_backend_explains_what_is_missing():
    f = torch.randn(1, 2, 4, 4)
    with pytest.raises(RuntimeError, match='mmcv'):
        correlation(f, f, 3, corr_backend='mmcv')


def test_flop_handles_count_both_ops():
    from mmengine.analysis import FlopAnalyzer
    from mmaction_tcm.ops.flops import MATCH_OPS_PER_ENTRY, tcm_flop_handles

    class Pair(torch.nn.Module):
        def forward(self, a, b):
            flow, conf = tempo_match(a, b, 7, corr_backend='native')
            return flow, conf, correlation(a, b, 5, 2, corr_backend='native')

    B, C, H, W = 2, 4, 6, 5
    a, b = torch.randn(B, C, H, W), torch.randn(B, C, H, W)
    analyzer = FlopAnalyzer(Pair(), (a, b)).set_op_handle(**tcm_flop_handles())
    expected = B * 49 * H * W * (C + MATCH_OPS_PER_ENTRY) + B * 25 * H * W * C
    assert analyzer.total() == expected
    assert not any(k.startswith('mmaction_tcm') for k in analyzer.unsupported_ops())


# ----------------------------------------------------------------------------- TCM

@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_tcm_native_equals_pytorch(dtype, tol):
    from mmaction_tcm.models import TCM
    torch.manual_seed(0)
    nat = TCM(32, 4, reduced_channels=16, corr_backend='native').to(dtype)
    ref = TCM(32, 4, reduced_channels=16, corr_backend='pytorch').to(dtype)
    ref.load_state_dict(nat.state_dict())
    x = randn((8, 32, 10, 12), dtype, 27)
    xn, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
    yn, yr = nat(xn), ref(xr)
    torch.testing.assert_close(yn, yr, rtol=0, atol=tol)
    yn.square().mean().backward()
    yr.square().mean().backward()
    torch.testing.assert_close(xn.grad, xr.grad, rtol=0, atol=tol)
    for (name, pn), pr in zip(nat.named_parameters(), ref.parameters()):
        torch.testing.assert_close(pn.grad, pr.grad, rtol=0, atol=tol * 10, msg=name)


# ----------------------------------------------------------------------------- build

@pytest.mark.slow
def test_build_module_and_no_compile_switch(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, '-m', 'mmaction_tcm.ops.build'], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert 'native ops ready' in done.stdout and '.so' in done.stdout
    # an empty cache with compiling switched off: PyTorch path, one warning, same numbers
    env.update(MMACTION_TCM_OPS_CACHE=str(tmp_path), MMACTION_TCM_BUILD_OPS='0')
    code = ('import warnings, torch, mmaction_tcm\n'
            'from mmaction_tcm.ops import extension, tempo_match, tempo_match_torch\n'
            'f = torch.nn.functional.normalize(torch.randn(2, 4, 5, 5), dim=1)\n'
            'with warnings.catch_warnings(record=True) as w:\n'
            '    warnings.simplefilter("always")\n'
            '    out = tempo_match(f[:1], f[1:], 5)\n'
            'assert not extension.is_available(), "built despite the switch"\n'
            'assert "=0" in extension.unavailable_reason()\n'
            'assert sum("native correlation ops" in str(x.message) for x in w) == 1\n'
            'torch.testing.assert_close(out[0], tempo_match_torch(f[:1], f[1:], 5)[0])\n')
    done = subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_broken_cached_library_is_rebuilt(tmp_path):
    """A truncated library in the cache (e.g. a killed build) is relinked, not fatal."""
    import shutil
    from mmaction_tcm.ops import extension
    built = extension.build_dir(with_cuda=False)
    cache = tmp_path / 'cache'
    shutil.copytree(built, cache / built.name)
    lib = cache / built.name / f'{extension.LIB_NAME}.so'
    lib.write_bytes(b'not a shared library')
    env = dict(os.environ, PYTHONPATH=str(REPO), MMACTION_TCM_OPS_CACHE=str(cache))
    env.pop('MMACTION_TCM_BUILD_OPS', None)
    code = ('import torch\nfrom mmaction_tcm.ops import extension, native\n'
            'assert extension.is_available(), extension.unavailable_reason()\n'
            'f = torch.randn(1, 2, 4, 4)\n'
            'print(native.correlation_native(f, f, 3).shape)\n')
    done = subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert '(1, 3, 3, 4, 4)' in done.stdout.replace('torch.Size([', '(').replace('])', ')')
    assert lib.stat().st_size > 10000
