"""TCM module: shapes, sizes, released arithmetic, ablations, bad inputs."""
import pytest
import torch

from mmaction.registry import MODELS

import mmaction_tcm  # noqa: F401
from mmaction_tcm.models import TCM
from mmaction_tcm.models.tcm import eca_kernel_size
from reference_tcm import eca_kernel, tcm_reference

RELEASED_NAMES = {  # ours -> released (inside tcm_layer.)
    'mtdm.channel_reduction.': 'mtdm.chnl_reduction.',
    'tam.temporal_attention.': 'tam.ETA.',
}


def released_params(tcm: TCM) -> dict:
    out = {}
    for k, v in tcm.state_dict().items():
        for ours, theirs in RELEASED_NAMES.items():
            k = k.replace(ours, theirs)
        out[k] = v
    return out


def randomise_bn_stats(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def test_released_size_r50():
    tcm = TCM(512, 8)
    assert sum(p.numel() for p in tcm.parameters()) == 71163
    assert sum(p.numel() for p in tcm.mtdm.parameters()) == 32896
    assert sum(p.numel() for p in tcm.tam.parameters()) == 38267
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


def test_ablation_variants():
    x = torch.randn(8, 32, 5, 5)
    mtdm_only = TCM(32, 4, reduced_channels=8, patch_size=3, use_tam=False)
    tam_only = TCM(32, 4, reduced_channels=8, patch_size=3, use_mtdm=False)
    assert mtdm_only(x).shape == x.shape and tam_only(x).shape == x.shape
    assert not hasattr(mtdm_only.tam, 'temporal_attention')
    assert not hasattr(tam_only.mtdm, 'channel_reduction')
    full = TCM(32, 4, reduced_channels=8, patch_size=3)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(mtdm_only) < count(full) and count(tam_only) < count(full)
    with pytest.raises(ValueError, match='use_mtdm and use_tam'):
        TCM(32, 4, use_mtdm=False, use_tam=False)


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
