"""Correlation and fused tempo-match ops.

``correlation(f1, f2, patch_size, dilation_patch=1) -> (B, P, P, H, W)``
``tempo_match(f1, f2, patch_size=15, sigma=5.0, temperature=100.0) -> (flow, confidence)``

Both take ``corr_backend=`` (a name of :data:`.backends.BACKENDS`, or ``'auto'``).
"""
from .correlation import correlation
from .tempo_match import tempo_match
from .torch_impl import correlation_torch, tempo_match_torch

__all__ = ['correlation', 'tempo_match', 'correlation_torch', 'tempo_match_torch']

from .extension import build_ahead_if_requested as _build_ahead_if_requested  # noqa: E402

_build_ahead_if_requested()  # MMACTION_TCM_BUILD_OPS=1 compiles the native ops at import
