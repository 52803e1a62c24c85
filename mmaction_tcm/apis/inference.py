"""Inference on videos, frame arrays and open ``cv2.VideoCapture`` streams, and
sliding-window scoring of long videos -- a thin layer over MMAction2's
``init_recognizer`` / ``inference_recognizer``.

``model`` is anything ``inference_recognizer`` accepts: a recognizer from
``init_recognizer`` (PyTorch) or a :class:`mmaction_tcm.deploy.ExportedRecognizer`
(onnxruntime / AOTInductor). Frames given as arrays are RGB ``uint8`` ``(H, W, 3)``; they go
through the config's test pipeline with its file-decoding steps replaced by MMAction2's
``ArrayDecode`` (sampling, resize and crop are the config's).
"""
import collections
import copy
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmaction.apis import inference_recognizer as _mmaction_inference
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

# file readers: ``*Init`` (DecordInit, OpenCVInit, PyAVInit, CheckedDecordInit, ...) open the
# file, ``*Decode`` (DecordDecode, RawFrameDecode, ...) read the sampled frames


def _is_init(step: dict) -> bool:
    return str(step['type']).endswith('Init')


def _is_decode(step: dict) -> bool:
    return str(step['type']).endswith('Decode')

VideoLike = Union[str, Path, np.ndarray, Sequence[np.ndarray], 'cv2.VideoCapture']


def frames_pipeline(test_pipeline: Sequence[dict]) -> List[dict]:
    """The config's test pipeline for in-memory frames: the file-opening ``*Init`` steps
    dropped, the ``*Decode`` step replaced by ``ArrayDecode``."""
    steps = [copy.deepcopy(dict(s)) for s in test_pipeline if not _is_init(s)]
    decode = [i for i, s in enumerate(steps) if _is_decode(s)]
    if len(decode) != 1:
        raise ValueError(f'the test pipeline must have exactly one decoding step (a *Decode '
                         f'transform), found {[steps[i]["type"] for i in decode]}')
    steps[decode[0]] = dict(type='ArrayDecode')
    return steps


def _is_capture(video) -> bool:
    try:
        import cv2
    except ImportError:
        return False
    return isinstance(video, cv2.VideoCapture)


def iter_frames(video: VideoLike) -> Iterator[np.ndarray]:
    """RGB ``uint8`` ``(H, W, 3)`` frames of a path, an array ``(T, H, W, 3)``, a list of
    frames or an open ``cv2.VideoCapture`` (read from its current position, BGR -> RGB)."""
    if isinstance(video, (str, Path)):
        import cv2
        capture = cv2.VideoCapture(str(video))
        if not capture.isOpened():
            raise FileNotFoundError(f'cannot open video {str(video)!r}')
        try:
            yield from iter_frames(capture)
        finally:
            capture.release()
        return
    if _is_capture(video):
        import cv2
        if not video.isOpened():
            raise ValueError('the cv2.VideoCapture is not open')
        while True:
            ok, frame = video.read()
            if not ok:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    if isinstance(video, np.ndarray):
        if video.ndim != 4 or video.shape[-1] != 3:
            raise ValueError(f'a frame array must be (T, H, W, 3) RGB, got shape '
                             f'{video.shape}')
        yield from video
        return
    if isinstance(video, (list, tuple)):
        for i, frame in enumerate(video):
            frame = np.asarray(frame)
            if frame.ndim != 3 or frame.shape[-1] != 3:
                raise ValueError(f'frame {i} must be (H, W, 3) RGB, got shape {frame.shape}')
            yield frame
        return
    raise TypeError(f'video must be a path, an (T, H, W, 3) array, a list of (H, W, 3) '
                    f'frames or a cv2.VideoCapture, got {type(video).__name__}')


def read_frames(video: VideoLike) -> np.ndarray:
    """All frames of ``video`` as one ``(T, H, W, 3)`` RGB array."""
    frames = list(iter_frames(video))
    if not frames:
        raise ValueError('the video has no frames')
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise ValueError(f'frames differ in size: {sorted(shapes)}')
    return np.stack(frames)


def _pipeline(model, test_pipeline):
    if test_pipeline is not None:
        return test_pipeline
    init_default_scope(model.cfg.get('default_scope', 'mmaction'))
    return Compose(frames_pipeline(model.cfg.test_pipeline))


def inference_recognizer(model, video: VideoLike, test_pipeline: Optional[Compose] = None):
    """Score one video; returns MMAction2's ``ActionDataSample`` (``pred_score``).

    A path goes to MMAction2's ``inference_recognizer`` unchanged (the config's decoder);
    arrays, frame lists and ``cv2.VideoCapture`` objects are decoded here and run through
    the test pipeline with ``ArrayDecode`` (``test_pipeline`` overrides it).
    """
    if isinstance(video, (str, Path)):
        if not Path(video).is_file():
            raise FileNotFoundError(f'video not found: {str(video)!r}')
        return _mmaction_inference(model, str(video), test_pipeline)
    return score_frames(model, read_frames(video), _pipeline(model, test_pipeline))


def score_frames(model, frames: np.ndarray, pipeline: Compose):
    data = dict(array=frames, total_frames=len(frames), start_index=0, label=-1,
                modality='RGB')
    return _mmaction_inference(model, data, pipeline)


def inference_sliding_window(model, video: VideoLike, window: int,
                             stride: Optional[int] = None,
                             test_pipeline: Optional[Compose] = None) -> dict:
    """Score a long video window by window.

    Windows of ``window`` consecutive frames start every ``stride`` frames (default:
    ``window``, no overlap); each goes through the test pipeline like a short video. When
    the last window stops before the end, one more window ends at the last frame; a video
    shorter than ``window`` is one window.

    Returns:
        ``dict(windows=[dict(start, stop, scores)], scores=average over windows)``;
        ``scores`` are ``(num_classes,)`` tensors (``pred_score``), ``stop`` is exclusive.
    """
    for name, value in (('window', window), ('stride', window if stride is None else stride)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f'{name} must be an int >= 1, got {value!r}')
    stride = window if stride is None else stride
    pipeline = _pipeline(model, test_pipeline)
    buffer = collections.deque(maxlen=window)
    windows, seen, last_stop = [], 0, 0
    for frame in iter_frames(video):
        buffer.append(frame)
        seen += 1
        start = seen - window
        if start >= 0 and start % stride == 0:
            windows.append(_score_window(model, buffer, start, seen, pipeline))
            last_stop = seen
    if seen == 0:
        raise ValueError('the video has no frames')
    if last_stop < seen:  # the tail (or the whole of a short video)
        windows.append(_score_window(model, buffer, max(seen - window, 0), seen, pipeline))
    average = torch.stack([w['scores'] for w in windows]).mean(dim=0)
    return dict(windows=windows, scores=average)


def _score_window(model, frames: Iterable[np.ndarray], start: int, stop: int,
                  pipeline: Compose) -> dict:
    result = score_frames(model, np.stack(list(frames)), pipeline)
    return dict(start=start, stop=stop, scores=result.pred_score.detach().cpu())
