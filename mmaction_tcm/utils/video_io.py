"""Writing small mp4 files (tests, generated data sets)."""
import os
from typing import Iterable

import numpy as np


def write_mp4(path: str, frames: Iterable[np.ndarray], fps: float = 8.0) -> str:
    """Write RGB ``uint8`` frames ``(H, W, 3)`` to an MPEG-4 file decodable by decord.

    The file is written to a temporary name and renamed, so a crash never leaves a
    truncated video behind. Returns ``path``.
    """
    import cv2
    frames = list(frames)
    if not frames:
        raise ValueError('frames must hold at least one frame')
    h, w = frames[0].shape[:2]
    for i, f in enumerate(frames):
        if f.shape != (h, w, 3) or f.dtype != np.uint8:
            raise ValueError(f'frames[{i}] must be uint8 of shape {(h, w, 3)}, got '
                             f'{f.dtype} {f.shape}')
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}.mp4'
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV could not open an mp4 writer for {path!r}')
    try:
        for f in frames:
            writer.write(np.ascontiguousarray(f[..., ::-1]))  # RGB -> BGR
    finally:
        writer.release()
    os.replace(tmp, path)
    return path
