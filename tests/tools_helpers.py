"""Tiny generated video data sets and config overrides for the end-to-end tool tests."""
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


def make_video_set(root: str, num_videos: int = 6, num_classes: int = 3, frames: int = 12,
                   size=(48, 64), seed: int = 0) -> str:
    """Write ``num_videos`` small mp4 clips and a VideoDataset list ``root/list.txt``.

    Class ``c`` videos show a bright square moving with a class-dependent speed, so the data
    are learnable; returns the list path (lines ``name.mp4 label``).
    """
    from mmaction_tcm.utils import write_mp4
    rng = np.random.default_rng(seed)
    h, w = size
    lines = []
    for i in range(num_videos):
        label = i % num_classes
        clip = []
        for t in range(frames):
            img = rng.integers(0, 40, size=(h, w, 3), dtype=np.uint8)
            x = (4 + t * (label + 1) * 2) % (w - 8)
            img[h // 2 - 4:h // 2 + 4, x:x + 8] = 230
            clip.append(img)
        name = f'v{i:02d}.mp4'
        write_mp4(os.path.join(root, name), clip, fps=8)
        lines.append(f'{name} {label}')
    ann = os.path.join(root, 'list.txt')
    with open(ann, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return ann


def tiny_video_options(data_root: str, ann: str, work_dir: str, frames: int = 4,
                       px: int = 32, epochs: int = 1, depth: int = 18,
                       stock_test_sampler: bool = False) -> list:
    """``--cfg-options`` turning a VideoDataset config (sthv2 / k400 / ucf / hmdb, our
    pipeline layout) into a seconds-long CPU run: ResNet-``depth``, ``frames`` segments,
    ``px``-pixel crops, one worker-less loader per split, ``epochs`` epochs.
    ``stock_test_sampler``: the test pipeline samples with MMAction2's ``SampleFrames``
    (stock MMAction2 configs) instead of our ``SampleSegmentViews``."""
    in_ch = 512 if depth in (18, 34) else 2048
    big = px + px // 4
    opts = [
        f'model.backbone.depth={depth}', f'model.cls_head.in_channels={in_ch}',
        f'model.backbone.num_segments={frames}', f'model.cls_head.num_segments={frames}',
        'model.backbone.pretrained=None',
        'model.backbone.tcm_cfg.patch_size=3', 'model.backbone.tcm_cfg.corr_backend=pytorch',
        f'train_cfg.max_epochs={epochs}', 'default_hooks.logger.interval=1',
        'auto_scale_lr.enable=False', 'randomness.seed=0',
        f'work_dir={work_dir}', 'load_from=None',
        # train: DecordInit, SampleFrames, DecordDecode, Resize, MultiScaleCrop, Resize, ...
        f'train_dataloader.dataset.pipeline.1.num_clips={frames}',
        f'train_dataloader.dataset.pipeline.3.scale=({big},{px})',
        'train_dataloader.dataset.pipeline.3.keep_ratio=False',
        f'train_dataloader.dataset.pipeline.4.input_size={px}',
        f'train_dataloader.dataset.pipeline.5.scale=({px},{px})',
        # val: DecordInit, SampleFrames, DecordDecode, Resize, CenterCrop, ...
        f'val_dataloader.dataset.pipeline.1.num_clips={frames}',
        f'val_dataloader.dataset.pipeline.3.scale=({big},{px})',
        'val_dataloader.dataset.pipeline.3.keep_ratio=False',
        f'val_dataloader.dataset.pipeline.4.crop_size={px}',
        # test: DecordInit, SampleSegmentViews, DecordDecode, Resize, CenterCrop, ...
        (f'test_dataloader.dataset.pipeline.1.num_clips={frames}' if stock_test_sampler else
         f'test_dataloader.dataset.pipeline.1.num_segments={frames}'),
        f'test_dataloader.dataset.pipeline.3.scale=({big},{px})',
        'test_dataloader.dataset.pipeline.3.keep_ratio=False',
        f'test_dataloader.dataset.pipeline.4.crop_size={px}',
    ]
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.ann_file={ann}',
                 f'{split}_dataloader.dataset.data_prefix.video={data_root}',
                 f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False',
                 f'{split}_dataloader.batch_size=2']
    return opts


def run(cmd, cwd=ROOT, timeout=300, env=None):
    """Run ``cmd``; on failure raise with the tail of its output."""
    full_env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    full_env.update(env or {})
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=full_env)
    if proc.returncode != 0:
        raise AssertionError(f'command failed ({proc.returncode}): {" ".join(map(str, cmd))}\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


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

    Returns paths: ``data``, ``ann``, ``ckpt``, ``dump1`` and ``opts`` (the tiny overrides).
    """
    if _SHARED:
        return _SHARED
    base = tmp_path_factory.mktemp('tools_shared')
    data = str(base / 'data')
    ann = make_video_set(data)
    work = str(base / 'train')
    opts = tiny_video_options(data, ann, work)
    run([PY, 'tools/train.py', 'configs/tcm_r50_sthv2.py', '--cfg-options'] + opts)
    ckpt = os.path.join(work, 'epoch_1.pth')
    dump1 = str(base / 'one_proc.pkl')
    run([PY, 'tools/test.py', 'configs/tcm_r50_sthv2.py', ckpt, '--dump', dump1,
         '--cfg-options'] + opts + [f'work_dir={base / "test1"}'])
    _SHARED.update(data=data, ann=ann, ckpt=ckpt, dump1=dump1, opts=opts, base=str(base))
    return _SHARED
