"""TCM module: shapes, sizes, released arithmetic, the Table VIII ablations, bad inputs."""
import os

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmaction.registry import MODELS

import mmaction_tcm  # noqa: F401
from mmaction_tcm.models import TCM
from mmaction_tcm.models.tcm import eca_kernel_size
from helpers import ROOT, n_params, randomise_bn_stats, released_params, tcm_param_count
from reference_tcm import eca_kernel, match_reference, tcm_reference


def test_released_size_r50():
    tcm = TCM(512, 8)
    assert n_params(tcm) == 71163
    assert n_params(tcm.mtdm) == 32896
    assert n_params(tcm.tam) == 38267
    assert tcm.tam.temporal_attention.conv.weight.shape == (1, 1, 3)


@pytest.mark.parametrize('T', [2, 3, 4, 8, 16, 32])
def test_eca_kernel_size(T):
    assert eca_kernel_size(T) == eca_kernel(T)
    assert eca_kernel_size(8) == 3 and eca_kernel_size(16) == 5


def test_registry_build_and_shape():
    tcm = MODELS.build(dict(type='TCM', in_channels=32, num_segments=4, reduced_channels=8,
                            patch_size=5))
    x = torch.randn(2 * 4, 32, 6, 7)
    y = tcm(x)
    assert y.shape == x.shape
    y.sum().backward()
    assert all(p.grad is not None for p in tcm.parameters() if p.requires_grad)


@pytest.mark.parametrize('T,patch', [(8, 15), (3, 5)])
def test_matches_released_reference(T, patch):
    torch.manual_seed(0)
    tcm = TCM(24, T, reduced_channels=12, patch_size=patch, corr_backend='pytorch').double()
    randomise_bn_stats(tcm)
    tcm.eval()
    x = torch.randn(2 * T, 24, 6, 5, dtype=torch.float64)
    expected = tcm_reference(x, released_params(tcm), T, patch_size=patch)
    torch.testing.assert_close(tcm(x), expected, rtol=1e-9, atol=1e-9)


def test_mtdm_channel_order_and_padding():
    """Last frame repeats the last pair; slow scale of frame 0 -> 1 equals fast scale."""
    torch.manual_seed(1)
    tcm = TCM(16, 5, reduced_channels=8, patch_size=5, corr_backend='pytorch').eval()
    motion = tcm.mtdm(torch.randn(5, 16, 6, 6)).view(5, 6, 6, 6)
    torch.testing.assert_close(motion[4], motion[3])
    torch.testing.assert_close(motion[0, :3], motion[0, 3:])
    assert (motion[:, [0, 1, 3, 4]].abs() <= 1).all() and (motion[:, [2, 5]] >= 0).all()


# ------------------------------------------------- Table VIII ablations, re-stated here
# Written from the description of the variants with F.conv2d / F.batch_norm, reading the
# tensors from the state dict by name (eval-mode BatchNorm, float64).


def _conv_bn(t, sd, conv, groups=1, relu=True, eps=1e-5):
    """``sd[conv + '.weight']`` conv ('same' padding, no bias), then the BN stored at the
    next index of the same Sequential, then ReLU."""
    head, _, index = conv.rpartition('.')
    bn = f'{head}.{int(index) + 1}'
    w = sd[conv + '.weight']
    t = F.conv2d(t, w, padding=w.shape[-1] // 2, groups=groups)
    t = F.batch_norm(t, sd[bn + '.running_mean'], sd[bn + '.running_var'], sd[bn + '.weight'],
                     sd[bn + '.bias'], False, 0.0, eps)
    return F.relu(t) if relu else t


def released_motion(x, sd, T, patch_size):
    """MTDM: ``(N*T, C, H, W) -> (N*T, 6, H, W)``. Reduce (1x1 conv, BN, ReLU), L2-normalise
    with eps 1e-6, match every (t-1, t) and (0, t) pair, ``[u, v, c]`` of the fast pair
    then of the slow pair; the last frame repeats the last pair."""
    feat = _conv_bn(x, sd, 'mtdm.channel_reduction.0')
    feat = feat / torch.sqrt((feat * feat).sum(1, keepdim=True) + 1e-6)
    frames = []
    for clip in feat.view(-1, T, *feat.shape[1:]):
        pairs = []
        for t in range(1, T):
            fast = match_reference(clip[t - 1:t], clip[t:t + 1], patch_size)
            slow = match_reference(clip[:1], clip[t:t + 1], patch_size)
            pairs.append(torch.cat([*fast, *slow], 1))
        frames += pairs + pairs[-1:]
    return torch.cat(frames)


def released_attention(m, sd, T):
    """TAM: ``(N*T, 6, H, W) -> (N*T, C, H, W)``. Three 3x3 convs in 3 groups and a 1x1 to
    16 channels, then (depthwise 3x3, 1x1) to 32, 64 and C, each conv + BN + ReLU; frames
    scaled by sigmoid(conv1d over T of the per-channel spatial means)."""
    layers = [('tam.conv1.0', 3), ('tam.conv1.3', 3), ('tam.conv1.6', 3), ('tam.conv1.9', 1)]
    for stage, width in (('conv2', 16), ('conv3', 32), ('conv4', 64)):
        layers += [(f'tam.{stage}.0', width), (f'tam.{stage}.3', 1)]
    for conv, groups in layers:
        m = _conv_bn(m, sd, conv, groups)
    NT, C = m.shape[:2]
    means = m.mean((2, 3)).view(NT // T, T, C).transpose(1, 2).reshape(-1, 1, T)
    kernel = sd['tam.temporal_attention.conv.weight']
    gate = torch.sigmoid(F.conv1d(means, kernel, padding=kernel.shape[-1] // 2))
    return m * gate.view(NT // T, C, T).transpose(1, 2).reshape(NT, C, 1, 1)


def mtdm_only_reference(x, sd, T, patch_size):
    """"MTDM only": ``x + BN(conv1x1(motion))``, the 6 motion channels lifted to C."""
    return x + _conv_bn(released_motion(x, sd, T, patch_size), sd, 'tam.0', relu=False)


def tam_only_reference(x, sd, T):
    """"TAM only": ``x + TAM(ReLU(BN(conv1x1(x))))``, x projected to TAM's 6 inputs."""
    return x + released_attention(_conv_bn(x, sd, 'mtdm.0'), sd, T)


def _eval_double(tcm, seed=0):
    tcm = tcm.double()
    randomise_bn_stats(tcm, seed)
    return tcm.eval()


@pytest.mark.parametrize('T,patch', [(8, 15), (3, 5)])
def test_mtdm_only_matches_its_restatement(T, patch):
    torch.manual_seed(0)
    tcm = _eval_double(TCM(24, T, reduced_channels=12, patch_size=patch, use_tam=False,
                           corr_backend='pytorch'))
    x = torch.randn(2 * T, 24, 6, 5, dtype=torch.float64)
    expected = mtdm_only_reference(x, tcm.state_dict(), T, patch)
    with torch.no_grad():  # the folded inference path
        torch.testing.assert_close(tcm(x), expected, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(tcm(x), expected, rtol=1e-9, atol=1e-9)  # module path


@pytest.mark.parametrize('T', [8, 3])
def test_tam_only_matches_its_restatement(T):
    torch.manual_seed(1)
    tcm = _eval_double(TCM(24, T, reduced_channels=12, patch_size=5, use_mtdm=False))
    x = torch.randn(2 * T, 24, 6, 5, dtype=torch.float64)
    expected = tam_only_reference(x, tcm.state_dict(), T)
    with torch.no_grad():
        torch.testing.assert_close(tcm(x), expected, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(tcm(x), expected, rtol=1e-9, atol=1e-9)


def test_restatement_pieces_compose_to_the_released_tcm():
    """The two halves used above give the full released TCM (``tcm_reference``)."""
    torch.manual_seed(2)
    T = 4
    tcm = _eval_double(TCM(24, T, reduced_channels=12, patch_size=5, corr_backend='pytorch'))
    x = torch.randn(2 * T, 24, 6, 5, dtype=torch.float64)
    sd = tcm.state_dict()
    ours = x + released_attention(released_motion(x, sd, T, 5), sd, T)
    torch.testing.assert_close(ours, tcm_reference(x, released_params(tcm), T, 5),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('C,T,full,mtdm_only,tam_only', [
    (512, 8, 71163, 32896 + 6 * 512 + 2 * 512, 6 * 512 + 12 + 38267),  # R50 res3
    (128, 8, 21243, 9344, 13703),                                      # R18 res3
    (512, 16, 71165, None, None),                                      # T=16: ECA kernel 5
])
def test_parameter_counts_of_the_variants(C, T, full, mtdm_only, tam_only):
    counts = {(m, t): n_params(TCM(C, T, use_mtdm=m, use_tam=t))
              for m, t in ((True, True), (True, False), (False, True))}
    for (m, t), count in counts.items():
        assert count == tcm_param_count(C, T, use_mtdm=m, use_tam=t), (m, t)
    assert counts[True, True] == full
    if mtdm_only is not None:
        assert (counts[True, False], counts[False, True]) == (mtdm_only, tam_only)
    mtdm_only_net = TCM(C, T, use_tam=False)
    tam_only_net = TCM(C, T, use_mtdm=False)
    assert not hasattr(mtdm_only_net.tam, 'temporal_attention')
    assert not hasattr(tam_only_net.mtdm, 'channel_reduction')
    with pytest.raises(ValueError, match='use_mtdm and use_tam'):
        TCM(32, 4, use_mtdm=False, use_tam=False)


@pytest.mark.parametrize('variant,reference,params', [
    ('mtdm_only', 'mtdm', 9344), ('tam_only', 'tam', 13703), ('res3', 'full', 21243)])
def test_table8_configs_build_the_restated_variants(variant, reference, params):
    """The configs of Table VIII: TSM-R18 (11,176,512 parameters) + one TCM after res3
    (128 channels, T = 8, the released patch 15) computing the re-stated function."""
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', f'tcm_r18_sthv1_{variant}.py'))
    backbone = MODELS.build(cfg.model.backbone)
    tcms = [m for m in backbone.modules() if isinstance(m, TCM)]
    assert len(tcms) == 1 and tcms[0] is backbone.tcm_after_layer2
    assert n_params(backbone) == 11176512 + params
    assert n_params(tcms[0]) == params
    tcm = _eval_double(tcms[0])
    torch.manual_seed(3)
    x = torch.randn(8, 128, 7, 6, dtype=torch.float64)
    sd = tcm.state_dict()
    expected = {'mtdm': lambda: mtdm_only_reference(x, sd, 8, 15),
                'tam': lambda: tam_only_reference(x, sd, 8),
                'full': lambda: tcm_reference(x, released_params(tcm), 8, 15)}[reference]()
    with torch.no_grad():
        torch.testing.assert_close(tcm(x), expected, rtol=1e-9, atol=1e-9)


def test_bad_inputs():
    tcm = TCM(16, 4, reduced_channels=8, patch_size=3)
    with pytest.raises(ValueError, match='not a multiple of num_segments=4'):
        tcm(torch.randn(6, 16, 4, 4))
    with pytest.raises(ValueError, match='expects 16 channels'):
        tcm(torch.randn(4, 8, 4, 4))
    with pytest.raises(ValueError, match='patch_size must be an odd'):
        TCM(16, 4, patch_size=4)
    with pytest.raises(ValueError, match='num_segments must be an int >= 2'):
        TCM(16, 1)
    with pytest.raises(ValueError, match='in_channels'):
        TCM(0, 4)
    with pytest.raises(ValueError, match='corr_backend'):
        TCM(16, 4, corr_backend='fast')


def test_checkpoint_for_other_T_is_refused():
    src = TCM(16, 16, reduced_channels=8, patch_size=3).state_dict()
    dst = TCM(16, 8, reduced_channels=8, patch_size=3)
    with pytest.raises(ValueError, match='different number of frames'):
        dst.load_state_dict(src)
