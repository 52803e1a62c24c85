"""Test helpers shared by the suite: paths, parameter counts, one-thread runs, random and
unit-norm tensors, TCM parameter layouts, tiny generated videos, tiny configs (in memory,
as ``--cfg-options`` and as files), a hook that stalls training at a known iteration
(imported by child processes through ``custom_imports=['helpers']``), small recognizers
with reference scores for the deployment tests, and subprocess runs.
"""
import contextlib
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from mmaction.registry import HOOKS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, 'tests')
PY = sys.executable

# ------------------------------------------------------------------- modules and tensors


def n_params(module: torch.nn.Module, skip=()) -> int:
    """Number of parameters of ``module``, leaving out those whose name contains any of
    the substrings in ``skip``."""
    return sum(p.numel() for name, p in module.named_parameters()
               if not any(s in name for s in skip))


@contextlib.contextmanager
def single_thread():
    """One intra-op thread inside the block (small tensors: avoids OpenMP stalls on a
    shared CPU, and makes float reductions reproducible)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def one_thread():
    """Fixture form of :func:`single_thread`. A module applies it to every test with
    ``from helpers import one_thread`` and
    ``pytestmark = pytest.mark.usefixtures('one_thread')``."""
    with single_thread():
        yield


def randn(shape, dtype=torch.float64, seed=0, device='cpu') -> torch.Tensor:
    """Standard normal tensor drawn in float64 from its own generator, then cast."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(device, dtype)


def unit(shape, dtype=torch.float64, seed=0, device='cpu') -> torch.Tensor:
    """:func:`randn` with unit L2 norm over dim 1 (the normalised features TCM matches)."""
    x = randn(shape, torch.float64, seed)
    return (x / x.norm(dim=1, keepdim=True)).to(device, dtype)


RELEASED_TCM_NAMES = {  # our TCM state-dict names -> released ones (inside ``tcm_layer.``)
    'mtdm.channel_reduction.': 'mtdm.chnl_reduction.',
    'tam.temporal_attention.': 'tam.ETA.',
}


def released_params(tcm: torch.nn.Module) -> dict:
    """A TCM's state dict under the released names (the input of ``tcm_reference``)."""
    out = {}
    for key, value in tcm.state_dict().items():
        for ours, theirs in RELEASED_TCM_NAMES.items():
            key = key.replace(ours, theirs)
        out[key] = value
    return out


def randomise_bn_stats(module: torch.nn.Module, seed: int = 0) -> None:
    """Random running statistics and affine parameters for every ``BatchNorm2d`` (so that
    eval-mode BN is not the identity)."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def tcm_param_count(C, T, R=64, use_mtdm=True, use_tam=True):
    """Parameters of a TCM on ``C`` channels for ``T`` frames (MTDM width ``R``; the
    Table VIII variants with ``use_mtdm`` / ``use_tam`` False), counted from the released
    structure: bias-free convs, BN 2 per channel, the ECA conv1d ``k`` weights."""
    from reference_tcm import eca_kernel
    k = eca_kernel(T)
    mtdm = C * R + 2 * R if use_mtdm else C * 6 + 2 * 6
    conv1 = 3 * (6 * 2 * 9 + 2 * 6) + (6 * 16 + 2 * 16)
    stacks = sum(c * 9 + 2 * c + c * o + 2 * o for c, o in ((16, 32), (32, 64), (64, C)))
    tam = conv1 + stacks + k if use_tam else 6 * C + 2 * C
    return mtdm + tam


def native_ops_available() -> bool:
    """Whether the compiled TCM ops load (or build) here."""
    from mmaction_tcm.ops import extension
    return extension.is_available()


def load_weights_only(path):
    """``torch.load(path, weights_only=True)`` on the CPU, with the allow-list of the
    mmengine / numpy types Runner checkpoints hold (the package's safe loader)."""
    from mmaction_tcm.engine import safe_torch_load
    return safe_torch_load(str(path))


# ------------------------------------------------------------------- tiny videos


def moving_square_frames(velocity: int, seed: int, num_frames: int = 12, size=32) -> list:
    """RGB uint8 frames ``(H, W, 3)``: an 8x8 bright square moving ``velocity`` pixels per
    frame to the right (negative: left), wrapping around, over dark noise; start position
    drawn from ``seed``. ``size``: ``S`` or ``(H, W)``."""
    h, w = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    x0, y = int(rng.integers(4, w - 12)), int(rng.integers(4, h - 12))
    frames = []
    for t in range(num_frames):
        frame = rng.integers(0, 50, (h, w, 3), dtype=np.uint8)
        x = (x0 + velocity * t) % (w - 8)
        frame[y:y + 8, x:x + 8] = 230
        frames.append(frame)
    return frames


def make_video_set(video_dir: str, num_videos: int = 6, num_classes: int = 3,
                   frames: int = 12, size=(48, 64), seed: int = 0, velocities=None,
                   name_format: str = 'v{:02d}.mp4', ann_file: str = None) -> str:
    """Write ``num_videos`` small mp4 clips ``video_dir/name_format.format(i)`` and a
    VideoDataset list (lines ``name.mp4 label``, default ``video_dir/list.txt``).

    Video ``i`` has label ``i % num_classes``; class ``c`` moves with ``velocities[c]``
    pixels per frame (default ``2 * (c + 1)``: the classes differ by speed), so the data
    are learnable. Returns the list path.
    """
    from mmaction_tcm.utils import write_mp4
    velocities = velocities or [2 * (c + 1) for c in range(num_classes)]
    lines = []
    for i in range(num_videos):
        label = i % num_classes
        name = name_format.format(i)
        write_mp4(os.path.join(video_dir, name),
                  moving_square_frames(velocities[label], seed * 1000 + i, frames, size), fps=8)
        lines.append(f'{name} {label}')
    ann_file = ann_file or os.path.join(video_dir, 'list.txt')
    with open(ann_file, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return ann_file


def write_video_set(root: str, name: str, count: int, seed: int) -> str:
    """``count`` 32x32 videos ``root/videos/{name}_{i}.mp4`` whose two classes differ by
    direction (0 = right, 1 = left) and their list ``root/{name}.txt`` (returned)."""
    return make_video_set(os.path.join(root, 'videos'), count, 2, 12, 32, seed, (1, -1),
                          name + '_{}.mp4', os.path.join(root, f'{name}.txt'))


# ------------------------------------------------------------------- tiny configs

def _pipeline_options(prefix: str, pipeline, frames: int, px: int) -> list:
    """``--cfg-options`` entries putting ``pipeline`` (at ``prefix``) at ``frames`` frames
    and ``px``-pixel crops, whatever its layout: samplers, resizes (a resize to the crop,
    224x224, becomes ``px`` square; the others ``1.25 px`` wide, ``px`` high, no aspect
    ratio kept) and crops are found by type."""
    crop_key = {'MultiScaleCrop': 'input_size', 'RandomResizedCrop': None,
                'CenterCrop': 'crop_size', 'ThreeCrop': 'crop_size', 'TenCrop': 'crop_size'}
    opts = []
    for i, step in enumerate(pipeline):
        at, kind = f'{prefix}.{i}', step['type']
        if kind in ('SampleFrames', 'UniformSample'):
            key = 'num_clips' if kind == 'SampleFrames' else 'clip_len'
            opts.append(f'{at}.{key}={frames}')
        elif kind == 'SampleSegmentViews':
            opts.append(f'{at}.num_segments={frames}')
        elif kind == 'Resize':
            scale = (px, px) if tuple(step['scale']) == (224, 224) else (px + px // 4, px)
            opts += [f'{at}.scale=({scale[0]},{scale[1]})', f'{at}.keep_ratio=False']
        elif crop_key.get(kind):
            opts.append(f'{at}.{crop_key[kind]}={px}')
    return opts


def tiny_video_options(config, data_root: str, ann: str, work_dir: str, frames: int = 4,
                       px: int = 32, epochs: int = 1, depth: int = 18,
                       num_classes: int = None) -> list:
    """``--cfg-options`` turning a 2-D VideoDataset recognition config (a path or a loaded
    ``Config``: ours or a stock MMAction2 one) into a seconds-long CPU run on the list
    ``ann`` of videos in ``data_root``: ResNet-``depth`` without ImageNet weights, one TCM
    with a 3x3 window on the PyTorch path, ``frames`` segments, ``px``-pixel crops, batch 2
    without workers, ``epochs`` epochs, seed 0; ``num_classes``: the head's and the
    datasets' class count (default: the config's)."""
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    in_ch = 512 if depth in (18, 34) else 2048
    opts = [
        f'model.backbone.depth={depth}', f'model.cls_head.in_channels={in_ch}',
        f'model.backbone.num_segments={frames}', f'model.cls_head.num_segments={frames}',
        'model.backbone.pretrained=None',
        'model.backbone.tcm_cfg.patch_size=3', 'model.backbone.tcm_cfg.corr_backend=pytorch',
        f'train_cfg.max_epochs={epochs}', 'default_hooks.logger.interval=1',
        'auto_scale_lr.enable=False', 'randomness.seed=0',
        f'work_dir={work_dir}', 'load_from=None']
    if num_classes is not None:
        opts.append(f'model.cls_head.num_classes={num_classes}')
    for split in ('train', 'val', 'test'):
        loader = f'{split}_dataloader'
        opts += [f'{loader}.dataset.ann_file={ann}',
                 f'{loader}.dataset.data_prefix.video={data_root}',
                 f'{loader}.num_workers=0', f'{loader}.persistent_workers=False',
                 f'{loader}.batch_size=2']
        if num_classes is not None and 'num_classes' in cfg[loader].dataset:
            opts.append(f'{loader}.dataset.num_classes={num_classes}')
        opts += _pipeline_options(f'{loader}.dataset.pipeline', cfg[loader].dataset.pipeline,
                                  frames, px)
    return opts


def options_dict(options: list) -> dict:
    """``key=value`` strings parsed as ``--cfg-options`` parses them."""
    import argparse

    from mmengine.config import DictAction
    parsed = argparse.Namespace()
    DictAction(option_strings=[], dest='options')(None, parsed, options)
    return parsed.options


def point_config_at(cfg, ann, root, work_dir, num_segments=4, num_classes=3):
    """Edit a loaded 2-D recognition config in place as :func:`tiny_video_options` does,
    with ``num_classes`` classes, no LR schedule and deterministic algorithms."""
    cfg.merge_from_dict(options_dict(tiny_video_options(
        cfg, root, ann, str(work_dir), frames=num_segments, num_classes=num_classes)))
    cfg.param_scheduler = []
    cfg.randomness = dict(seed=0, deterministic=True)
    return cfg


TINY_SEGMENTS = 4
TINY_SIZE = 32


def write_tiny_config(path: str, data_root: str, train_ann: str, val_ann: str,
                      max_epochs: int = 3, dropout: float = 0.5) -> str:
    """A config file on top of ``configs/_base_/default_runtime.py``: TSM-R18 with one TCM,
    dropout and random crop / flip (so resuming must restore the RNG state), seed 0,
    deterministic, checkpoint and validation every epoch; videos under
    ``data_root/videos`` (as :func:`write_video_set` writes them). Returns ``path``."""
    base = os.path.join(ROOT, 'configs', '_base_', 'default_runtime.py')
    T, S = TINY_SEGMENTS, TINY_SIZE
    videos = os.path.join(data_root, 'videos')
    text = f'''
    _base_ = [{base!r}]
    model = dict(
        type='Recognizer2D',
        backbone=dict(type='ResNetTSMTCM', depth=18, num_segments={T},
                      norm_eval=False, tcm_cfg=dict(patch_size=3, reduced_channels=8)),
        cls_head=dict(type='TSMHead', num_classes=2, in_channels=512,
                      num_segments={T}, dropout_ratio={dropout},
                      average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor', mean=[128.] * 3,
                               std=[64.] * 3, format_shape='NCHW'))
    train_pipeline = [
        dict(type='CheckedDecordInit'),
        dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips={T}),
        dict(type='DecordDecode'),
        dict(type='RandomResizedCrop', area_range=(0.6, 1.0)),
        dict(type='Resize', scale=({S}, {S}), keep_ratio=False),
        dict(type='Flip', flip_ratio=0.5),
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='PackActionInputs')]
    val_pipeline = [
        dict(type='CheckedDecordInit'),
        dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips={T},
             test_mode=True),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=({S}, {S}), keep_ratio=False),
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='PackActionInputs')]
    train_dataloader = dict(
        batch_size=2, num_workers=0, persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True),
        dataset=dict(type='CheckedVideoDataset', ann_file={train_ann!r}, num_classes=2,
                     data_prefix=dict(video={videos!r}), pipeline=train_pipeline))
    val_dataloader = dict(
        batch_size=2, num_workers=0, persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='CheckedVideoDataset', ann_file={val_ann!r}, num_classes=2,
                     data_prefix=dict(video={videos!r}), pipeline=val_pipeline,
                     test_mode=True))
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


@HOOKS.register_module()
class StallAfterIterHook(Hook):
    """Test hook: after iteration ``iteration`` (1-based) of epoch ``epoch`` write ``marker``
    (the work-dir listing) and stall, so that a test can kill the process at a known point
    of training. It draws no random numbers, so the computation is that of the run without
    it."""

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
    """``base_config`` plus :class:`StallAfterIterHook` (this module added to its
    ``custom_imports``, the hook to its ``custom_hooks``)."""
    base = Config.fromfile(base_config)
    imports = list(base.custom_imports['imports']) + ['helpers']
    hooks = [dict(h) for h in base.get('custom_hooks', [])] + [
        dict(type='StallAfterIterHook', epoch=epoch, iteration=iteration, marker=marker)]
    text = f'''
    _base_ = [{base_config!r}]
    custom_imports = dict(imports={imports!r}, allow_failed_imports=False)
    custom_hooks = {hooks!r}
    '''
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))
    return path


# ------------------------------------------------------------------- deployment comparisons
# Small real-config recognizers with random weights (CPU) and their reference scores.

NUM_CLASSES = 7


def small_config(name: str, **backbone) -> Config:
    """``configs/<name>.py`` with ``NUM_CLASSES`` classes and backbone overrides."""
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', f'{name}.py'))
    cfg.model.cls_head.num_classes = NUM_CLASSES
    cfg.model.backbone.update(backbone)
    return cfg


def randomise(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-trivial BN statistics and a head whose logits spread (the configs' init gives
    near-identical ones); in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
        fc = model.cls_head.fc_cls
        fc.weight.copy_(torch.randn(fc.weight.shape, generator=gen) * 0.5)
    return model.eval()


def build(cfg: Config) -> torch.nn.Module:
    from mmaction.apis import init_recognizer
    return randomise(init_recognizer(cfg, None, device='cpu'))


def save_checkpoint(model: torch.nn.Module, path: str) -> str:
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def reference_scores(model, clips: torch.Tensor) -> torch.Tensor:
    """Scores computed directly from the recognizer's parts (independent of the export
    wrapper): preprocessor mean/std, backbone, head."""
    pre = model.data_preprocessor
    with torch.no_grad():
        if clips.shape[2] == 3:  # (N, T, 3, H, W)
            n, t = clips.shape[:2]
            x = (clips.reshape(n * t, *clips.shape[2:]) - pre.mean) / pre.std
            return model.cls_head(model.backbone(x), num_segs=t)
        x = (clips - pre.mean) / pre.std        # (N, 3, T, H, W), mean (3, 1, 1, 1)
        return model.cls_head(model.backbone(x))


def random_clips(n: int, clip_shape, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand((n,) + tuple(clip_shape), generator=gen) * 255


def assert_close_scores(got: torch.Tensor, ref: torch.Tensor, rel: float = 1e-4) -> None:
    """max |got - ref| <= rel * max |ref| and the same top-1 for every clip."""
    scale = float(ref.abs().max())
    diff = float((got - ref).abs().max())
    assert diff <= rel * scale, f'max abs diff {diff:.3g} > {rel} x logit scale {scale:.3g}'
    assert torch.equal(got.argmax(1), ref.argmax(1))


# ------------------------------------------------------------------- subprocesses


def subprocess_env(**extra: str) -> dict:
    """Environment for child processes: one thread (bit-reproducible, and the CPU is
    shared), unbuffered output, the checkout and ``tests/`` first on the path; ``extra``
    entries override."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1',
               PYTHONPATH=os.pathsep.join([ROOT, TESTS, env.get('PYTHONPATH', '')]))
    env.update(extra)
    return env


def run(cmd, cwd=ROOT, timeout=300, env=None):
    """Run ``cmd`` in :func:`subprocess_env` (plus ``env``, warnings off); on failure
    raise with the tail of its output."""
    full_env = subprocess_env(PYTHONWARNINGS='ignore', **(env or {}))
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=full_env)
    if proc.returncode != 0:
        raise AssertionError(f'command failed ({proc.returncode}): {" ".join(map(str, cmd))}\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


def train_command(config: str, work_dir: str, *extra: str) -> list:
    """``tools/train.py CONFIG --work-dir WORK_DIR [extra...]``."""
    return [PY, os.path.join(ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir,
            *extra]


def build_site(dest: str) -> str:
    """Build and install this checkout (non-editable, as ``make install``) into ``dest``
    with ``pip --target``; returns ``dest`` (put it on PYTHONPATH)."""
    import shutil
    src = os.path.join(dest + '_src')
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', 'build', '*.so', '.mim',
                                    'work_dirs', '*.egg-info')
    os.makedirs(src, exist_ok=True)
    for d in ('mmaction_tcm', 'configs', 'tools', 'ops'):
        if os.path.isdir(os.path.join(ROOT, d)):
            shutil.copytree(os.path.join(ROOT, d), os.path.join(src, d), ignore=ignore)
    for f in ('setup.py', 'setup.cfg', 'pyproject.toml', 'README.md', 'model-index.yml',
              'metafile.yml', 'MANIFEST.in'):
        if os.path.exists(os.path.join(ROOT, f)):
            shutil.copy2(os.path.join(ROOT, f), src)
    run([PY, '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation',
         '--target', dest, src])
    return dest


_SHARED = {}


def shared_trained_run(tmp_path_factory) -> dict:
    """Once per session: tiny mp4 data, a 1-epoch ``tools/train.py`` run of
    ``configs/tcm_r50_sthv2.py`` and a 1-process ``tools/test.py --dump`` of it.

    Returns paths: ``data``, ``ann``, ``ckpt``, ``dump1``, ``base`` and ``opts`` (the tiny
    overrides).
    """
    if _SHARED:
        return _SHARED
    base = tmp_path_factory.mktemp('tools_shared')
    data = str(base / 'data')
    ann = make_video_set(data)
    work = str(base / 'train')
    opts = tiny_video_options(os.path.join(ROOT, 'configs', 'tcm_r50_sthv2.py'), data, ann,
                              work)
    run([PY, 'tools/train.py', 'configs/tcm_r50_sthv2.py', '--cfg-options'] + opts)
    ckpt = os.path.join(work, 'epoch_1.pth')
    dump1 = str(base / 'one_proc.pkl')
    run([PY, 'tools/test.py', 'configs/tcm_r50_sthv2.py', ckpt, '--dump', dump1,
         '--cfg-options'] + opts + [f'work_dir={base / "test1"}'])
    _SHARED.update(data=data, ann=ann, ckpt=ckpt, dump1=dump1, opts=opts, base=str(base))
    return _SHARED
