"""Tiny videos, annotation files and a tiny TSM-R18+TCM config for the reliability tests."""
import os
import sys
import textwrap
import time

import numpy as np
from mmengine.hooks import Hook

from mmaction.registry import HOOKS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_SEGMENTS = 4
SIZE = 32


def moving_square_frames(direction: int, seed: int, num_frames: int = 12, size: int = SIZE):
    """RGB uint8 frames: a bright square moving right (+1) or left (-1) over noise."""
    rng = np.random.default_rng(seed)
    frames = []
    start = rng.integers(4, size - 12)
    y = rng.integers(4, size - 12)
    for t in range(num_frames):
        frame = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
        x = int(np.clip(start + direction * t, 0, size - 8))
        frame[y:y + 8, x:x + 8] = 230
        frames.append(frame)
    return frames


def write_video_set(root: str, name: str, count: int, seed: int) -> str:
    """``count`` videos (labels alternate 0 = right, 1 = left) and their annotation file.

    Returns the annotation file path; videos are ``root/videos/{name}_{i}.mp4``.
    """
    from mmaction_tcm.utils import write_mp4
    lines = []
    for i in range(count):
        label = i % 2
        rel = f'{name}_{i}.mp4'
        write_mp4(os.path.join(root, 'videos', rel),
                  moving_square_frames(1 if label == 0 else -1, seed * 1000 + i), fps=8)
        lines.append(f'{rel} {label}')
    ann = os.path.join(root, f'{name}.txt')
    with open(ann, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return ann


def write_tiny_config(path: str, data_root: str, train_ann: str, val_ann: str,
                      max_epochs: int = 3, dropout: float = 0.5) -> str:
    """A config on top of ``configs/_base_/default_runtime.py``: TSM-R18 with one TCM,
    dropout and random crop / flip (so resuming must restore the RNG state), seed 0,
    deterministic, checkpoint every epoch, validation every epoch."""
    base = os.path.join(ROOT, 'configs', '_base_', 'default_runtime.py')
    text = f'''
    _base_ = [{base!r}]
    model = dict(
        type='Recognizer2D',
        backbone=dict(type='ResNetTSMTCM', depth=18, num_segments={NUM_SEGMENTS},
                      norm_eval=False, tcm_cfg=dict(patch_size=3, reduced_channels=8)),
        cls_head=dict(type='TSMHead', num_classes=2, in_channels=512,
                      num_segments={NUM_SEGMENTS}, dropout_ratio={dropout},
                      average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor', mean=[128.] * 3,
                               std=[64.] * 3, format_shape='NCHW'))
    train_pipeline = [
        dict(type='CheckedDecordInit'),
        dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips={NUM_SEGMENTS}),
        dict(type='DecordDecode'),
        dict(type='RandomResizedCrop', area_range=(0.6, 1.0)),
        dict(type='Resize', scale=({SIZE}, {SIZE}), keep_ratio=False),
        dict(type='Flip', flip_ratio=0.5),
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='PackActionInputs')]
    val_pipeline = [
        dict(type='CheckedDecordInit'),
        dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips={NUM_SEGMENTS},
             test_mode=True),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=({SIZE}, {SIZE}), keep_ratio=False),
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='PackActionInputs')]
    train_dataloader = dict(
        batch_size=2, num_workers=0, persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True),
        dataset=dict(type='CheckedVideoDataset', ann_file={train_ann!r}, num_classes=2,
                     data_prefix=dict(video={os.path.join(data_root, 'videos')!r}),
                     pipeline=train_pipeline))
    val_dataloader = dict(
        batch_size=2, num_workers=0, persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='CheckedVideoDataset', ann_file={val_ann!r}, num_classes=2,
                     data_prefix=dict(video={os.path.join(data_root, 'videos')!r}),
                     pipeline=val_pipeline, test_mode=True))
    test_dataloader = val_dataloader
    val_evaluator = dict(type='AccMetric')
    test_evaluator = val_evaluator
    train_cfg = dict(type='EpochBasedTrainLoop', max_epochs={max_epochs}, val_begin=1,
                     val_interval=1)
    val_cfg = dict(type='ValLoop')
    test_cfg = dict(type='TestLoop')
    optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9,
                                        weight_decay=1e-4),
                         clip_grad=dict(max_norm=5))
    param_scheduler = [dict(type='MultiStepLR', begin=0, end={max_epochs}, by_epoch=True,
                            milestones=[2], gamma=0.1)]
    default_hooks = dict(logger=dict(interval=1),
                         checkpoint=dict(interval=1, max_keep_ckpts=10, save_best=None))
    randomness = dict(seed=0, deterministic=True)
    '''
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))
    return path


def subprocess_env() -> dict:
    """Environment for child training processes: one thread (bit-reproducible, and the
    CPU is shared), unbuffered output, the checkout and this folder first on the path."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1',
               PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, 'tests'),
                                           env.get('PYTHONPATH', '')]))
    return env


@HOOKS.register_module()
class StallAfterIterHook(Hook):
    """Test hook: after iteration ``iteration`` (1-based) of epoch ``epoch`` write ``marker``
    and stall, so that a test can kill the process at a known point of training. It draws
    no random numbers, so the computation is that of the run without it."""

    def __init__(self, epoch: int, iteration: int, marker: str):
        self.epoch, self.iteration, self.marker = epoch, iteration, marker

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.epoch + 1 == self.epoch and batch_idx + 1 == self.iteration:
            with open(self.marker + '.tmp', 'w') as f:
                f.write(' '.join(sorted(os.listdir(runner.work_dir))))
            os.replace(self.marker + '.tmp', self.marker)
            time.sleep(600)


def write_stalling_config(path: str, base_config: str, epoch: int, iteration: int,
                          marker: str) -> str:
    """``base_config`` plus :class:`StallAfterIterHook` (imported from this module)."""
    text = f'''
    _base_ = [{base_config!r}]
    custom_imports = dict(imports=['mmaction_tcm', 'reliability_utils'],
                          allow_failed_imports=False)
    custom_hooks = [dict(type='RNGStateHook'),
                    dict(type='StallAfterIterHook', epoch={epoch}, iteration={iteration},
                         marker={marker!r})]
    '''
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))
    return path


def train_command(config: str, work_dir: str, *extra: str) -> list:
    return [sys.executable, os.path.join(ROOT, 'tools', 'train.py'), config,
            '--work-dir', work_dir, *extra]
