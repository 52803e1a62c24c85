"""The function that is exported: a batch of clips -> class scores after the head's consensus.

Input contract (the same for ONNX, the AOTInductor package and :class:`ClipClassifier` in
eager mode):

- 2-D recognizers (TSM, TCM, TEA): ``(N, T, 3, H, W)``; 3-D recognizers (I3D, 3D-ResNeXt):
  ``(N, 3, T, H, W)`` -- one clip per row, the layout MMAction2's ``FormatShape`` gives one
  clip (``NCHW`` per frame / ``NCTHW``).
- float32 RGB in ``[0, 255]`` (decoded frames after the test pipeline's resize / crop); the
  data preprocessor's mean / std (and its ``to_rgb`` channel flip, if set) are applied
  inside the graph, so callers feed raw pixels.
- Output ``(N, num_classes)``: the head's class scores after its consensus over the ``T``
  frames (logits; ``average_clips='prob'`` applies the softmax when clips are averaged).
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn

LAYOUT_2D = 'NTCHW'
LAYOUT_3D = 'NCTHW'


def recognizer_layout(recognizer: nn.Module) -> str:
    """``'NTCHW'`` for MMAction2's ``Recognizer2D``, ``'NCTHW'`` for ``Recognizer3D``."""
    from mmaction.models.recognizers import Recognizer2D, Recognizer3D
    if isinstance(recognizer, Recognizer2D):
        return LAYOUT_2D
    if isinstance(recognizer, Recognizer3D):
        return LAYOUT_3D
    raise TypeError(f'export supports Recognizer2D and Recognizer3D models, got '
                    f'{type(recognizer).__name__}')


def layout_description(layout: str) -> str:
    return '(N, T, 3, H, W)' if layout == LAYOUT_2D else '(N, 3, T, H, W)'


def clip_shape_from_layout(layout: str, frames: int, height: int, width: int
                           ) -> Tuple[int, int, int, int]:
    """The per-clip shape (without ``N``) in ``layout``."""
    return (frames, 3, height, width) if layout == LAYOUT_2D else (3, frames, height, width)


class ClipClassifier(nn.Module):
    """A built MMAction2 recognizer as ``clips -> scores`` (see the module docstring).

    Args:
        recognizer: a ``Recognizer2D`` / ``Recognizer3D`` in eval mode, without a neck.

    Shape: ``(N, T, 3, H, W)`` (2-D) or ``(N, 3, T, H, W)`` (3-D) -> ``(N, num_classes)``.
    """

    def __init__(self, recognizer: nn.Module):
        super().__init__()
        if getattr(recognizer, 'with_neck', False):
            raise ValueError('export supports recognizers without a neck (backbone + head)')
        self.layout = recognizer_layout(recognizer)
        self.recognizer = recognizer
        pre = recognizer.data_preprocessor
        shape = (1, 1, 3, 1, 1) if self.layout == LAYOUT_2D else (1, 3, 1, 1, 1)
        normalize = getattr(pre, '_enable_normalize', False)
        mean = pre.mean.flatten() if normalize else torch.zeros(3)
        std = pre.std.flatten() if normalize else torch.ones(3)
        self.register_buffer('mean', mean.float().view(shape).clone(), persistent=False)
        self.register_buffer('std', std.float().view(shape).clone(), persistent=False)
        self.to_rgb = bool(getattr(pre, 'to_rgb', False))

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        x = clips.float()
        channel_dim = 2 if self.layout == LAYOUT_2D else 1
        if self.to_rgb:  # what ActionDataPreprocessor(to_rgb=True) does to its input
            x = x.flip(channel_dim)
        x = (x - self.mean) / self.std
        if self.layout == LAYOUT_3D:
            x = x.unsqueeze(1)  # (N, 1 crop, 3, T, H, W), as Recognizer3D receives it
        feats, kwargs = self.recognizer.extract_feat(x, test_mode=True)
        kwargs.pop('loss_aux', None)
        return self.recognizer.cls_head(feats, **kwargs)


def corr_backends(model: nn.Module) -> Sequence[Tuple[str, str]]:
    """``[(module name, corr_backend)]`` of every module that matches frames (MTDM)."""
    return [(name, m.corr_backend) for name, m in model.named_modules()
            if isinstance(getattr(m, 'corr_backend', None), str)]


def set_corr_backend(model: nn.Module, backend: Optional[str]) -> None:
    """Set ``corr_backend`` on every matching module (the weights do not depend on it)."""
    if backend is None:
        return
    from ..ops.backends import check_backend_name
    check_backend_name(backend)
    for _, m in model.named_modules():
        if isinstance(getattr(m, 'corr_backend', None), str):
            m.corr_backend = backend
