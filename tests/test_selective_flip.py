"""SelectiveFlip: the released Something-Something flip rule, and the configs that use it."""
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmaction.registry import TRANSFORMS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABEL_MAPS = os.path.join(ROOT, 'mmaction_tcm', 'datasets', 'label_maps')
# the six left/right classes, by name (TSM's class_LeftRight = these, in sorted order)
LEFT_RIGHT = ('Pulling something from left to right', 'Pulling something from right to left',
              'Pushing something from left to right', 'Pushing something from right to left',
              'Turning the camera left while filming something',
              'Turning the camera right while filming something')


def clip(label, seed=0):
    rng = np.random.default_rng(seed)
    imgs = [rng.integers(0, 255, (4, 6, 3), dtype=np.uint8) for _ in range(3)]
    return dict(imgs=imgs, label=label, modality='RGB', img_shape=(4, 6))


def run(transform, results):
    originals = [i.copy() for i in results['imgs']]
    out = transform(results)
    return out, originals


def test_listed_classes_are_never_flipped_and_keep_their_label():
    flip = TRANSFORMS.build(dict(type='SelectiveFlip', flip_ratio=1.0, no_flip_labels=[2, 30]))
    for label in (2, 30, np.int64(30), torch.tensor(2), np.array([30])):
        out, originals = run(flip, clip(label))
        assert out['flip'] is False or out['flip'] == np.False_
        assert int(np.asarray(out['label']).reshape(-1)[0]) in (2, 30)
        for a, b in zip(out['imgs'], originals):
            np.testing.assert_array_equal(a, b)
    out, originals = run(flip, clip(5))
    assert out['flip'] and out['label'] == 5  # flipped, no label swap
    for a, b in zip(out['imgs'], originals):
        np.testing.assert_array_equal(a, b[:, ::-1])


def test_other_classes_flip_with_the_given_probability():
    flip = TRANSFORMS.build(dict(type='SelectiveFlip', flip_ratio=0.5, no_flip_labels=[1]))
    np.random.seed(0)
    flips = [bool(flip(clip(7, seed=i))['flip']) for i in range(2000)]
    assert 0.45 < np.mean(flips) < 0.55
    assert not any(flip(clip(1, seed=i))['flip'] for i in range(200))


def test_random_stream_does_not_depend_on_labels():
    """One draw per clip whatever the label: class 1 clips do not shift later decisions."""
    flip = TRANSFORMS.build(dict(type='SelectiveFlip', flip_ratio=0.5, no_flip_labels=[1]))
    np.random.seed(3)
    mixed = [bool(flip(clip(label))['flip']) for label in [7, 1] * 50]
    np.random.seed(3)
    plain = [bool(flip(clip(7))['flip']) for _ in range(100)]
    assert mixed[0::2] == plain[0::2]


@pytest.mark.parametrize('bad', ['abc', [1.5], [-1], [True]])
def test_bad_class_lists_are_refused(bad):
    with pytest.raises(ValueError, match='no_flip_labels'):
        TRANSFORMS.build(dict(type='SelectiveFlip', no_flip_labels=bad))


def test_multi_label_input_is_refused():
    flip = TRANSFORMS.build(dict(type='SelectiveFlip', no_flip_labels=[1]))
    with pytest.raises(ValueError, match='one class label'):
        flip(clip(np.array([1, 2])))


@pytest.mark.parametrize('config,dataset', [
    ('tcm_r50_sthv1.py', 'sthv1'), ('tcm_r50_16f_sthv1.py', 'sthv1'),
    ('tcm_i3d_r50_sthv1.py', 'sthv1'), ('tcm_r50_sthv2.py', 'sthv2'),
    ('tcm_r50_16f_sthv2.py', 'sthv2')])
def test_configs_spare_the_left_right_classes_by_name(config, dataset):
    with open(os.path.join(LABEL_MAPS, f'{dataset}_mmaction2.txt')) as f:
        names = f.read().splitlines()
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', config))
    steps = [s for s in cfg.train_dataloader.dataset.pipeline if s['type'] == 'SelectiveFlip']
    assert len(steps) == 1 and steps[0]['flip_ratio'] == 0.5
    assert [names[i] for i in steps[0]['no_flip_labels']] and sorted(
        names[i] for i in steps[0]['no_flip_labels']) == sorted(LEFT_RIGHT)
    assert not [s for s in cfg.train_dataloader.dataset.pipeline if s['type'] == 'Flip']
    # MMAction2's flip-and-swap, kept as the documented alternative: pairs by name
    pairs = cfg.flip_and_swap['flip_label_map']
    for a, b in pairs.items():
        assert names[a].replace('left', 'X').replace('right', 'left').replace('X', 'right') \
            == names[b]


def test_release_numbering_of_the_left_right_classes():
    """TSM's class_LeftRight = [86, 87, 93, 94, 166, 167] in the sorted numbering."""
    with open(os.path.join(LABEL_MAPS, 'sthv1_mmaction2.txt')) as f:
        release = sorted(f.read().splitlines())
    assert [release.index(n) for n in LEFT_RIGHT] == [86, 87, 93, 94, 166, 167]


def test_flip_and_swap_config_recipe(tmp_path):
    """The config docs/released_checkpoint.md gives for MMAction2's flip-and-swap."""
    cfg_path = tmp_path / 'tcm_r50_sthv1_flip_swap.py'
    cfg_path.write_text(
        f"_base_ = ['{ROOT}/configs/tcm_r50_sthv1.py']\n"
        "train_dataloader = dict(dataset=dict(pipeline=[\n"
        "    _base_.flip_and_swap if step.type == 'SelectiveFlip' else step\n"
        "    for step in _base_.train_pipeline]))\n")
    cfg = Config.fromfile(str(cfg_path))
    types = [s['type'] for s in cfg.train_dataloader.dataset.pipeline]
    assert 'SelectiveFlip' not in types and 'Flip' in types
    flip = cfg.train_dataloader.dataset.pipeline[types.index('Flip')]
    assert flip['flip_label_map'][2] == 4
