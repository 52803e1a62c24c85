"""CUDA kernels of the native ops and TCM on a GPU (skipped without one).

The same checks as tests/test_native_ops.py, on CUDA tensors: the PyTorch path on the same
device is the reference (it shares no code with the kernels), float64 gradcheck, odd shapes,
layouts, half precision, autocast, ``torch.compile`` (inductor) and TCM end to end.
"""
import pytest
import torch
import torch.nn.functional as F

from mmaction_tcm.ops import correlation, native, tempo_match

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device')

DEV = 'cuda'


@pytest.fixture(scope='module', autouse=True)
def cuda_kernels_built():
    assert native.is_available(), native.unavailable_reason()
    assert native.has_cuda_kernels(), 'the extension was built without its CUDA kernels'


def unit(shape, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g, dtype=torch.float64), dim=1).to(
        DEV, dtype)


def both_backends(shape, P, dtype, seed, corr_dilation=1):
    """Outputs and input gradients of native and PyTorch paths under one random loss."""
    g = torch.Generator().manual_seed(seed + 100)
    B, _, H, W = shape
    w_flow = torch.randn(B, 2, H, W, generator=g, dtype=torch.float64).to(DEV, dtype)
    w_conf = torch.randn(B, 1, H, W, generator=g, dtype=torch.float64).to(DEV, dtype)
    w_corr = torch.randn(B, P, P, H, W, generator=g, dtype=torch.float64).to(DEV, dtype)
    base1, base2 = unit(shape, dtype, seed), unit(shape, dtype, seed + 1)
    out = {}
    for backend in ('native', 'pytorch'):
        f1, f2 = base1.clone().requires_grad_(), base2.clone().requires_grad_()
        flow, conf = tempo_match(f1, f2, P, backend=backend)
        corr = correlation(f1, f2, P, corr_dilation, backend=backend)
        loss = (flow * w_flow).sum() + (conf * w_conf).sum() + (corr * w_corr).sum()
        loss.backward()
        out[backend] = [t.detach() for t in (flow, conf, corr, f1.grad, f2.grad)]
    return out['native'], out['pytorch']


@pytest.mark.parametrize('shape,P,dil', [
    ((2, 32, 14, 14), 15, 1),
    ((1, 8, 3, 4), 15, 1),    # map smaller than the patch
    ((3, 16, 5, 11), 7, 2),   # H != W, dilated correlation
    ((1, 64, 28, 28), 15, 1),  # the released res3 geometry
])
@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-10), (torch.float32, 1e-4)])
def test_cuda_native_matches_pytorch_path(shape, P, dil, dtype, tol, no_tf32):
    nat, ref = both_backends(shape, P, dtype, seed=1, corr_dilation=dil)
    for name, a, b in zip(('flow', 'conf', 'corr', 'grad f1', 'grad f2'), nat, ref):
        assert a.device.type == 'cuda' and a.dtype == dtype, name
        torch.testing.assert_close(a, b, rtol=0, atol=tol * max(1.0, b.abs().max().item()),
                                   msg=name)


def test_cuda_gradcheck_correlation():
    f1 = unit((1, 3, 4, 5), seed=5).mul(2).requires_grad_()
    f2 = unit((1, 3, 4, 5), seed=6).mul(2).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: correlation(a, b, 5, 2, backend='native'),
                                    (f1, f2))


@pytest.mark.parametrize('P,sigma,temperature', [(5, 2.0, 10.0), (3, 5.0, 100.0)])
def test_cuda_gradcheck_tempo_match(P, sigma, temperature):
    f1 = (0.5 * unit((2, 4, 5, 6), seed=7)).requires_grad_()
    f2 = (0.5 * unit((2, 4, 5, 6), seed=8)).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: tempo_match(a, b, P, sigma, temperature, backend='native'), (f1, f2))


def test_cuda_channels_last_and_non_contiguous():
    base1, base2 = unit((2, 6, 7, 10), seed=18), unit((2, 6, 7, 10), seed=19)
    f1 = base1.contiguous(memory_format=torch.channels_last).requires_grad_()
    f2 = torch.zeros(2, 6, 7, 20, dtype=torch.float64, device=DEV)
    f2[..., ::2] = base2
    f2 = f2[..., ::2].requires_grad_()
    flow, conf = tempo_match(f1, f2, 5, backend='native')
    rf, rc = tempo_match(base1, base2, 5, backend='native')
    torch.testing.assert_close(flow, rf, rtol=0, atol=0)
    torch.testing.assert_close(conf, rc, rtol=0, atol=0)
    (flow.sum() + conf.sum()).backward()
    r1, r2 = base1.clone().requires_grad_(), base2.clone().requires_grad_()
    pf, pc = tempo_match(r1, r2, 5, backend='pytorch')
    (pf.sum() + pc.sum()).backward()
    torch.testing.assert_close(f1.grad, r1.grad, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(f2.grad, r2.grad, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_cuda_half_inputs_accumulate_in_float32(dtype):
    f1, f2 = unit((2, 64, 8, 9), dtype, 20), unit((2, 64, 8, 9), dtype, 21)
    corr = correlation(f1, f2, 7, backend='native')
    assert corr.dtype == dtype
    ref = correlation(f1.double(), f2.double(), 7, backend='pytorch')
    eps = torch.finfo(dtype).eps
    # one final rounding only; accumulating 64 products in `dtype` would be far worse
    assert (corr.double() - ref).abs().max().item() <= eps * 1.01 * ref.abs().max().item()
    flow, conf = tempo_match(f1, f2, 7, backend='native')
    assert flow.dtype == dtype and conf.dtype == dtype
    f_flow, _ = tempo_match(f1.float(), f2.float(), 7, backend='native')
    torch.testing.assert_close(flow.float(), f_flow, rtol=0, atol=2 * eps)


def test_cuda_fp16_autocast_through_tcm():
    from mmaction_tcm.models import TCM
    torch.manual_seed(0)
    tcm = TCM(32, 4, reduced_channels=16, corr_backend='native').to(DEV)
    x = torch.randn(8, 32, 14, 14, device=DEV, requires_grad=True)
    with torch.autocast('cuda', dtype=torch.float16):
        y = tcm(x)
    y.float().square().mean().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with torch.no_grad():
        ref = tcm(x)
    torch.testing.assert_close(y.float(), ref, rtol=0, atol=5e-2 * ref.abs().max().item())


def test_cuda_torch_compile_inductor():
    f1 = unit((2, 8, 7, 9), torch.float32, 23).requires_grad_()
    f2 = unit((2, 8, 7, 9), torch.float32, 24).requires_grad_()

    def fn(a, b):
        flow, conf = tempo_match(a * 2.0, b, 5, backend='native')
        corr = correlation(a, b, 3, backend='native')
        return flow.square().sum() + conf.sum() + corr.sum()

    torch._dynamo.reset()
    out = torch.compile(fn, fullgraph=True, backend='inductor')(f1, f2)
    g_out = torch.autograd.grad(out, (f1, f2))
    ref = fn(f1, f2)
    g_ref = torch.autograd.grad(ref, (f1, f2))
    torch.testing.assert_close(out, ref)
    for a, b in zip(g_out, g_ref):
        torch.testing.assert_close(a, b)


@pytest.fixture
def no_tf32():
    """Full fp32 GEMMs/convs: with TF32 (cuDNN's default on Ampere and later) the PyTorch
    path's correlation GEMM is only ~1e-3 accurate, which the temperature-100 softmax turns
    into flow differences of ~1e-3; the native kernels always accumulate in fp32."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_cuda_tcm_native_equals_pytorch(no_tf32):
    from mmaction_tcm.models import TCM
    torch.manual_seed(0)
    nat = TCM(64, 8, corr_backend='native').to(DEV)
    ref = TCM(64, 8, corr_backend='pytorch').to(DEV)
    ref.load_state_dict(nat.state_dict())
    x = torch.randn(16, 64, 28, 28, device=DEV)
    xn, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
    yn, yr = nat(xn), ref(xr)
    torch.testing.assert_close(yn, yr, rtol=0, atol=1e-5)
    yn.square().mean().backward()
    yr.square().mean().backward()
    torch.testing.assert_close(xn.grad, xr.grad, rtol=0, atol=1e-5)
    nat.eval()
    ref.eval()
    with torch.no_grad():  # eval: ConvBNStack folds BatchNorm on the GPU too
        torch.testing.assert_close(nat(x), ref(x), rtol=0, atol=1e-5)


def test_cuda_backbone_equals_cpu(no_tf32):
    from mmaction_tcm.models.backbones.resnet_tsm_tcm import ResNetTSMTCM
    torch.manual_seed(0)
    model = ResNetTSMTCM(18, 8, tcm_cfg=dict(corr_backend='native')).double()
    model.eval()  # MMAction2's ResNet.train() returns None: no chaining
    x = torch.randn(8, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        cpu = model(x)
        gpu = model.to(DEV)(x.to(DEV))
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=0, atol=1e-9 * cpu.abs().max().item())
