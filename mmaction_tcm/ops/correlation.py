"""Public ``correlation`` entry point."""
import torch

from .backends import resolve_backend
from .torch_impl import correlation_torch
from .validation import check_feature_pair, check_patch_size


def correlation(f1: torch.Tensor, f2: torch.Tensor, patch_size: int,
                dilation_patch: int = 1, backend: str = 'auto') -> torch.Tensor:
    """FlowNet-style correlation (kernel 1, stride 1, no padding, zero outside).

    Args:
        f1, f2: ``(B, C, H, W)`` feature maps.
        patch_size: odd number ``P`` of displacements per axis.
        dilation_patch: spacing between displacements.
        backend: ``'auto'``, ``'native'``, ``'pytorch'`` or ``'mmcv'``.
    Returns:
        ``(B, P, P, H, W)``; entry ``[b, i, j, h, w]`` pairs ``f1[b, :, h, w]`` with
        ``f2[b, :, h + (i - r) * d, w + (j - r) * d]``, ``r = (P - 1) // 2``.
    """
    check_feature_pair(f1, f2)
    check_patch_size(patch_size)
    if isinstance(dilation_patch, bool) or not isinstance(dilation_patch, int) \
            or dilation_patch < 1:
        raise ValueError(f'dilation_patch must be a positive int, got {dilation_patch!r}')
    backend = resolve_backend(backend)
    if backend == 'pytorch':
        return correlation_torch(f1, f2, patch_size, dilation_patch)
    if backend == 'native':
        from .native import correlation_native
        return correlation_native(f1, f2, patch_size, dilation_patch)
    from .mmcv_backend import correlation_mmcv
    return correlation_mmcv(f1, f2, patch_size, dilation_patch)
