"""The config matrix: every config builds, agrees with itself, and follows the paper."""
import functools
import glob
import os
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmaction.registry import MODELS, TRANSFORMS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_DIR = os.path.join(ROOT, 'configs')
# configs owned by other issues (backbone / demo) are built here too, but only ours are
# required to exist
NAME_RE = re.compile(r'^(tsm_|tcm_)?(r18|r50|r101|tea_r2n50|i3d_r50|resnext3d101)(_\d+f)?_'
                     r'(k400|ucf101|hmdb51|sthv1|sthv2|tempo)(_[a-z0-9_]+)?\.py$')
REQUIRED = (
    [f'{m}_r50_{d}.py' for m in ('tsm', 'tcm') for d in ('k400', 'ucf101', 'hmdb51', 'sthv1',
                                                          'sthv2')]
    + [f'{m}_r{d}_sthv1.py' for m in ('tsm', 'tcm') for d in (18, 101)]
    + ['tcm_r50_16f_sthv1.py', 'tcm_r50_16f_sthv2.py', 'tcm_r50_16f_k400.py']
    + [f'tcm_r50_16f_{d}_split{s}.py' for d in ('ucf101', 'hmdb51') for s in (1, 2, 3)]
    + [f'tcm_r18_sthv1_{v}.py' for v in ('res2', 'res3', 'res4', 'res5', 'res23', 'res234',
                                         'res2345', 'mtdm_only', 'tam_only')])
CLASSES = {'k400': 400, 'ucf101': 101, 'hmdb51': 51, 'sthv1': 174, 'sthv2': 174}
FLIP_MAPS = {'sthv1': {2: 4, 4: 2, 30: 41, 41: 30, 52: 66, 66: 52},
             'sthv2': {86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}}
# the released rule: these classes are never flipped (names checked in test_released_path.py)
NO_FLIP = {'sthv1': [2, 4, 30, 41, 52, 66], 'sthv2': [86, 87, 93, 94, 166, 167]}


def all_configs():
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(CONFIG_DIR, '*.py')))


def load(name):
    return Config.fromfile(os.path.join(CONFIG_DIR, name))


def dataset_of(name):
    return NAME_RE.match(name).group(4)


def sampler_counts(pipeline):
    """Frames per clip each sampling step asks for."""
    out = []
    for t in pipeline:
        if t['type'] in ('SampleFrames', 'DenseSampleFrames'):
            out.append(t['num_clips'] if t.get('clip_len', 1) == 1 else t['clip_len'])
        elif t['type'] == 'SampleSegmentViews':
            out.append(t['num_segments'])
    return out


def test_required_configs_exist_and_follow_the_naming_scheme():
    names = all_configs()
    missing = [n for n in REQUIRED if n not in names]
    assert not missing, f'missing configs: {missing}'
    bad = [n for n in names if not NAME_RE.match(n)]
    assert not bad, f'names outside [tsm_|tcm_]{{backbone}}[_{{T}}f]_{{dataset}}[_variant]: {bad}'


@pytest.mark.parametrize('name', all_configs())
def test_config_builds_and_is_consistent(name):
    cfg = load(name)
    assert 'mmaction_tcm' in cfg.custom_imports['imports']
    model = MODELS.build(cfg.model)
    assert isinstance(model, torch.nn.Module)
    dataset = dataset_of(name)
    if dataset != 'tempo':
        assert cfg.model.cls_head.num_classes == CLASSES[dataset]
    # one frame count for backbone, head and every pipeline (2-D recognizers)
    if cfg.model.type == 'Recognizer2D':
        t = cfg.model.backbone.num_segments
        assert cfg.model.cls_head.num_segments == t
        for split in ('train', 'val', 'test'):
            counts = sampler_counts(cfg[f'{split}_dataloader'].dataset.pipeline)
            assert counts == [t], f'{split}: samplers ask for {counts} frames, model has {t}'
        frames = re.search(r'_(\d+)f_', name)
        assert t == (int(frames.group(1)) if frames else 8)
        if not name.startswith('tcm_'):
            assert tuple(cfg.model.backbone.get('tcm_stages', ())) == ()
    flips = [s for s in cfg.train_dataloader.dataset.pipeline if s['type'] == 'SelectiveFlip']
    if dataset in NO_FLIP:
        assert flips and flips[0]['no_flip_labels'] == NO_FLIP[dataset]
        assert cfg.flip_and_swap['flip_label_map'] == FLIP_MAPS[dataset]  # MMAction2's rule
    # every test protocol names a sampler, a resize and a crop the test tool can apply
    for proto in cfg.get('test_protocols', {}).values():
        assert set(proto) == {'sampler', 'resize', 'crop'}
        assert TRANSFORMS.get(proto['crop']['type']) is not None


def test_released_recipe_in_tcm_r50_sthv1():
    """The released training / test recipe (docs/design.md §2)."""
    cfg = load('tcm_r50_sthv1.py')
    opt = cfg.optim_wrapper
    assert opt.constructor == 'TSMOptimWrapperConstructor'
    assert opt.paramwise_cfg.fc_lr5 is False
    assert dict(opt.optimizer) == dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True,
                                       weight_decay=5e-4)
    assert opt.clip_grad.max_norm == 200
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=32)
    steps = [s for s in cfg.param_scheduler if s['type'] == 'MultiStepLR']
    assert steps[0]['milestones'] == [30, 40, 45] and steps[0]['gamma'] == 0.1
    assert cfg.train_cfg.max_epochs == 50
    head = cfg.model.cls_head
    assert (head.type, head.in_channels, head.num_segments, head.dropout_ratio) == (
        'TSMHead', 2048, 8, 0.5)
    bb = cfg.model.backbone
    assert (bb.type, bb.depth, tuple(bb.tcm_stages), bb.pretrained) == (
        'ResNetTSMTCM', 50, (1, ), None)
    pre = cfg.model.data_preprocessor
    np.testing.assert_allclose(np.array(pre['mean']) / 255, [0.485, 0.456, 0.406], atol=1e-6)
    np.testing.assert_allclose(np.array(pre['std']) / 255, [0.229, 0.224, 0.225], atol=1e-6)
    train = {t['type']: t for t in cfg.train_dataloader.dataset.pipeline}
    assert train['MultiScaleCrop']['scales'] == (1, 0.875, 0.75, 0.66)
    resizes = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'Resize']
    assert resizes[0]['scale'] == (320, 240) and resizes[0]['keep_ratio'] is False
    test = [t['type'] for t in cfg.test_dataloader.dataset.pipeline]
    assert 'CenterCrop' in test and 'ThreeCrop' not in test


def _run_pipeline(steps, results):
    for step in steps:
        results = TRANSFORMS.build(step)(results)
    return results


def test_sth_flip_swaps_left_right_labels_and_mirrors_frames():
    cfg = load('tcm_r50_sthv1.py')
    flip = dict(cfg.flip_and_swap)  # MMAction2's rule, the documented alternative
    flip['flip_ratio'] = 1.0
    imgs = [np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) for _ in range(2)]
    for label, expected in ((2, 4), (41, 30), (5, 5)):
        out = _run_pipeline([flip], dict(imgs=[i.copy() for i in imgs], label=label,
                                         modality='RGB', img_shape=(2, 3)))
        assert out['label'] == expected
        np.testing.assert_array_equal(out['imgs'][0], imgs[0][:, ::-1])


def _trainable_groups(model, optim_cfg):
    wrapper = build_optim_wrapper(model, optim_cfg)
    return wrapper.optimizer.param_groups


@pytest.mark.parametrize('name', ['tcm_r50_sthv1.py', 'tcm_r18_sthv1_res2345.py',
                                  'tcm_r18_sthv1_mtdm_only.py', 'tcm_r18_sthv1_tam_only.py'])
def test_optimizer_covers_every_parameter_with_the_released_policy(name):
    """TSMOptimWrapperConstructor must not drop TCM parameters; BN / biases: no decay,
    biases at 2x lr (docs/design.md §2)."""
    cfg = load(name)
    model = MODELS.build(cfg.model)
    groups = _trainable_groups(model, cfg.optim_wrapper)
    seen = [id(p) for g in groups for p in g['params']]
    assert len(seen) == len(set(seen)), 'a parameter sits in two groups'
    assert set(seen) == {id(p) for p in model.parameters() if p.requires_grad}
    base_lr, base_wd = cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.optimizer.weight_decay
    group_of = {id(p): g for g in groups for p in g['params']}
    for mod_name, mod in model.named_modules():
        for pname, p in mod.named_parameters(recurse=False):
            g = group_of[id(p)]
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                assert (g['lr'], g['weight_decay']) == (base_lr, 0), f'{mod_name}.{pname}'
            elif pname == 'bias':
                assert (g['lr'], g['weight_decay']) == (2 * base_lr, 0), f'{mod_name}.{pname}'
            else:
                assert (g['lr'], g['weight_decay']) == (base_lr, base_wd), f'{mod_name}.{pname}'


def test_table7_and_table8_variants_build_what_they_claim():
    from mmaction_tcm.models.tcm.mtdm import MTDM
    from mmaction_tcm.models.tcm.tam import TemporalAttentionModule
    stages = {'res2': {1}, 'res3': {2}, 'res4': {3}, 'res5': {4}, 'res23': {1, 2},
              'res234': {1, 2, 3}, 'res2345': {1, 2, 3, 4}}
    for variant, layers in stages.items():
        backbone = MODELS.build(load(f'tcm_r18_sthv1_{variant}.py').model.backbone)
        found = {int(n[len('tcm_after_layer'):]) for n, _ in backbone.named_children()
                 if n.startswith('tcm_after_layer')}
        assert found == layers, variant
    for variant, has_mtdm, has_tam in (('mtdm_only', True, False), ('tam_only', False, True),
                                       ('res3', True, True)):
        backbone = MODELS.build(load(f'tcm_r18_sthv1_{variant}.py').model.backbone)
        kinds = {type(m) for m in backbone.modules()}
        assert (MTDM in kinds, TemporalAttentionModule in kinds) == (has_mtdm, has_tam), variant


def test_sample_segment_views_matches_sampleframes_and_orders_views_clip_major():
    for total in (7, 8, 30, 101):
        ours = TRANSFORMS.build(dict(type='SampleSegmentViews', num_segments=8))(
            dict(total_frames=total, start_index=1))
        stock = TRANSFORMS.build(dict(type='SampleFrames', clip_len=1, num_clips=8,
                                      test_mode=True))(dict(total_frames=total, start_index=1))
        np.testing.assert_array_equal(ours['frame_inds'], stock['frame_inds'])
    multi = TRANSFORMS.build(dict(type='SampleSegmentViews', num_segments=4, num_views=10))(
        dict(total_frames=400, start_index=0))['frame_inds'].reshape(10, 4)
    # view k of segment s: s*100 + (k + 0.5) * 10
    expected = np.arange(4)[None, :] * 100 + (np.arange(10)[:, None] * 10 + 5)
    np.testing.assert_array_equal(multi, expected)
    rnd = dict(type='SampleSegmentViews', num_segments=4, num_views=10, mode='random')
    a = TRANSFORMS.build(rnd)(dict(total_frames=400, start_index=0, filename='a.mp4'))
    a2 = TRANSFORMS.build(rnd)(dict(total_frames=400, start_index=0, filename='a.mp4'))
    b = TRANSFORMS.build(rnd)(dict(total_frames=400, start_index=0, filename='b.mp4'))
    np.testing.assert_array_equal(a['frame_inds'], a2['frame_inds'])
    assert not np.array_equal(a['frame_inds'], b['frame_inds'])
    segs = a['frame_inds'].reshape(10, 4) // 100
    np.testing.assert_array_equal(segs, np.tile(np.arange(4), (10, 1)))
    with pytest.raises(ValueError, match='num_views'):
        TRANSFORMS.build(dict(type='SampleSegmentViews', num_views=0))


def test_model_index_lists_existing_configs_with_paper_numbers_marked():
    import modelindex
    index = modelindex.load(os.path.join(ROOT, 'model-index.yml'))
    names = set()
    for model in index.models:
        assert os.path.isfile(os.path.join(ROOT, model.config)), model.config
        assert os.path.basename(model.config) == model.name + '.py'
        names.add(model.name)
        assert model.results, model.name
        for result in model.results:
            assert 0 < result.metrics['Top 1 Accuracy'] <= 100
    with open(os.path.join(ROOT, 'metafile.yml')) as f:
        text = f.read()
    # every result carries its source (a paper table), so nobody reads it as our measurement
    assert text.count('Source: \'paper Table') == text.count('- Task: Action Recognition')
    assert {n[:-3] for n in REQUIRED} <= names


# ------------------------------------------------- README claims about every config
PROTOCOLS = {'sthv1': {'centre_1clip', '10clip', '10clip_3crop'},
             'sthv2': {'centre_1clip', '10clip', '10clip_3crop'},
             'k400': {'centre_1clip', '10clip', '10clip_3crop'},
             'ucf101': {'centre_1clip', '2clip'}, 'hmdb51': {'centre_1clip', '2clip'}}
DEFAULT_PROTOCOL = {'sthv1': 'centre_1clip', 'sthv2': 'centre_1clip', 'k400': '10clip',
                    'ucf101': '2clip', 'hmdb51': '2clip'}  # paper Table II
URL = re.compile(r'^[a-z][a-z0-9+]*://')


@functools.lru_cache(maxsize=None)
def _test_tool():
    """``tools/test.py`` as a module (its name clashes with the stdlib ``test`` package)."""
    import importlib.util
    import sys
    if os.path.join(ROOT, 'tools') not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, 'tools'))
    spec = importlib.util.spec_from_file_location('test_tool', os.path.join(ROOT, 'tools',
                                                                            'test.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('name', [n for n in all_configs() if dataset_of(n) != 'tempo'])
def test_datasets_are_checked_protocols_listed_and_nothing_downloads(name):
    """Label-checked datasets, videos opened by CheckedDecordInit, the test protocols of the
    dataset with Table II's as the default test pipeline (2-D recognizers), and
    initialisation only from local files."""
    cfg = load(name)
    dataset = dataset_of(name)
    for split in ('train', 'val', 'test'):
        ds = cfg[f'{split}_dataloader'].dataset
        assert ds.type in ('CheckedVideoDataset', 'CheckedRawframeDataset'), split
        assert ds.num_classes == CLASSES[dataset]
        if ds.type == 'CheckedVideoDataset':
            assert ds.pipeline[0]['type'] == 'CheckedDecordInit', split
    if cfg.model.type == 'Recognizer2D':
        assert set(cfg.test_protocols) == PROTOCOLS[dataset]
        default = Config.fromfile(os.path.join(CONFIG_DIR, name))
        _test_tool().apply_test_protocol(default, DEFAULT_PROTOCOL[dataset])
        assert default.test_dataloader.dataset.pipeline == cfg.test_dataloader.dataset.pipeline
    for source in (cfg.model.backbone.get('pretrained'), cfg.get('load_from')):
        assert source is None or not URL.match(str(source)), source


@pytest.mark.parametrize('variant,patches', [
    ('res23', {2: 15, 3: 15}), ('res234', {2: 15, 3: 15, 4: 7}),
    ('res2345', {2: 15, 3: 15, 4: 7, 5: 3})])
def test_table7_multi_stage_configs_use_patch_15_15_7_3(variant, patches):
    backbone = MODELS.build(load(f'tcm_r18_sthv1_{variant}.py').model.backbone)
    found = {layer + 1: getattr(backbone, f'tcm_after_layer{layer}').mtdm.patch_size
             for layer in range(1, 5) if hasattr(backbone, f'tcm_after_layer{layer}')}
    assert found == patches


def test_released_head_initialisation_and_fine_tuning_presets():
    """TSMHead's classifier init (normal, std 0.001) in the released config; UCF / HMDB
    configs start from the K400 run of the same model (Tables II and VI)."""
    head = MODELS.build(load('tcm_r50_sthv1.py').model).cls_head
    assert head.init_std == 0.001
    for name in all_configs():
        if dataset_of(name) in ('ucf101', 'hmdb51') and name.startswith(('tsm_', 'tcm_')):
            frames = '_16f' if '_16f_' in name else ''
            model = name.split('_')[0]
            assert load(name).load_from == f'work_dirs/{model}_r50{frames}_k400/epoch_50.pth'


def test_mmaction2_cfg_options_recipe_equals_the_test_protocol():
    """The README's ``--cfg-options`` recipe for Sth-V1 10 clips x 3 crops (for MMAction2's
    own tools) builds the test pipeline that ``tools/test.py --test-protocol 10clip_3crop``
    builds."""
    import argparse

    from mmengine.config import DictAction
    ours = load('tcm_r50_sthv1.py')
    _test_tool().apply_test_protocol(ours, '10clip_3crop')
    recipe = ['test_dataloader.dataset.pipeline.0.num_views=10',
              'test_dataloader.dataset.pipeline.0.mode=random',
              'test_dataloader.dataset.pipeline.2.scale=(299,224)',
              'test_dataloader.dataset.pipeline.3.type=ThreeCrop']
    parsed = argparse.Namespace()
    DictAction(option_strings=[], dest='options')(None, parsed, recipe)
    theirs = load('tcm_r50_sthv1.py')
    theirs.merge_from_dict(parsed.options)
    assert theirs.test_dataloader.dataset.pipeline == ours.test_dataloader.dataset.pipeline
