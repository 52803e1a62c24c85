"""The released checkpoint on MMAction2-prepared Sth-V1: class order, frame indices, decoding,
bad input, and the whole path through tools/test.py against the reference released model."""
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image, ImageFilter

from mmaction.registry import TRANSFORMS

import mmaction_tcm  # noqa: F401
from mmaction_tcm.datasets import class_names
from mmaction_tcm.utils import checkpoint_class_names, convert_official_checkpoint
from reference_released_model import random_released_state_dict, released_logits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONVERT = os.path.join(ROOT, 'tools', 'convert_official_checkpoint.py')
TEST_TOOL = os.path.join(ROOT, 'tools', 'test.py')
LABEL_MAPS = os.path.join(ROOT, 'mmaction_tcm', 'datasets', 'label_maps')
MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def shipped_names(dataset):
    with open(os.path.join(LABEL_MAPS, f'{dataset}_mmaction2.txt')) as f:
        return f.read().splitlines()


def run_tool(script, *args, timeout=600):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, script, *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=timeout)


def release_val_indices(num_frames, num_segments):
    """The release's ``TSNDataSet._get_val_indices`` (+1: files start at 00001.jpg)."""
    if num_frames > num_segments:
        tick = num_frames / float(num_segments)
        offsets = np.array([int(tick / 2.0 + tick * x) for x in range(num_segments)])
    else:
        offsets = np.zeros((num_segments, ))
    return offsets + 1


def load_test_tool():
    import importlib.util
    sys.path.insert(0, os.path.join(ROOT, 'tools'))  # its _bootstrap
    spec = importlib.util.spec_from_file_location('tools_test', TEST_TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- label maps

def test_shipped_label_maps():
    v1, v2 = shipped_names('sthv1'), shipped_names('sthv2')
    assert len(v1) == len(set(v1)) == 174 and len(v2) == len(set(v2)) == 174
    assert v2 == sorted(v1)  # MMAction2's V2 numbering = the sorted names = the release's
    assert sum(a == b for a, b in zip(v1, sorted(v1))) == 1  # V1: one index agrees
    assert class_names.mmaction2_class_names('sthv1') == v1
    assert class_names.release_class_names('sthv1') == sorted(v1)
    assert class_names.release_rows(v1, 'sthv1') == [sorted(v1).index(n) for n in v1]
    assert class_names.release_rows(v2, 'sthv2') == list(range(174))


def test_label_maps_are_package_data():
    import glob
    import warnings

    from setuptools.config.setupcfg import read_configuration
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        patterns = read_configuration(os.path.join(ROOT, 'setup.cfg'))['options'][
            'package_data']['mmaction_tcm.datasets']
    shipped = {os.path.basename(f) for p in patterns
               for f in glob.glob(os.path.join(ROOT, 'mmaction_tcm', 'datasets', p))}
    assert shipped == {'sthv1_mmaction2.txt', 'sthv2_mmaction2.txt'}


# ---------------------------------------------------------------- test frame indices

@pytest.mark.parametrize('config,split', [
    ('tcm_r50_sthv1.py', 'test'), ('tcm_r50_sthv1.py', 'val'),
    ('tcm_r50_16f_sthv1.py', 'test'), ('tcm_r50_sthv2.py', 'test')])
def test_default_sth_sampling_is_the_release_s(config, split):
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', config))
    step = [s for s in cfg[f'{split}_dataloader'].dataset.pipeline
            if s['type'] == 'SampleSegmentViews'][0]
    sampler = TRANSFORMS.build(step)
    T = cfg.model.backbone.num_segments
    for n in range(1, 301):
        out = sampler(dict(total_frames=n, start_index=1))
        np.testing.assert_array_equal(out['frame_inds'], release_val_indices(n, T),
                                      err_msg=f'{n} frames')
    # a data set whose files start at 0 is shifted by its start index, not re-spread
    out = sampler(dict(total_frames=5, start_index=0))
    np.testing.assert_array_equal(out['frame_inds'], np.zeros(T))


def test_spread_option_is_mmaction2_s_sampleframes():
    ours = TRANSFORMS.build(dict(type='SampleSegmentViews', num_segments=8,
                                 short_video='spread'))
    theirs = TRANSFORMS.build(dict(type='SampleFrames', clip_len=1, frame_interval=1,
                                   num_clips=8, test_mode=True))
    for n in range(1, 301):
        a = ours(dict(total_frames=n, start_index=1))['frame_inds']
        b = theirs(dict(total_frames=n, start_index=1))['frame_inds']
        np.testing.assert_array_equal(a, b, err_msg=f'{n} frames')
    out = ours(dict(total_frames=5, start_index=1))['frame_inds']
    np.testing.assert_array_equal(out, [1, 1, 2, 3, 3, 4, 5, 5])


@pytest.mark.parametrize('protocol', ['centre_1clip', '10clip', '10clip_3crop'])
def test_multi_clip_protocols_keep_working(protocol):
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'tcm_r50_sthv1.py'))
    load_test_tool().apply_test_protocol(cfg, protocol)
    step = cfg.test_dataloader.dataset.pipeline[0]
    views = cfg.test_protocols[protocol]['sampler']['num_views']
    sampler = TRANSFORMS.build(step)
    long = sampler(dict(total_frames=40, start_index=1, frame_dir='v'))['frame_inds']
    assert long.shape == (8 * views, ) and len(set(long.tolist())) > 8 * (views > 1)
    short = sampler(dict(total_frames=6, start_index=1, frame_dir='v'))['frame_inds']
    np.testing.assert_array_equal(short, np.ones(8 * views))  # the release's rule
    resize = [s for s in cfg.test_dataloader.dataset.pipeline if 'Resize' in s['type']][0]
    assert resize['type'] == 'PillowResize'  # protocols keep the Pillow resize


def test_bad_short_video_rule():
    with pytest.raises(ValueError, match='short_video'):
        TRANSFORMS.build(dict(type='SampleSegmentViews', short_video='first'))


# ---------------------------------------------------------------- decoding

def test_pillow_recipe_gives_the_release_s_pixels(tmp_path):
    """RawFrameDecode(pillow) + PillowResize = PIL convert('RGB') + resize, to the byte."""
    from mmengine.dataset import Compose
    rng = np.random.default_rng(0)
    frame = (rng.random((100, 133, 3)) * 255).astype(np.uint8)
    frame = np.asarray(Image.fromarray(frame).filter(ImageFilter.GaussianBlur(2)))
    Image.fromarray(frame).save(tmp_path / '00001.jpg', quality=90)
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'tcm_r50_sthv1.py'))
    steps = [dict(s) for s in cfg.test_dataloader.dataset.pipeline][:3]
    assert steps[1]['decoding_backend'] == 'pillow' and steps[2]['type'] == 'PillowResize'
    info = dict(frame_dir=str(tmp_path), total_frames=1, start_index=1,
                filename_tmpl='{:05}.jpg', modality='RGB')
    ours = Compose(steps)(dict(info))['imgs']
    with Image.open(tmp_path / '00001.jpg') as img:
        release = np.asarray(img.convert('RGB').resize((320, 240), Image.BILINEAR))
    assert len(ours) == 8
    for img in ours:
        np.testing.assert_array_equal(img, release)
    # MMAction2's Resize resizes with OpenCV even after a Pillow decode: not the same pixels
    steps[2]['type'] = 'Resize'
    cv2_resized = Compose(steps)(dict(info))['imgs'][0]
    assert np.abs(cv2_resized.astype(int) - release).max() > 0


def test_pillow_resize_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match='interpolation'):
        TRANSFORMS.build(dict(type='PillowResize', scale=(8, 8), interpolation='area'))
    with pytest.raises(ValueError, match='lazy'):
        TRANSFORMS.build(dict(type='PillowResize', scale=(8, 8), lazy=True))


# ---------------------------------------------------------------- bad input

@pytest.fixture(scope='module')
def small_released(tmp_path_factory):
    """Just enough of the released layout for the converter's checks (no model)."""
    def make(num_classes):
        sd = {'module.base_model.tcm_layer.tam.ETA.conv.weight': torch.zeros(1, 1, 3),
              'module.base_model.conv1.weight': torch.zeros(1),
              'module.new_fc.weight': torch.zeros(num_classes, 8, 1),
              'module.new_fc.bias': torch.zeros(num_classes)}
        path = tmp_path_factory.mktemp('small') / f'released_{num_classes}.pth'
        torch.save(dict(state_dict=sd), path)
        return path
    return make


@pytest.mark.parametrize('args,message', [
    (['--label-order', 'tsm'], "--label-order: invalid choice: 'tsm'"),
    (['--dataset', 'k400'], "--dataset: invalid choice: 'k400'"),
])
def test_tool_refuses_unknown_choices(small_released, tmp_path, args, message):
    out = tmp_path / 'out.pth'
    res = run_tool(CONVERT, small_released(174), out, *args)
    assert res.returncode == 2 and message in res.stderr
    assert not out.exists() and not os.listdir(tmp_path)


def test_function_refuses_unknown_choices(small_released):
    ckpt = torch.load(small_released(174), weights_only=True)
    with pytest.raises(ValueError, match="label_order must be one of .*got 'tsm'"):
        convert_official_checkpoint(ckpt, label_order='tsm')
    with pytest.raises(ValueError, match="dataset must be one of .*got 'k400'"):
        convert_official_checkpoint(ckpt, dataset='k400')


def test_head_of_another_size_is_refused(small_released, tmp_path):
    out = tmp_path / 'out.pth'
    res = run_tool(CONVERT, small_released(400), out, '--dataset', 'sthv1')
    assert res.returncode == 1
    assert "head has 400 classes, but dataset='sthv1' has 174" in res.stderr
    assert not os.listdir(tmp_path)


def _write_map(path, names):
    path.write_text('\n'.join(names) + '\n')
    return path


@pytest.mark.parametrize('edit,message', [
    (lambda n: n[:10] + [n[3]] + n[11:], 'duplicate class names'),
    (lambda n: n[:-1], r'has 173 names, sthv1 has 174: missing 1'),
    (lambda n: n[:5] + [''] + n[6:], 'lines \\[6\\] have no class name'),
    (lambda n: n[:-1] + ['Juggling something'], 'unknown 1'),
])
def test_bad_label_maps_are_refused(small_released, tmp_path, edit, message):
    bad = _write_map(tmp_path / 'labels.txt', edit(shipped_names('sthv1')))
    out = tmp_path / 'out' / 'converted.pth'
    res = run_tool(CONVERT, small_released(174), out, '--label-map', bad)
    assert res.returncode == 1 and 'labels.txt' in res.stderr
    assert len([ln for ln in res.stderr.splitlines() if ln.startswith('error')]) == 1
    assert re.search(message, res.stderr), res.stderr
    assert not (tmp_path / 'out').exists()


def test_user_label_map_sets_the_rows(small_released, tmp_path):
    ckpt = torch.load(small_released(174), weights_only=True)
    ckpt['state_dict']['module.new_fc.bias'] = torch.arange(174.)  # bias = release index
    names = shipped_names('sthv1')[::-1]
    conv = convert_official_checkpoint(ckpt, label_map=str(_write_map(tmp_path / 'm.txt',
                                                                      names)))
    expected = [sorted(names).index(n) for n in names]
    assert conv['state_dict']['cls_head.fc_cls.bias'].tolist() == expected
    assert conv['meta']['dataset_meta']['classes'] == names


# ---------------------------------------------------------------- end to end

def write_sthv1_like_set(root, lengths, labels, size=(60, 80), seed=0):
    """MMAction2's Sth-V1 layout: ``rawframes/<id>/00001.jpg ...`` and a list file with
    ``<id> <num_frames> <label>`` lines, labels in MMAction2's numbering."""
    rng = np.random.default_rng(seed)
    lines = []
    for v, (n, label) in enumerate(zip(lengths, labels)):
        folder = os.path.join(root, 'rawframes', str(1000 + v))
        os.makedirs(folder)
        base = rng.integers(0, 256, (size[0] // 4, size[1] // 4, 3), dtype=np.uint8)
        for k in range(1, n + 1):
            frame = np.roll(base, k * (v + 1), axis=1)  # content moves with time
            img = Image.fromarray(frame).resize((size[1], size[0]), Image.BILINEAR)
            img.save(os.path.join(folder, f'{k:05d}.jpg'), quality=90)
        lines.append(f'{1000 + v} {n} {label}')
    ann = os.path.join(root, 'sthv1_val_list_rawframes.txt')
    with open(ann, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return ann


def release_clip(folder, num_frames, T, size, crop):
    """The release's test input: PIL RGB, bilinear resize, centre crop, /255, mean/std."""
    frames = []
    for k in release_val_indices(num_frames, T):
        with Image.open(os.path.join(folder, f'{int(k):05d}.jpg')) as img:
            img = img.convert('RGB').resize(size, Image.BILINEAR)
        w, h = img.size
        left, top = int(round((w - crop) / 2.)), int(round((h - crop) / 2.))
        img = img.crop((left, top, left + crop, top + crop))
        frames.append((np.asarray(img, dtype=np.float64) / 255. - MEAN) / STD)
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous()


@pytest.mark.slow
def test_released_checkpoint_through_tools_test_names_match_the_release(tmp_path):
    T, size, crop = 8, (80, 64), 48  # 80x64 frames, centre crop 48 (even offsets)
    names = shipped_names('sthv1')
    lengths = [5, 8, 9, 13, 20, 31]  # N < T, N = T, N > T
    labels = [2, 30, 66, 100, 0, 173]  # MMAction2's numbering
    ann = write_sthv1_like_set(str(tmp_path), lengths, labels)
    release_names = sorted(names)
    sd = random_released_state_dict(T=T, seed=1)
    sd64 = {k: (v.double() if v.is_floating_point() else v) for k, v in sd.items()}
    # the reference released model's clip features (an identity head: logits = features)
    features = []
    for v, n in enumerate(lengths):
        clip = release_clip(str(tmp_path / 'rawframes' / str(1000 + v)), n, T, size, crop)
        eye = dict(sd64, **{'module.new_fc.weight': torch.eye(2048).double()[..., None],
                            'module.new_fc.bias': torch.zeros(2048).double()})
        with torch.no_grad():
            features.append(released_logits(eye, clip, T)[0])
    features = torch.stack(features)  # (6, 2048)
    # the random head, with each clip's true class (release index) raised 4 above the clip's
    # best logit: the converted model predicts the list's labels only if its rows follow
    # the names (the raise is solved for the six clips: lift @ features.T is diagonal)
    head = sd64['module.new_fc.weight'][..., 0].clone()
    base = features @ head.T + sd64['module.new_fc.bias']  # (6, 174)
    rows_true = [release_names.index(names[label]) for label in labels]
    raise_by = base.max(1).values + 4 - base[range(6), rows_true]
    head[rows_true] += raise_by[:, None] * torch.linalg.solve(features @ features.T, features)
    sd64['module.new_fc.weight'] = head[..., None]
    sd['module.new_fc.weight'] = head[..., None].float()
    released = tmp_path / 'sthv1_8f_best.pth'
    torch.save(dict(epoch=45, arch='resnet50', best_prec1=52.2, state_dict=sd), released)
    converted = tmp_path / 'tcm_r50_sthv1_converted.pth'
    res = run_tool(CONVERT, released, converted)  # the defaults: MMAction2's numbering
    assert res.returncode == 0, res.stderr
    assert checkpoint_class_names(str(converted)) == names  # what tools/demo.py prints
    dump = tmp_path / 'results.pkl'
    pipe = 'test_dataloader.dataset.pipeline'
    res = run_tool(
        TEST_TOOL, os.path.join(ROOT, 'configs', 'tcm_r50_sthv1.py'), converted,
        '--work-dir', tmp_path / 'work', '--dump', dump, '--cfg-options',
        f'test_dataloader.dataset.ann_file={ann}',
        f'test_dataloader.dataset.data_prefix.img={tmp_path / "rawframes"}',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
        f'{pipe}.2.scale=({size[0]},{size[1]})', f'{pipe}.3.crop_size={crop}')
    assert res.returncode == 0, res.stderr[-3000:]
    with open(dump, 'rb') as f:
        results = pickle.load(f)
    assert [int(r['gt_label']) for r in results] == labels
    ours_names, release_pred = [], []
    for v, (n, r) in enumerate(zip(lengths, results)):
        ref = features[v] @ head.T + sd64['module.new_fc.bias']  # the released head (linear)
        ref_top2 = ref.topk(2).values
        assert ref_top2[0] - ref_top2[1] > 1e-3  # a clear winner, not float noise
        score = torch.as_tensor(r['pred_score']).double()
        rows = [release_names.index(name) for name in names]
        torch.testing.assert_close(score, ref.softmax(0)[rows], rtol=2e-4, atol=1e-6)
        ours_names.append(names[int(score.argmax())])
        release_pred.append(release_names[int(ref.argmax())])
    assert ours_names == release_pred
    assert ours_names == [names[label] for label in labels]  # top-1 = 100% on this set
    # the split head above is the reference model's own head
    clip = release_clip(str(tmp_path / 'rawframes' / '1000'), lengths[0], T, size, crop)
    with torch.no_grad():
        whole = released_logits(sd64, clip, T)[0]
    torch.testing.assert_close(whole, features[0] @ head.T + sd64['module.new_fc.bias'])
    # unpermuted rows would have named other classes (index i differs between the orders)
    assert any(names[release_names.index(p)] != p for p in release_pred)
