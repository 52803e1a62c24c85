"""Export a recognizer of a config + checkpoint to ONNX or an AOTInductor package (.pt2).

One ``torch.export`` trace of :class:`ClipClassifier` serves both formats. The native
``mmaction_tcm::tempo_match`` / ``correlation`` ops stay single nodes in it (they have fake
kernels); ONNX lowers them with the standard-operator translations of :mod:`.onnx_ops`,
AOTInductor calls the native kernels (the package needs our op library at run time).
Files are written atomically (a temporary file in the target folder, then a rename).
"""
import json
import os
import tempfile
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..engine.atomic_io import atomic_write_bytes
from .clip_model import (ClipClassifier, clip_shape_from_layout, corr_backends,
                         layout_description, set_corr_backend)

FORMATS = ('onnx', 'pt2')
METADATA_PREFIX = 'mmaction_tcm.'
MAX_CLIPS = 4096


class ExportError(RuntimeError):
    """The model cannot be exported as asked (the message says why and what to do)."""


def load_recognizer(config, checkpoint: Optional[str], device: str = 'cpu',
                    corr_backend: Optional[str] = None) -> nn.Module:
    """``mmaction.apis.init_recognizer`` plus a strict checkpoint load.

    Raises:
        ExportError: a checkpoint that cannot be read, or whose tensors do not match the
        model the config builds (missing / unexpected keys, other shapes).
    """
    from mmaction.apis import init_recognizer
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    cfg = Config.fromfile(config) if not isinstance(config, Config) else config
    model = init_recognizer(cfg, None, device='cpu')
    if checkpoint is not None:
        if not os.path.isfile(checkpoint):
            raise ExportError(f'checkpoint not found: {checkpoint!r}')
        try:
            load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                            logger='silent')
        except RuntimeError as exc:
            text = str(exc)
            if 'key' in text or 'size mismatch' in text or 'shape' in text:
                raise ExportError(f'checkpoint {checkpoint!r} does not match the model of '
                                  f'config {getattr(cfg, "filename", config)!r}:\n{text}'
                                  ) from exc
            raise ExportError(f'cannot read checkpoint {checkpoint!r}: {text}') from exc
        except Exception as exc:  # unpickling / zip errors of a damaged file
            raise ExportError(f'cannot read checkpoint {checkpoint!r} '
                              f'({type(exc).__name__}: {exc})') from exc
    set_corr_backend(model, corr_backend)
    return model.to(device).eval()


EXPORTABLE_BACKENDS = ('auto', 'native', 'pytorch')


def check_exportable(model: nn.Module) -> None:
    """Refuse backends that neither torch.export nor ONNX can trace (third-party CUDA
    extensions such as ``'mmcv'``)."""
    refused = [(name, backend) for name, backend in corr_backends(model)
               if backend not in EXPORTABLE_BACKENDS]
    if refused:
        backends = sorted({b for _, b in refused})
        raise ExportError(
            f"corr_backend={', '.join(repr(b) for b in backends)} cannot be exported (a "
            f"CUDA-only extension op with no fake kernel or ONNX form, e.g. "
            f"mmcv.ops.Correlation), used by: {', '.join(n for n, _ in refused)}. The weights "
            f"do not depend on the backend: export with --corr-backend native (or pytorch), "
            f"which computes the same function.")


def default_clip_size(cfg) -> Tuple[int, int, int]:
    """``(T, H, W)`` of one test clip, read from the config (backbone / test pipeline)."""
    frames = None
    size = None
    for step in cfg.test_pipeline:
        kind = step.get('type')
        if kind == 'SampleSegmentViews':
            frames = step.get('num_segments', 8)
        elif kind in ('SampleFrames', 'UniformSample', 'UniformSampleFrames'):
            clip_len, num_clips = step.get('clip_len', 1), step.get('num_clips', 1)
            frames = clip_len if clip_len > 1 else num_clips
        elif kind in ('CenterCrop', 'ThreeCrop', 'TenCrop'):
            crop = step['crop_size']
            size = (crop, crop) if isinstance(crop, int) else (crop[1], crop[0])
        elif kind in ('Resize', 'PillowResize') and not step.get('keep_ratio', True) \
                and size is None:
            w, h = step['scale']
            size = (h, w)
    if frames is None or size is None:
        raise ExportError('cannot read the clip size (frames, crop) from the config\'s '
                          'test_pipeline: pass --shape T 3 H W')
    return frames, size[0], size[1]


def build_classifier(model: nn.Module) -> ClipClassifier:
    check_exportable(model)
    return ClipClassifier(model).eval()


def example_clips(classifier: ClipClassifier, shape: Sequence[int], clips: int = 2
                  ) -> torch.Tensor:
    """A random float32 batch ``(clips,) + clip shape`` for tracing (pixels in [0, 255])."""
    frames, channels, height, width = shape
    if channels != 3:
        raise ExportError(f'--shape must be T 3 H W (RGB), got {tuple(shape)}')
    gen = torch.Generator().manual_seed(0)
    size = (clips,) + clip_shape_from_layout(classifier.layout, frames, height, width)
    return torch.rand(size, generator=gen) * 255


def trace(classifier: ClipClassifier, example: torch.Tensor,
          dynamic_clips: bool = False) -> torch.export.ExportedProgram:
    """``torch.export`` of the classifier; ``dynamic_clips`` makes ``N`` symbolic."""
    dynamic = ({0: torch.export.Dim('clips', min=1, max=MAX_CLIPS)},) if dynamic_clips \
        else None
    with torch.no_grad():
        try:
            return torch.export.export(classifier, (example,), dynamic_shapes=dynamic)
        except Exception as exc:
            raise ExportError(f'torch.export failed for input {tuple(example.shape)} '
                              f'{layout_description(classifier.layout)}: '
                              f'{type(exc).__name__}: {exc}') from exc


def uses_native_ops(program: torch.export.ExportedProgram) -> bool:
    """True when the traced graph calls ``torch.ops.mmaction_tcm.*``."""
    return any(node.op == 'call_function' and str(node.target).startswith('mmaction_tcm.')
               for node in program.graph.nodes)


def export_metadata(classifier: ClipClassifier, example: torch.Tensor, dynamic_clips: bool,
                    program: torch.export.ExportedProgram, extra: Optional[dict] = None
                    ) -> Dict[str, str]:
    """String metadata stored in both formats (read back by :mod:`.runtime`)."""
    with torch.no_grad():
        num_classes = classifier(example[:1]).shape[-1]
    meta = dict(layout=classifier.layout, clip_shape=list(example.shape[1:]),
                dynamic_clips=dynamic_clips, batch=int(example.shape[0]),
                num_classes=int(num_classes), input='float32 RGB in [0, 255], normalised '
                'inside the graph', output='class scores after the head consensus (logits)',
                native_ops=uses_native_ops(program), **(extra or {}))
    return {METADATA_PREFIX + k: json.dumps(v) for k, v in meta.items()}


def to_onnx(program: torch.export.ExportedProgram, example: torch.Tensor,
            metadata: Dict[str, str], opset: int = 18):
    """ONNX ``ModelProto`` with standard operators only; checked by ``onnx.checker``."""
    import onnx
    from .onnx_ops import translation_table
    if opset < 17:
        raise ExportError(f'opset must be >= 17, got {opset}')
    try:
        onnx_program = torch.onnx.export(
            program, (example,), dynamo=True, opset_version=opset, verbose=False,
            custom_translation_table=translation_table(), input_names=['clips'],
            output_names=['scores'], external_data=False)
    except Exception as exc:
        raise ExportError(f'ONNX conversion failed: {type(exc).__name__}: {exc}') from exc
    model = onnx_program.model_proto
    custom = sorted({n.domain for n in model.graph.node if n.domain not in ('', 'ai.onnx')})
    if custom:
        raise ExportError(f'the ONNX graph uses non-standard operator domains {custom}')
    onnx.helper.set_model_props(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    return model


def save_onnx(model, out: str) -> None:
    atomic_write_bytes(model.SerializeToString(), out)


def save_pt2(program: torch.export.ExportedProgram, out: str, metadata: Dict[str, str]
             ) -> None:
    """AOTInductor-compile ``program`` into the package ``out`` (atomically)."""
    directory = os.path.dirname(os.path.abspath(out))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{os.path.basename(out)}.', suffix='.pt2',
                               dir=directory)
    os.close(fd)
    try:
        torch._inductor.aoti_compile_and_package(
            program, package_path=tmp,
            inductor_configs={'aot_inductor.metadata': dict(metadata)})
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, Exception):
            raise ExportError(f'AOTInductor compilation failed: {type(exc).__name__}: '
                              f'{exc}') from exc
        raise


def export_model(model: nn.Module, fmt: str, out: str, shape: Sequence[int],
                 dynamic_clips: bool = False, batch: int = 1, opset: int = 18,
                 extra_metadata: Optional[dict] = None) -> Dict[str, str]:
    """Export a built recognizer; returns the metadata written with the file.

    Args:
        model: a recognizer in eval mode (e.g. from :func:`load_recognizer`).
        fmt: ``'onnx'`` or ``'pt2'``.
        out: output file.
        shape: ``(T, 3, H, W)`` of one clip.
        dynamic_clips: the number of clips ``N`` may vary at run time (else ``N = batch``).
        batch: ``N`` of a static export.
    """
    if fmt not in FORMATS:
        raise ExportError(f'format must be one of {FORMATS}, got {fmt!r}')
    classifier = build_classifier(model)
    # a static batch of 1 is traced as 1; a dynamic one from 2 clips (1 would specialise)
    example = example_clips(classifier, shape, 2 if dynamic_clips else batch)
    program = trace(classifier, example, dynamic_clips)
    metadata = export_metadata(classifier, example, dynamic_clips, program, extra_metadata)
    if fmt == 'onnx':
        save_onnx(to_onnx(program, example, metadata, opset), out)
    else:
        save_pt2(program, out, metadata)
    return metadata
