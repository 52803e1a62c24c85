"""Mixed precision and numerical robustness of TCM (issue 8, point 3).

TCM's forward and backward must stay finite for adversarial features in fp32 and under
autocast (bf16 is the CPU autocast dtype; fp16 is what ``--amp`` uses on CUDA, emulated here
with CPU fp16 autocast), for every correlation backend that is available.
"""
import pytest
import torch

from mmaction_tcm.engine import CPUAutocastOptimWrapper, amp_optim_wrapper
from mmaction_tcm.models import TCM
from mmaction_tcm.models.tcm.mtdm import MTDM
from mmaction_tcm.ops import tempo_match
from mmaction_tcm.ops import extension

T, C, H, W = 3, 8, 6, 6
BACKENDS = ['pytorch'] + (['native'] if extension.is_available() else [])
PRECISIONS = {'fp32': None, 'bf16-autocast': torch.bfloat16, 'fp16-autocast': torch.float16}


def adversarial_inputs():
    """``(name, (2*T, C, H, W) tensor)`` pairs that break naive arithmetic."""
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(2 * T, C, H, W, generator=g)
    smallest_normal = torch.finfo(torch.float32).tiny
    return [
        ('zeros', torch.zeros(2 * T, C, H, W)),
        ('constant', torch.full((2 * T, C, H, W), 3.0)),
        ('constant-negative', torch.full((2 * T, C, H, W), -3.0)),
        ('constant-per-channel', noise[:1, :, :1, :1].expand(2 * T, C, H, W).contiguous()),
        ('large-1e4', noise * 1e4),
        ('large-constant-1e4', torch.full((2 * T, C, H, W), 1e4)),
        ('denormals', noise * smallest_normal / 8),
        ('tiny-1e-20', noise * 1e-20),
    ]


def _run(module, x, dtype):
    x = x.clone().requires_grad_(True)
    module.zero_grad()
    with torch.autocast('cpu', dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        out = module(x)
    # A mean-reduced loss (the gradient scale of a training loss) whose gradient is not
    # constant, so the backward of every op is exercised. fp16 overflow at larger loss
    # scales is what AmpOptimWrapper's dynamic loss scaling detects and backs off from.
    loss = (out.float() * torch.linspace(-1, 1, out.numel()).view_as(out)).mean()
    loss.backward()
    return out, x.grad


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('precision', list(PRECISIONS))
@pytest.mark.parametrize('mode', ['train', 'eval'])
def test_tcm_finite_on_adversarial_features(backend, precision, mode):
    torch.manual_seed(0)
    tcm = TCM(C, T, reduced_channels=4, patch_size=5, corr_backend=backend)
    tcm.train(mode == 'train')
    failures = []
    for name, x in adversarial_inputs():
        out, grad = _run(tcm, x, PRECISIONS[precision])
        if out.shape != x.shape:
            failures.append(f'{name}: output shape {tuple(out.shape)}')
        if not torch.isfinite(out).all():
            failures.append(f'{name}: non-finite output')
        if grad is None or not torch.isfinite(grad).all():
            failures.append(f'{name}: non-finite input gradient')
        for pname, p in tcm.named_parameters():
            if p.grad is None:
                failures.append(f'{name}: no gradient for {pname}')
            elif not torch.isfinite(p.grad).all():
                failures.append(f'{name}: non-finite gradient for {pname}')
    assert not failures, f'{backend} {precision} {mode}: ' + '; '.join(failures)


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('precision', ['bf16-autocast', 'fp16-autocast'])
def test_mtdm_under_autocast_matches_fp32_on_large_features(backend, precision):
    """The channel reduction and normalisation run in fp32 under autocast: on features
    ~1e4 (an fp16 overflow for the 1x1 conv) the matching confidence stays within the
    low-precision rounding of the fp32 result."""
    torch.manual_seed(0)
    mtdm = MTDM(C, T, reduced_channels=4, patch_size=5, corr_backend=backend).eval()
    x = torch.randn(2 * T, C, H, W, generator=torch.Generator().manual_seed(1)) * 1e4
    with torch.no_grad():
        ref = mtdm(x)
        with torch.autocast('cpu', dtype=PRECISIONS[precision]):
            low = mtdm(x).float()
    confidence = [2, 5]  # channels c_fast, c_slow
    assert torch.isfinite(low).all()
    assert (ref[:, confidence] > 0.1).any()  # a non-trivial comparison
    torch.testing.assert_close(low[:, confidence], ref[:, confidence], atol=2e-2, rtol=2e-2)


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('precision', list(PRECISIONS))
def test_tempo_match_finite_on_degenerate_normalised_features(backend, precision):
    """Zero maps, identical constant maps (every displacement ties) and one-hot maps."""
    B, Cm = 3, 8
    zeros = torch.zeros(B, Cm, H, W)
    const = torch.full((B, Cm, H, W), Cm ** -0.5)
    onehot = torch.zeros(B, Cm, H, W)
    onehot[:, 0] = 1.0
    for f1, f2 in ((zeros, zeros), (const, const), (onehot, zeros), (onehot, onehot)):
        a = f1.clone().requires_grad_(True)
        b = f2.clone().requires_grad_(True)
        dtype = PRECISIONS[precision]
        with torch.autocast('cpu', dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            flow, conf = tempo_match(a, b, patch_size=5, corr_backend=backend)
        assert flow.shape == (B, 2, H, W) and conf.shape == (B, 1, H, W)
        assert torch.isfinite(flow).all() and torch.isfinite(conf).all()
        assert flow.abs().max() <= 1.0 + 1e-2  # soft-argmax scaled by 1 / radius
        (flow.float().sum() + conf.float().sum()).backward()
        assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()


def test_amp_optim_wrapper_picks_dtype_per_device():
    base = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1), clip_grad=None)
    cpu = amp_optim_wrapper(base, device='cpu')
    cuda = amp_optim_wrapper(base, device='cuda')
    assert cpu['type'] == 'CPUAutocastOptimWrapper' and cpu['dtype'] == 'bfloat16'
    assert cuda['type'] == 'AmpOptimWrapper' and cuda['dtype'] == 'float16'
    assert cuda['loss_scale'] == 'dynamic'
    assert cpu['optimizer'] == base['optimizer'] and base['type'] == 'OptimWrapper'
    assert amp_optim_wrapper(dict(base), device=None)['type'] == (
        'AmpOptimWrapper' if torch.cuda.is_available() else 'CPUAutocastOptimWrapper')
    with pytest.raises(ValueError, match='optim_wrapper.type'):
        amp_optim_wrapper(dict(base, type='ApexOptimWrapper'), device='cpu')
    with pytest.raises(ValueError, match='dtype'):
        CPUAutocastOptimWrapper(optimizer=torch.optim.SGD([torch.nn.Parameter(
            torch.zeros(1))], lr=0.1), dtype='float32')


def test_cpu_bf16_training_step_updates_fp32_weights():
    """A Recognizer2D with a TCM backbone trains one step through the optim wrapper
    ``--amp`` builds on CPU: the forward runs in bf16, the loss is finite, the fp32
    master weights change (TCM's included)."""
    from mmengine.registry import init_default_scope
    from mmaction.registry import MODELS, OPTIM_WRAPPERS
    from mmaction.structures import ActionDataSample
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='Recognizer2D',
        backbone=dict(type='ResNetTSMTCM', depth=18, num_segments=4, norm_eval=False,
                      tcm_cfg=dict(patch_size=3, reduced_channels=8)),
        cls_head=dict(type='TSMHead', num_classes=3, in_channels=512, num_segments=4,
                      dropout_ratio=0.0, average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor', mean=[128.] * 3,
                               std=[64.] * 3, format_shape='NCHW')))
    cfg = amp_optim_wrapper(dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
                            device='cpu')
    cfg['optimizer'] = torch.optim.SGD(model.parameters(), lr=0.1)
    wrapper = OPTIM_WRAPPERS.build(cfg)
    assert isinstance(wrapper, CPUAutocastOptimWrapper)
    seen = []
    hook = model.backbone.tcm_after_layer2.register_forward_hook(
        lambda m, i, o: seen.append(torch.get_autocast_dtype('cpu')
                                    if torch.is_autocast_enabled('cpu') else None))
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    g = torch.Generator().manual_seed(0)
    data = dict(inputs=[torch.randint(0, 256, (4, 3, 32, 32), generator=g).to(torch.uint8)
                        for _ in range(2)],
                data_samples=[ActionDataSample().set_gt_label(torch.tensor(i))
                              for i in range(2)])
    model.train()
    losses = model.train_step(data, wrapper)
    hook.remove()
    assert seen == [torch.bfloat16]
    assert torch.isfinite(losses['loss'])
    for name, p in model.named_parameters():
        assert p.dtype == torch.float32, name
    changed = [k for k, v in model.named_parameters() if not torch.equal(v, before[k])]
    assert any(k.startswith('backbone.tcm_after_layer2.') for k in changed)
    assert any(k.startswith('cls_head.') for k in changed)
