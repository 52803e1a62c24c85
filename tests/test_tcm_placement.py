"""TCM placement: one mixin serves the four TCM backbones.

* every backbone runs its stages through ``TCMPlacementMixin.forward_stages`` and calls the
  one ``after_stage`` once per stage, in order;
* the forward equals a by-hand reference (stem, then each ``layer{k+1}``, I3D's pool2, the
  TCM after stage ``k`` applied to the frames ``(N*T, C, H, W)``) in eval and train mode;
* state-dict keys and shapes are those of the backbones before the mixin:
  ``tests/data/tcm_backbone_state_dict_keys.json`` was written from the same configs at
  commit 608eda1 (key count, sha256 of the ``key [shape]`` lines, the TCM keys in full).
"""
import hashlib
import json
import os

import pytest
import torch

from mmaction.registry import MODELS

from mmaction_tcm.models.backbones import TCMPlacementMixin, tcm_name
from helpers import ROOT, single_thread

KEYS_FILE = os.path.join(ROOT, 'tests', 'data', 'tcm_backbone_state_dict_keys.json')

# one config per backbone, TCMs at several stages (per-stage tcm_cfg on TSM); input shape
CASES = {
    'tsm': (dict(type='ResNetTSMTCM', depth=18, num_segments=4, tcm_stages=(0, 1, 3),
                 out_indices=(0, 1, 2, 3),
                 tcm_cfg=[dict(patch_size=3, reduced_channels=8), dict(patch_size=3),
                          dict(patch_size=5)]), (8, 3, 64, 64)),
    'tea': (dict(type='TEARes2Net', depth=50, num_segments=4, tcm_stages=(1, 2),
                 out_indices=(0, 1, 2, 3), tcm_cfg=dict(patch_size=3)), (4, 3, 64, 64)),
    'i3d': (dict(type='ResNet3dTCM', depth=18, tcm_stages=(0, 1), tcm_num_segments=4,
                 out_indices=(0, 1, 2, 3), pretrained=None, tcm_cfg=dict(patch_size=3)),
            (1, 3, 8, 64, 64)),
    'rx3d': (dict(type='ResNeXt3d', depth=50, tcm_stages=(1,), tcm_num_segments=2,
                  out_indices=(0, 1, 2, 3), tcm_cfg=dict(patch_size=3)), (1, 3, 8, 48, 48)),
}


@pytest.fixture(scope='module')
def built():
    """``{case: (backbone, input)}``, seeded, one thread for the whole module."""
    with single_thread():
        nets = {}
        for name, (cfg, shape) in CASES.items():
            torch.manual_seed(0)
            net = MODELS.build(cfg)
            net.init_weights()
            nets[name] = (net, torch.randn(shape, generator=torch.Generator().manual_seed(1)))
        yield nets


def reference_forward(net, x):
    """The placement written out by hand: stem, ``layer{k+1}``, (I3D: pool2 after res2),
    ``tcm_after_layer{k+1}`` on frames, for every stage ``k``."""
    x = net.conv1(x)
    if getattr(net, 'with_pool1', True):
        x = net.maxpool(x)
    outs = []
    for k in range(net.num_stages):
        x = getattr(net, f'layer{k + 1}')(x)
        if k == 0 and getattr(net, 'with_pool2', False):
            x = net.pool2(x)
        if k in net.tcm_stages:
            tcm = getattr(net, f'tcm_after_layer{k + 1}')
            if x.dim() == 5:  # (N, C, T, H, W): frames of clip n are rows n*T ... n*T+T-1
                n, c, t, h, w = x.shape
                frames = x.permute(0, 2, 1, 3, 4).reshape(n * t, c, h, w)
                x = tcm(frames).reshape(n, t, c, h, w).permute(0, 2, 1, 3, 4).contiguous()
            else:
                x = tcm(x)
        outs.append(x)
    return outs


@pytest.mark.parametrize('name', list(CASES))
def test_forward_equals_the_placement_written_by_hand(built, name):
    net, x = built[name]
    for train in (False, True):
        net.train(train)
        with torch.no_grad():
            ours = net(x.clone())
            ref = reference_forward(net, x.clone())
        assert len(ours) == len(ref) == 4
        for k, (a, b) in enumerate(zip(ours, ref)):
            assert torch.equal(a, b), f'{name} stage {k} train={train}'


@pytest.mark.parametrize('name', list(CASES))
def test_every_backbone_uses_the_one_after_stage_call(built, name, monkeypatch):
    net, x = built[name]
    assert isinstance(net, TCMPlacementMixin)
    calls = []
    real = type(net).after_stage

    def spy(self, stage, feat):
        out = real(self, stage, feat)
        calls.append((stage, self.tcm_after(stage) is not None, tuple(out.shape)))
        return out
    monkeypatch.setattr(type(net), 'after_stage', spy)
    net.eval()
    with torch.no_grad():
        outs = net(x)
    assert [c[0] for c in calls] == [0, 1, 2, 3]
    assert [c[1] for c in calls] == [k in net.tcm_stages for k in range(4)]
    assert [c[2] for c in calls] == [tuple(o.shape) for o in outs]


@pytest.mark.parametrize('name', list(CASES))
def test_stage_channels_and_tcm_names(built, name):
    net, x = built[name]
    net.eval()
    with torch.no_grad():
        outs = net(x)
    assert [net.stage_channels(k) for k in range(4)] == [o.shape[1] for o in outs]
    tcms = {n for n, _ in net.named_children() if n.startswith('tcm_after_layer')}
    assert tcms == {tcm_name(k) for k in net.tcm_stages}
    for k in net.tcm_stages:
        assert net.tcm_after(k).in_channels == net.stage_channels(k)


@pytest.mark.parametrize('name', list(CASES))
def test_state_dict_keys_are_unchanged(built, name):
    with open(KEYS_FILE) as f:
        saved = json.load(f)[name]
    lines = [f'{k} {list(v.shape)}' for k, v in built[name][0].state_dict().items()]
    assert [ln for ln in lines if ln.startswith('tcm_after_layer')] == saved['tcm_keys']
    assert len(lines) == saved['num_keys']
    assert hashlib.sha256('\n'.join(lines).encode()).hexdigest() == saved['sha256']


def test_tcm_stages_must_name_existing_stages():
    with pytest.raises(ValueError,
                       match=r'tcm_stages entries \(0 = res2\) must be an int in \[0, 3\]'):
        MODELS.build(dict(type='ResNeXt3d', depth=50, tcm_stages=(-1,)))
    with pytest.raises(ValueError, match='repeated'):
        MODELS.build(dict(type='ResNet3dTCM', depth=18, tcm_stages=(1, 1)))
    with pytest.raises(ValueError, match='tcm_cfg has 1 entries'):
        MODELS.build(dict(type='TEARes2Net', depth=50, tcm_stages=(1, 2),
                          tcm_cfg=[dict(patch_size=3)]))
