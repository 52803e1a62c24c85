"""Released-checkpoint converter: strict loading and logit equivalence with the release."""
import os
import pickle
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from mmaction.registry import MODELS

import mmaction_tcm  # noqa: F401
from mmaction_tcm.utils import convert_official_checkpoint
from reference_released_model import random_released_state_dict, released_logits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, 'tools', 'convert_official_checkpoint.py')
LABEL_MAPS = os.path.join(ROOT, 'mmaction_tcm', 'datasets', 'label_maps')
T = 8


def mmaction2_names(dataset='sthv1'):
    with open(os.path.join(LABEL_MAPS, f'{dataset}_mmaction2.txt')) as f:
        return f.read().splitlines()


def release_index_of_mmaction2_class():
    """[release index of MMAction2 class i]: the release numbers the sorted names."""
    names = mmaction2_names()
    return [sorted(names).index(n) for n in names]


@pytest.fixture(scope='module')
def released(tmp_path_factory):
    sd = random_released_state_dict(T=T)
    ckpt = dict(epoch=45, arch='resnet50', best_prec1=52.2, state_dict=sd)
    path = tmp_path_factory.mktemp('released') / 'sthv1_8f_best.pth'
    torch.save(ckpt, path)
    return ckpt, path


def run_tool(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)  # the checkout, not an older installed copy
    return subprocess.run([sys.executable, TOOL, *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env=env)


def test_released_layout_size(released):
    assert len(released[0]['state_dict']) == 387


def test_converted_model_gives_released_logits(released, tmp_path):
    """Output i is the release's logit of MMAction2's class i (the tool's defaults)."""
    out = tmp_path / 'tcm_r50_sthv1_converted.pth'
    res = run_tool(released[1], out)
    assert res.returncode == 0, res.stderr
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'tcm_r50_sthv1.py'))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, str(out), map_location='cpu', strict=True)
    model = model.double().eval()
    x = torch.randn(2 * T, 3, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model.cls_head(model.backbone(x), num_segs=T)
        sd = {k: (v.double() if v.is_floating_point() else v)
              for k, v in released[0]['state_dict'].items()}
        reference = released_logits(sd, x, T)
    assert ours.shape == (2, 174)
    rows = release_index_of_mmaction2_class()
    torch.testing.assert_close(ours, reference[:, rows], rtol=1e-7, atol=1e-9)
    assert reference.std() > 1e-3  # the comparison is not between constants


def test_meta_and_key_mapping(released):
    conv = convert_official_checkpoint(released[0], num_segments=T)
    sd = conv['state_dict']
    assert len(sd) == 387
    assert sd['cls_head.fc_cls.weight'].shape == (174, 2048)
    assert 'backbone.layer1.0.conv1.conv.net.weight' in sd
    assert 'backbone.tcm_after_layer2.tam.temporal_attention.conv.weight' in sd
    assert conv['meta']['best_prec1'] == 52.2 and conv['meta']['eca_kernel_size'] == 3
    assert conv['meta']['label_order'] == 'mmaction2' and conv['meta']['dataset'] == 'sthv1'
    assert conv['meta']['dataset_meta']['classes'] == mmaction2_names()


def test_head_rows_follow_the_class_names(released):
    """Default: row i (weight and bias) = the release's row of MMAction2's class i."""
    head_w = released[0]['state_dict']['module.new_fc.weight'][:, :, 0]
    head_b = released[0]['state_dict']['module.new_fc.bias']
    rows = release_index_of_mmaction2_class()
    assert sum(r == i for i, r in enumerate(rows)) == 1  # the two numberings differ
    conv = convert_official_checkpoint(released[0])
    for i in (0, 2, 30, 173):
        assert torch.equal(conv['state_dict']['cls_head.fc_cls.weight'][i], head_w[rows[i]])
        assert conv['state_dict']['cls_head.fc_cls.bias'][i] == head_b[rows[i]]
    assert conv['meta']['rows_permuted'] is True
    kept = convert_official_checkpoint(released[0], label_order='release')
    assert torch.equal(kept['state_dict']['cls_head.fc_cls.weight'], head_w)
    assert kept['meta']['dataset_meta']['classes'] == sorted(mmaction2_names())
    assert kept['meta']['rows_permuted'] is False


def test_sthv2_needs_no_permutation(released):
    """MMAction2's V2 map is the sorted V1 names, i.e. the release's (JSON) numbering."""
    assert mmaction2_names('sthv2') == sorted(mmaction2_names('sthv1'))
    for order in ('mmaction2', 'release'):
        conv = convert_official_checkpoint(released[0], dataset='sthv2', label_order=order)
        assert torch.equal(conv['state_dict']['cls_head.fc_cls.bias'],
                           released[0]['state_dict']['module.new_fc.bias'])
        assert conv['meta']['dataset_meta']['classes'] == mmaction2_names('sthv2')
        assert conv['meta']['rows_permuted'] is False


def test_frame_count_mismatch(released, tmp_path):
    with pytest.raises(ValueError, match='different number of frames'):
        convert_official_checkpoint(released[0], num_segments=16)
    res = run_tool(released[1], tmp_path / 'x.pth', '--num-segments', 16)
    assert res.returncode != 0 and 'different number of frames' in res.stderr
    assert not (tmp_path / 'x.pth').exists()


@pytest.mark.parametrize('payload,match', [
    ({'weights': torch.zeros(1)}, "'state_dict'"),
    ({'state_dict': {'module.base_model.conv1.weight': torch.zeros(1)}}, 'tcm_layer'),
    ({'meta': {}, 'state_dict': {'backbone.conv1.conv.weight': torch.zeros(1)}}, 'tcm_layer'),
])
def test_refuses_other_checkpoints(payload, match):
    with pytest.raises(ValueError, match=match):
        convert_official_checkpoint(payload)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_tool_refuses_garbage_and_code(tmp_path):
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    res = run_tool(text, tmp_path / 'o1.pth')
    assert res.returncode != 0 and 'not a readable torch checkpoint' in res.stderr
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _Exploit(str(marker))}, evil, pickle_module=pickle)
    res = run_tool(evil, tmp_path / 'o2.pth')
    assert res.returncode != 0 and 'refusing to load' in res.stderr
    assert not marker.exists()
    res = run_tool(tmp_path / 'missing.pth', tmp_path / 'o3.pth')
    assert res.returncode != 0 and 'not found' in res.stderr
