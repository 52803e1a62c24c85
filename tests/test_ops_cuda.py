"""CUDA kernels of the native ops and TCM on a GPU (skipped without one).

The device-independent checks (gradcheck, layouts, half precision, inductor) run on CUDA
from tests/test_native_ops.py; here: the PyTorch path on the same device as the reference
(it shares no code with the kernels) over odd shapes, autocast, and TCM end to end.
"""
import pytest
import torch

from helpers import unit
from mmaction_tcm.ops import correlation, extension, tempo_match

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device')

DEV = 'cuda'


@pytest.fixture(scope='module', autouse=True)
def cuda_kernels_built():
    assert extension.is_available(), extension.unavailable_reason()
    assert extension.has_cuda_kernels(), 'the extension was built without its CUDA kernels'


@pytest.fixture
def no_tf32():
    """Full fp32 GEMMs / convolutions. With this torch's TF32 defaults on an H200 a whole TCM
    on the PyTorch path differed from the native one by up to 2e-3 (TF32 products are
    ~1e-3 accurate and the temperature-100 softmax amplifies them); with TF32 off, 3e-6.
    The native kernels always accumulate in fp32."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def assert_branch_close(y, y_ref, residual, tol):
    """Compare the TCM branch ``y - residual`` on its own scale: with the residual included
    (|x| ~ 4) a tolerance relative to |y| would let branch errors of that size pass."""
    branch, branch_ref = y - residual, y_ref - residual
    scale = branch_ref.abs().max().item()
    assert scale > 0, 'the TCM branch is zero: nothing is compared'
    torch.testing.assert_close(branch, branch_ref, rtol=0, atol=tol * scale)


def both_backends(shape, P, dtype, seed, corr_dilation=1):
    """Outputs and input gradients of native and PyTorch paths under one random loss."""
    g = torch.Generator().manual_seed(seed + 100)
    B, _, H, W = shape
    w_flow = torch.randn(B, 2, H, W, generator=g, dtype=torch.float64).to(DEV, dtype)
    w_conf = torch.randn(B, 1, H, W, generator=g, dtype=torch.float64).to(DEV, dtype)
    w_corr = torch.randn(B, P, P, H, W, generator=g, dtype=torch.float64).to(DEV, dtype)
    base1, base2 = unit(shape, dtype, seed, DEV), unit(shape, dtype, seed + 1, DEV)
    out = {}
    for backend in ('native', 'pytorch'):
        f1, f2 = base1.clone().requires_grad_(), base2.clone().requires_grad_()
        flow, conf = tempo_match(f1, f2, P, corr_backend=backend)
        corr = correlation(f1, f2, P, corr_dilation, corr_backend=backend)
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
    assert_branch_close(y.float(), ref, x.detach(), 5e-2)


def test_cuda_tcm_native_equals_pytorch(no_tf32):
    from mmaction_tcm.models import TCM
    torch.manual_seed(0)
    nat = TCM(64, 8, corr_backend='native').to(DEV)
    ref = TCM(64, 8, corr_backend='pytorch').to(DEV)
    ref.load_state_dict(nat.state_dict())
    x = torch.randn(16, 64, 28, 28, device=DEV)
    xn, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
    yn, yr = nat(xn), ref(xr)
    assert_branch_close(yn, yr, x, 1e-5)
    yn.square().mean().backward()
    yr.square().mean().backward()
    # the residual passes the output gradient 2y/n straight to x: compare what TCM adds
    assert_branch_close(xn.grad, xr.grad, 2 * yr.detach() / yr.numel(), 1e-4)
    nat.eval()
    ref.eval()
    with torch.no_grad():  # eval: ConvBNStack folds BatchNorm on the GPU too
        assert_branch_close(nat(x), ref(x), x, 1e-5)


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
