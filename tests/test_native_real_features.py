"""Native ops vs the independent loop reference on real-like features and real geometry.

Random unit features never make the temperature-100 kernel-softmax saturate; real ones
do: non-negative (post-ReLU) maps whose frames are shifted copies of each other, flat
regions and repeated frames give one cost near 1 and most others near 0, so nearly all
of a pixel's 225 probabilities are far below 1e-38. Those are the inputs on which the
kernels must neither form subnormal numbers nor change results (their cut-offs:
ops/include/tcm_pixel.h); here values and gradients (upstream gradients of realistic,
small size) are compared with ``reference_tcm`` (float64 loops, written from the
specification), at the released geometry (28x28, P = 15) and the demo maps (14x14,
16x16). Constant maps make up to 225-way ties of the hard argmax: native, PyTorch path and
reference must agree. Half precision: flow and confidence against float32, per dtype.
"""
import pytest
import torch
import torch.nn.functional as F

from mmaction_tcm.ops import extension, tempo_match
from reference_tcm import match_reference

pytestmark = pytest.mark.skipif(not extension.is_available(),
                                reason=f'native ops unavailable: {extension.unavailable_reason()}')

DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def flat_unit(C, dtype=torch.float64):
    """A unit vector whose dot products with itself are exact in any summation order
    (entries 1/sqrt(C) with C a power of 4: partial sums are multiples of 1/C)."""
    return torch.full((C, ), C ** -0.5, dtype=dtype)


def real_like_pairs(C, H, W, seed=0):
    """(3, C, H, W) x2 of non-negative unit features: a smooth map and its copy shifted by
    (2, -3) pixels; the same with a flat 6x6 patch (one exact unit vector) in both frames;
    a repeated frame."""
    g = torch.Generator().manual_seed(seed)
    pad = 8
    coarse = torch.randn(2, C, H // 3 + 4, W // 3 + 4, generator=g, dtype=torch.float64)
    big = F.interpolate(coarse, size=(H + 2 * pad, W + 2 * pad), mode='bicubic',
                        align_corners=False)
    big = F.relu(big - 0.5) + 1e-3 * torch.rand(big.shape, generator=g, dtype=torch.float64)
    big = big / big.norm(dim=1, keepdim=True)
    f1 = big[:, :, pad:pad + H, pad:pad + W]
    f2 = big[:, :, pad + 2:pad + 2 + H, pad - 3:pad - 3 + W]
    f1, f2 = f1.clone(), f2.clone()
    v = flat_unit(C).view(C, 1, 1)
    f1[1, :, 4:10, 5:11] = v
    f2[1, :, 6:12, 2:8] = v  # the flat patch moves with the rest of the frame
    rep = big[1:, :, pad:pad + H, pad:pad + W]
    return torch.cat([f1, rep]), torch.cat([f2, rep.clone()])


def upstream_grads(shape, scale, seed=1):
    g = torch.Generator().manual_seed(seed)
    B, _, H, W = shape
    return (scale * torch.randn(B, 2, H, W, generator=g, dtype=torch.float64),
            scale * torch.randn(B, 1, H, W, generator=g, dtype=torch.float64))


def run(fn, f1, f2, gflow, gconf, dtype, device='cpu'):
    a = f1.detach().to(device, dtype).clone().requires_grad_()
    b = f2.detach().to(device, dtype).clone().requires_grad_()
    flow, conf = fn(a, b)
    torch.autograd.backward([flow, conf], [gflow.to(device, dtype), gconf.to(device, dtype)])
    return [t.detach().to('cpu', torch.float64) for t in (flow, conf, a.grad, b.grad)]


def saturation(f1, f2, P=15):
    """Fraction of softmax probabilities below the smallest normal float."""
    from reference_tcm import correlation_loop
    B, _, H, W = f1.shape
    c = F.relu(correlation_loop(f1, f2, P).reshape(B, P * P, H, W))
    return ((c - c.amax(1, keepdim=True)) * 100 < -87.3).double().mean().item()


def assert_matches_reference(native, ref, dtype):
    tol = {torch.float64: 1e-9, torch.float32: 5e-5}[dtype]
    for name, a, b in zip(('flow', 'confidence', 'grad f1', 'grad f2'), native, ref):
        scale = b.abs().max().item()
        assert scale > 0, name
        torch.testing.assert_close(a, b, rtol=0, atol=tol * scale, msg=name)


def check_geometry(C, H, W, dtype, grad_scale, pairs=slice(None)):
    f1, f2 = (f[pairs] for f in real_like_pairs(C, H, W))
    # the inputs do what they are for: most probabilities would be subnormal floats
    assert saturation(f1, f2) > 0.3
    gflow, gconf = upstream_grads(f1.shape, grad_scale)
    ref = run(lambda a, b: match_reference(a, b, 15), f1, f2, gflow, gconf, torch.float64)
    native = run(lambda a, b: tempo_match(a, b, 15, corr_backend='native'), f1, f2, gflow,
                 gconf, dtype)
    assert_matches_reference(native, ref, dtype)
    for t in native:
        assert not ((t != 0) & (t.abs() < torch.finfo(dtype).tiny)).any()


@pytest.mark.parametrize('H,W', [(8, 8), (14, 14), (16, 16)])  # demo maps: 64^2 res3 (shipped),
#                                                        112^2 res3, 64^2 res2 (earlier)
@pytest.mark.parametrize('dtype,grad_scale', [(torch.float32, 1e-6), (torch.float32, 1.0),
                                              (torch.float64, 1e-6)])
def test_demo_maps_match_reference_on_saturated_features(H, W, dtype, grad_scale):
    check_geometry(16, H, W, dtype, grad_scale)


@pytest.mark.slow
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_released_geometry_matches_reference_on_saturated_features(dtype):
    # (1, 64, 28, 28), P = 15: interior pixels have their whole window in bounds; the
    # shifted pair with the flat patch (the float64 loop reference is the slow part)
    check_geometry(64, 28, 28, dtype, 1e-6, pairs=slice(1, 2))


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_constant_maps_multiway_ties_native_pytorch_reference_agree(device, dtype):
    """Every in-bounds displacement ties (cost exactly 1); the first one (lowest k) centres
    the Gaussian in every implementation."""
    C, H, W = 16, 9, 12
    f = flat_unit(C).view(1, C, 1, 1).expand(2, C, H, W).contiguous()
    gflow, gconf = upstream_grads(f.shape, 1.0)
    ref = run(lambda a, b: match_reference(a, b, 15), f, f, gflow, gconf, torch.float64)
    assert (ref[1] == 1).all()
    tol = {torch.float64: 1e-9, torch.float32: 1e-4}[dtype]  # T = 100 amplifies rounding
    for backend in ('native', 'pytorch'):
        out = run(lambda a, b: tempo_match(a, b, 15, corr_backend=backend), f, f, gflow,
                  gconf, dtype, device)
        for name, a, b in zip(('flow', 'confidence', 'grad f1', 'grad f2'), out, ref):
            torch.testing.assert_close(a, b, rtol=0, atol=tol * max(b.abs().max().item(), 1e-3),
                                       msg=f'{backend} {name}')
    # corner pixel (0, 0): the window's in-bounds part is its lower-right quadrant, whose
    # first entry is the centre (0, 0); the Gaussian around it pulls flow right and down
    assert ref[0][0, 0, 0, 0] > 0 and ref[0][0, 1, 0, 0] > 0


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('dtype,tol', [(torch.float16, 1e-3), (torch.bfloat16, 8e-3)])
def test_half_precision_flow_and_confidence(device, dtype, tol):
    """Half inputs are matched in float32 and rounded once: flow and confidence equal the
    float32 result on the same (rounded) inputs to within the dtype's rounding."""
    f1, f2 = real_like_pairs(16, 14, 14, seed=3)
    h1, h2 = f1.to(dtype), f2.to(dtype)
    flow, conf = tempo_match(h1.to(device), h2.to(device), 15, corr_backend='native')
    assert flow.dtype == conf.dtype == dtype
    ref_flow, ref_conf = tempo_match(h1.float(), h2.float(), 15, corr_backend='native')
    torch.testing.assert_close(flow.float().cpu(), ref_flow, rtol=0, atol=tol)
    torch.testing.assert_close(conf.float().cpu(), ref_conf, rtol=0, atol=tol)
    # and float32 matches the reference on those inputs (so half is checked end to end)
    rf, rc = match_reference(h1.double(), h2.double(), 15)
    torch.testing.assert_close(ref_flow.double(), rf, rtol=0, atol=5e-5)
    torch.testing.assert_close(ref_conf.double(), rc, rtol=0, atol=1e-6)


def test_subnormal_inputs_and_gradients_count_as_zero():
    """What enters the CPU kernels holds no subnormal number (denormals-are-zero)."""
    torch.manual_seed(0)
    C, H, W = 8, 6, 7
    tiny = torch.finfo(torch.float32).tiny
    f = F.normalize(torch.rand(1, C, H, W), dim=1)
    sub = torch.rand(1, C, H, W) * tiny / 4  # all subnormal
    from mmaction_tcm.ops import correlation
    assert (correlation(sub, f, 5, corr_backend='native') == 0).all()
    a, b = f.clone().requires_grad_(), f.clone().requires_grad_()
    flow, conf = tempo_match(a, b, 5, corr_backend='native')
    torch.autograd.backward([flow, conf], [torch.rand_like(flow) * tiny / 4,
                                           torch.rand_like(conf) * tiny / 4])
    assert (a.grad == 0).all() and (b.grad == 0).all()
