"""Bad input gets a clear error naming the problem (issue 8, point 4).

Model inputs (batch not a multiple of ``num_segments``, channel count, even patch size,
``num_segments < 2``), a checkpoint trained for another ``T`` (ECA kernel size), missing /
empty / corrupt videos (fail naming the file, or skip with a warning, by a config switch)
and labels outside ``num_classes``.
"""
import warnings

import numpy as np
import pytest
import torch
from mmengine.runner import load_checkpoint

from mmaction.registry import DATASETS, MODELS, TRANSFORMS
from mmaction_tcm.datasets.checked_video import (CheckedDecordInit, SkippedVideoWarning,
                                                 VideoReadError)
from mmaction_tcm.models import TCM
from mmaction_tcm.models.tcm.tam import eca_kernel_size
from mmaction_tcm.ops import correlation, tempo_match
from mmaction_tcm.utils import write_mp4
from helpers import moving_square_frames

# ------------------------------------------------------------------ model inputs


def test_batch_not_a_multiple_of_num_segments():
    tcm = TCM(8, num_segments=4, reduced_channels=4, patch_size=3)
    with pytest.raises(ValueError, match=r'batch 6 is not a multiple of num_segments=4'):
        tcm(torch.zeros(6, 8, 5, 5))


def test_wrong_channel_count():
    tcm = TCM(8, num_segments=4, reduced_channels=4, patch_size=3)
    with pytest.raises(ValueError, match=r'expects 8 channels.*got 16'):
        tcm(torch.zeros(8, 16, 5, 5))
    with pytest.raises(ValueError, match=r'\(N\*T, C, H, W\)'):
        tcm(torch.zeros(2, 4, 8, 5, 5))


def test_backbone_with_wrong_input_channels_names_the_problem():
    backbone = MODELS.build(dict(type='ResNetTSMTCM', depth=18, num_segments=4,
                                 tcm_cfg=dict(patch_size=3, reduced_channels=4)))
    with pytest.raises(RuntimeError, match='expected input.*3 channels'):
        backbone(torch.zeros(4, 1, 32, 32))
    with pytest.raises(ValueError, match=r'multiple of num_segments=4, got shape '
                                         r'\(6, 3, 32, 32\)'):
        backbone(torch.zeros(6, 3, 32, 32))


@pytest.mark.parametrize('patch_size', [2, 14, 0, -3])
def test_even_or_non_positive_patch_size(patch_size):
    with pytest.raises(ValueError, match=f'patch_size.*{patch_size}'):
        TCM(8, num_segments=4, patch_size=patch_size)
    f = torch.zeros(1, 4, 5, 5)
    with pytest.raises(ValueError, match=f'patch_size must be an odd integer.*{patch_size}'):
        correlation(f, f, patch_size)
    with pytest.raises(ValueError, match='patch_size'):
        tempo_match(f, f, patch_size=patch_size)


@pytest.mark.parametrize('num_segments', [1, 0, -2, 2.0, True])
def test_num_segments_below_two_or_not_an_int(num_segments):
    with pytest.raises(ValueError, match=f'num_segments must be an int >= 2, got '
                                         f'{num_segments!r}'):
        TCM(8, num_segments=num_segments)


def test_checkpoint_for_another_num_segments_is_refused():
    """T=8 and T=16 have ECA kernels 3 and 5: loading one into the other must fail loudly,
    also through mmengine's non-strict ``load_checkpoint`` (which only warns about
    shape mismatches otherwise)."""
    assert eca_kernel_size(8) == 3 and eca_kernel_size(16) == 5
    torch.manual_seed(0)
    t8 = TCM(8, num_segments=8, reduced_channels=4, patch_size=3)
    t16 = TCM(8, num_segments=16, reduced_channels=4, patch_size=3)
    with pytest.raises(ValueError, match=r'kernel size 3 .*num_segments=16'):
        t16.load_state_dict(t8.state_dict())
    # a kernel-compatible T (4 -> kernel 3) loads
    t4 = TCM(8, num_segments=4, reduced_channels=4, patch_size=3)
    t4.load_state_dict(t8.state_dict())
    assert torch.equal(t4.tam.temporal_attention.conv.weight,
                       t8.tam.temporal_attention.conv.weight)


def test_backbone_checkpoint_for_another_num_segments_via_load_checkpoint(tmp_path):
    cfg = dict(type='ResNetTSMTCM', depth=18, tcm_cfg=dict(patch_size=3, reduced_channels=4))
    b8 = MODELS.build(dict(cfg, num_segments=8))
    b16 = MODELS.build(dict(cfg, num_segments=16))
    path = str(tmp_path / 'tsm_tcm_8f.pth')
    torch.save({'state_dict': b8.state_dict()}, path)
    with pytest.raises(ValueError, match=r'tcm_after_layer2\..*num_segments=16'):
        load_checkpoint(b16, path, strict=False)


# ------------------------------------------------------------------ videos


@pytest.fixture(scope='module')
def video_dir(tmp_path_factory):
    """Two good videos (labels 0, 1) and bad ones; returns the directory."""
    d = tmp_path_factory.mktemp('videos')
    for i in range(2):
        write_mp4(str(d / f'good_{i}.mp4'), moving_square_frames(1 - 2 * i, i, 8, 32))
    (d / 'empty.mp4').write_bytes(b'')
    (d / 'garbage.mp4').write_bytes(np.random.default_rng(0).bytes(4000))
    good = (d / 'good_0.mp4').read_bytes()
    (d / 'truncated.mp4').write_bytes(good[:len(good) // 2])
    return d


BAD = {'missing.mp4': 'file not found', 'empty.mp4': 'file is empty',
       'garbage.mp4': 'decord cannot open it', 'truncated.mp4': 'decord cannot open it'}


@pytest.mark.parametrize('name', list(BAD))
def test_bad_video_raises_naming_the_file(video_dir, name):
    path = str(video_dir / name)
    with pytest.raises(VideoReadError) as err:
        CheckedDecordInit()(dict(filename=path))
    assert repr(path) in str(err.value) and BAD[name] in str(err.value)
    assert "on_error='skip'" in str(err.value)


@pytest.mark.parametrize('name', list(BAD))
def test_bad_video_skipped_with_a_warning_naming_the_file(video_dir, name):
    path = str(video_dir / name)
    with pytest.warns(SkippedVideoWarning, match=f'{path}.*{BAD[name]}'):
        assert CheckedDecordInit(on_error='skip')(dict(filename=path)) is None


def test_video_without_frames_is_bad(video_dir, monkeypatch):
    from mmaction.datasets.transforms import DecordInit

    def no_frames(self, results):
        results.update(total_frames=0, video_reader=None, avg_fps=8.0)
        return results
    monkeypatch.setattr(DecordInit, 'transform', no_frames)
    with pytest.raises(VideoReadError, match='has no frames'):
        CheckedDecordInit()(dict(filename=str(video_dir / 'good_0.mp4')))


def test_good_video_opens_like_decord_init(video_dir):
    from mmaction.datasets.transforms import DecordInit
    path = str(video_dir / 'good_1.mp4')
    ours = CheckedDecordInit()(dict(filename=path))
    stock = DecordInit()(dict(filename=path))
    assert ours['total_frames'] == stock['total_frames'] == 8
    assert ours['avg_fps'] == stock['avg_fps']
    assert TRANSFORMS.build(dict(type='CheckedDecordInit', on_error='skip')).on_error == 'skip'
    with pytest.raises(ValueError, match="on_error must be one of.*'ignore'"):
        CheckedDecordInit(on_error='ignore')


def _dataset(video_dir, tmp_path, lines, on_error='raise', test_mode=False, num_classes=3):
    ann = tmp_path / 'ann.txt'
    ann.write_text('\n'.join(lines) + '\n')
    pipeline = [dict(type='CheckedDecordInit', on_error=on_error),
                dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=2,
                     test_mode=test_mode),
                dict(type='DecordDecode'),
                dict(type='Resize', scale=(16, 16), keep_ratio=False),
                dict(type='FormatShape', input_format='NCHW'),
                dict(type='PackActionInputs')]
    return DATASETS.build(dict(type='CheckedVideoDataset', ann_file=str(ann),
                               data_prefix=dict(video=str(video_dir)), pipeline=pipeline,
                               num_classes=num_classes, test_mode=test_mode))


def test_dataset_fails_on_a_bad_video_by_default(video_dir, tmp_path):
    ds = _dataset(video_dir, tmp_path, ['good_0.mp4 0', 'garbage.mp4 2'])
    assert ds[0]['inputs'].shape == (2, 3, 16, 16)
    with pytest.raises(VideoReadError, match=str(video_dir / 'garbage.mp4')):
        ds[1]


def test_dataset_skips_bad_videos_in_training_when_asked(video_dir, tmp_path):
    ds = _dataset(video_dir, tmp_path,
                  ['good_0.mp4 0', 'empty.mp4 2', 'good_1.mp4 1', 'missing.mp4 2'],
                  on_error='skip')
    np.random.seed(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        labels = [int(ds[i]['data_samples'].gt_label) for i in (1, 3, 1)]
    assert set(labels) <= {0, 1}  # another, readable sample was drawn instead
    messages = [str(w.message) for w in caught if w.category is SkippedVideoWarning]
    assert any(str(video_dir / 'empty.mp4') in m for m in messages)
    assert any(str(video_dir / 'missing.mp4') in m for m in messages)


def test_dataset_never_skips_at_test_time(video_dir, tmp_path):
    ds = _dataset(video_dir, tmp_path, ['good_0.mp4 0', 'truncated.mp4 1'], on_error='skip',
                  test_mode=True)
    with pytest.warns(SkippedVideoWarning):
        with pytest.raises(VideoReadError, match=r"test sample 1 .*truncated\.mp4.*cannot be "
                                                 r'skipped at test time'):
            ds[1]


# ------------------------------------------------------------------ labels


@pytest.mark.parametrize('bad_label', [3, 7, -1, -5])
def test_label_outside_num_classes_fails_when_the_list_is_loaded(video_dir, tmp_path,
                                                                 bad_label):
    with pytest.raises(ValueError) as err:
        _dataset(video_dir, tmp_path, ['good_0.mp4 0', f'good_1.mp4 {bad_label}'])
    message = str(err.value)
    assert 'ann.txt, line 2 (' in message and 'good_1.mp4' in message
    assert f'label {bad_label} is outside [0, num_classes=3)' in message


def test_labels_inside_num_classes_and_unlabelled_test_lists_load(video_dir, tmp_path):
    ds = _dataset(video_dir, tmp_path, ['good_0.mp4 0', 'good_1.mp4 2'])
    assert [ds.get_data_info(i)['label'] for i in range(2)] == [0, 2]
    unlabelled = _dataset(video_dir, tmp_path, ['good_0.mp4', 'good_1.mp4'], test_mode=True)
    assert [unlabelled.get_data_info(i)['label'] for i in range(2)] == [-1, -1]
    with pytest.raises(ValueError, match='label -1 is outside'):  # but not for training
        _dataset(video_dir, tmp_path, ['good_0.mp4'])


@pytest.mark.parametrize('num_classes', [0, -1, 2.5, None])
def test_num_classes_must_be_a_positive_int(video_dir, tmp_path, num_classes):
    with pytest.raises(ValueError, match=f'num_classes must be an int >= 1, got '
                                         f'{num_classes!r}'):
        _dataset(video_dir, tmp_path, ['good_0.mp4 0'], num_classes=num_classes)


def test_rawframe_dataset_labels_are_checked_too(tmp_path):
    ann = tmp_path / 'frames.txt'
    ann.write_text('clip_a 8 1\nclip_b 8 174\n')
    with pytest.raises(ValueError, match=r'frames\.txt, line 2 \(.*clip_b\): label 174 is '
                                         r'outside \[0, num_classes=174\)'):
        DATASETS.build(dict(type='CheckedRawframeDataset', ann_file=str(ann), pipeline=[],
                            data_prefix=dict(img=str(tmp_path)), num_classes=174))
    ann.write_text('clip_a 8 1\nclip_b 8 173\n')
    ds = DATASETS.build(dict(type='CheckedRawframeDataset', ann_file=str(ann), pipeline=[],
                             data_prefix=dict(img=str(tmp_path)), num_classes=174))
    assert [ds.get_data_info(i)['label'] for i in range(2)] == [1, 173]
