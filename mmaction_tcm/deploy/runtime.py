"""Run exported models (ONNX in onnxruntime, AOTInductor ``.pt2``) with input checks, and
behind MMAction2's recognizer interface so ``inference_recognizer`` drives them too.

- :func:`load_exported`: ``.onnx`` / ``.pt2`` file -> :class:`ExportedModel`, a callable
  ``clips -> scores`` that checks the layout and frame count before running.
- :class:`ExportedRecognizer`: an exported model plus the config it came from; has the
  ``cfg`` and ``test_step`` that ``mmaction.apis.inference_recognizer`` uses.
"""
import json
import os
from typing import Dict, List, Optional

import numpy as np
import torch

from .clip_model import LAYOUT_2D, layout_description
from .export import METADATA_PREFIX
from .native_ops import try_load_native_ops


class ModelFileError(RuntimeError):
    """An exported model file that cannot be loaded (missing, corrupt, not ours)."""


def _parse_metadata(raw: Dict[str, str], path: str) -> dict:
    meta = {k[len(METADATA_PREFIX):]: json.loads(v) for k, v in raw.items()
            if k.startswith(METADATA_PREFIX)}
    missing = {'layout', 'clip_shape', 'dynamic_clips', 'batch', 'num_classes'} - set(meta)
    if missing:
        raise ModelFileError(f'{path} was not written by mmaction_tcm export (metadata '
                             f'{sorted(missing)} missing); export it with '
                             f'tools/deployment/export.py')
    return meta


def ensure_native_ops() -> None:
    """Load mmaction_tcm's native op library into this process (needed by .pt2 packages
    that call ``torch.ops.mmaction_tcm.*``)."""
    reason = try_load_native_ops()
    if reason is not None:
        raise ModelFileError(f'this package calls the native mmaction_tcm ops, which cannot '
                             f'be loaded in this process: {reason}')


class ExportedModel:
    """``clips -> scores`` for one exported file (see :mod:`.clip_model` for the contract).

    Attributes:
        layout: ``'NTCHW'`` (2-D models) or ``'NCTHW'`` (3-D).
        clip_shape: shape of one clip, e.g. ``(8, 3, 224, 224)``.
        dynamic_clips: whether ``N`` may vary; otherwise it must equal ``batch``.
    """

    def __init__(self, path: str, meta: dict, run):
        self.path = path
        self.meta = meta
        self.layout = meta['layout']
        self.clip_shape = tuple(meta['clip_shape'])
        self.dynamic_clips = bool(meta['dynamic_clips'])
        self.batch = int(meta['batch'])
        self.num_classes = int(meta['num_classes'])
        self._run = run

    @property
    def num_frames(self) -> int:
        return self.clip_shape[0] if self.layout == LAYOUT_2D else self.clip_shape[1]

    def check_input(self, clips) -> None:
        """Raise ``ValueError`` naming the expected layout, frame count and size."""
        shape = tuple(clips.shape)
        want = layout_description(self.layout)
        expect = ('N' if self.dynamic_clips else str(self.batch),) + self.clip_shape
        text = f'({", ".join(str(d) for d in expect)})'
        if len(shape) != 5:
            raise ValueError(f'{self.path}: clips must be 5-D {want} = {text}, got shape '
                             f'{shape}')
        t_axis = 1 if self.layout == LAYOUT_2D else 2
        c_axis = 2 if self.layout == LAYOUT_2D else 1
        if shape[c_axis] != 3:
            raise ValueError(f'{self.path}: clips must be laid out {want} with 3 RGB channels '
                             f'on axis {c_axis}, got shape {shape} (expected {text})')
        if shape[t_axis] != self.num_frames:
            raise ValueError(f'{self.path}: the model was exported for T={self.num_frames} '
                             f'frames per clip, got {shape[t_axis]} (shape {shape}, expected '
                             f'{text}); re-export with --shape {shape[t_axis]} 3 H W')
        if shape[1:] != self.clip_shape:
            raise ValueError(f'{self.path}: clip shape {shape[1:]} does not match the '
                             f'exported {self.clip_shape} {want}')
        if not self.dynamic_clips and shape[0] != self.batch:
            raise ValueError(f'{self.path}: exported for exactly {self.batch} clip(s) (no '
                             f'--dynamic-clips), got {shape[0]}')
        if shape[0] < 1:
            raise ValueError(f'{self.path}: need at least one clip, got shape {shape}')

    def __call__(self, clips) -> torch.Tensor:
        """``clips`` (tensor or array, float32 RGB [0, 255]) -> ``(N, num_classes)`` scores."""
        self.check_input(clips)
        return self._run(clips)


def _load_onnx(path: str, threads: Optional[int]) -> ExportedModel:
    import onnx
    import onnxruntime as ort
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ModelFileError(f'{path} is not a valid ONNX model ({type(exc).__name__}: '
                             f'{exc})') from exc
    meta = _parse_metadata({p.key: p.value for p in model.metadata_props}, path)
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=['CPUExecutionProvider'])
    except Exception as exc:
        raise ModelFileError(f'onnxruntime cannot load {path}: {exc}') from exc
    name = session.get_inputs()[0].name

    def run(clips):
        array = clips.detach().cpu().numpy() if isinstance(clips, torch.Tensor) \
            else np.asarray(clips)
        return torch.from_numpy(session.run(None, {name: array.astype(np.float32)})[0])

    return ExportedModel(path, meta, run)


def _load_pt2(path: str) -> ExportedModel:
    import zipfile
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f'{path} is not an AOTInductor package (not a zip archive: '
                             f'damaged or another format)')
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f'{path} is a damaged AOTInductor package: {exc}') from exc
    if bad is not None:
        raise ModelFileError(f'{path} is a damaged AOTInductor package (bad entry {bad})')
    try:  # before loading: a package that calls our ops resolves them by name
        ensure_native_ops()
        ops_error = None
    except ModelFileError as exc:
        ops_error = exc
    try:
        compiled = torch._inductor.aoti_load_package(path)
        meta = _parse_metadata(dict(compiled.get_metadata()), path)
    except ModelFileError:
        raise
    except Exception as exc:
        hint = f' ({ops_error})' if ops_error is not None else ''
        raise ModelFileError(f'cannot load the AOTInductor package {path}: '
                             f'{type(exc).__name__}: {exc}{hint}') from exc
    if meta.get('native_ops') and ops_error is not None:
        raise ops_error

    def run(clips):
        x = torch.as_tensor(clips, dtype=torch.float32).contiguous()
        out = compiled(x)
        return out[0] if isinstance(out, (list, tuple)) else out

    return ExportedModel(path, meta, run)


def load_exported(path: str, threads: Optional[int] = None) -> ExportedModel:
    """Load ``*.onnx`` (onnxruntime, CPU) or ``*.pt2`` (AOTInductor) as an ExportedModel."""
    if not os.path.isfile(path):
        raise ModelFileError(f'model file not found: {path!r}')
    if path.endswith('.onnx'):
        return _load_onnx(path, threads)
    if path.endswith('.pt2'):
        return _load_pt2(path)
    raise ModelFileError(f'{path}: unknown model format (expected a .onnx or .pt2 file)')


def clips_from_inputs(inputs: torch.Tensor, layout: str, num_frames: int) -> torch.Tensor:
    """A pipeline's stacked ``inputs`` -> ``(B*V, clip...)`` plus nothing else.

    2-D: ``(B, V*T, 3, H, W)`` -> ``(B*V, T, 3, H, W)``; 3-D: ``(B, V, 3, T, H, W)`` ->
    ``(B*V, 3, T, H, W)`` (``V`` views / crops per video).
    """
    if layout == LAYOUT_2D:
        b, frames = inputs.shape[:2]
        if frames % num_frames:
            raise ValueError(f'the test pipeline gave {frames} frames per video, not a '
                             f'multiple of the exported T={num_frames}')
        return inputs.reshape((b * frames // num_frames, num_frames) + inputs.shape[2:])
    return inputs.reshape((-1,) + inputs.shape[2:])


def average_clips(scores: torch.Tensor, views: int, mode: Optional[str]) -> torch.Tensor:
    """``BaseHead.average_clip``: ``(B*V, K)`` -> ``(B, K)`` ('prob', 'score' or None)."""
    scores = scores.view(-1, views, scores.shape[-1])
    if mode == 'prob':
        return torch.softmax(scores, dim=2).mean(dim=1)
    if mode == 'score':
        return scores.mean(dim=1)
    if mode is None:  # MMAction2 keeps the per-view scores
        return scores
    raise ValueError(f"average_clips must be 'prob', 'score' or None, got {mode!r}")


class ExportedRecognizer:
    """An exported model with the config it came from, usable where MMAction2 expects a
    recognizer for inference (``cfg``, ``test_step``), e.g. ``inference_recognizer``.

    Args:
        path: ``.onnx`` or ``.pt2`` file from ``tools/deployment/export.py``.
        config: the model's config (file or ``mmengine.Config``): test pipeline and the
            head's ``average_clips``.
    """

    def __init__(self, path: str, config, threads: Optional[int] = None):
        from mmengine.config import Config
        self.cfg = Config.fromfile(config) if not isinstance(config, Config) else config
        self.model = load_exported(path, threads)
        self.average_clips = self.cfg.model.get('cls_head', {}).get('average_clips', None)
        head_classes = self.cfg.model.get('cls_head', {}).get('num_classes')
        if head_classes is not None and head_classes != self.model.num_classes:
            raise ValueError(f'{path} predicts {self.model.num_classes} classes but the config '
                             f'head has num_classes={head_classes}: wrong config for this model')

    def eval(self):
        return self

    def test_step(self, data: dict) -> List:
        inputs = data['inputs']
        inputs = torch.stack(inputs) if isinstance(inputs, (list, tuple)) else inputs
        samples = data['data_samples']
        clips = clips_from_inputs(inputs, self.model.layout, self.model.num_frames)
        if not self.model.dynamic_clips and clips.shape[0] != self.model.batch:
            raise ValueError(f'{self.model.path} was exported for {self.model.batch} clip(s) '
                             f'but the test pipeline gives {clips.shape[0]} per call: '
                             f're-export with --dynamic-clips')
        scores = self.model(clips.float())
        scores = average_clips(scores, clips.shape[0] // len(samples), self.average_clips)
        for sample, score in zip(samples, scores):
            sample.set_pred_score(score)
        return samples
