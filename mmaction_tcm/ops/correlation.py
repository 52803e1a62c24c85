"""Public ``correlation`` entry point."""
import torch

from .backends import resolve_backend
from .validation import check_feature_pair, check_int, check_patch_size


def correlation(f1: torch.Tensor, f2: torch.Tensor, patch_size: int,
                dilation_patch: int = 1, corr_backend: str = 'auto') -> torch.Tensor:
    """FlowNet-style correlation (kernel 1, stride 1, no padding, zero outside).

    Args:
        f1, f2: ``(B, C, H, W)`` feature maps.
        patch_size: odd number ``P`` of displacements per axis.
        dilation_patch: spacing between displacements.
        corr_backend: a name of :func:`mmaction_tcm.ops.backends.backend_names`
            (``'auto'``, ``'native'``, ``'pytorch'``, ``'mmcv'``,
            ``'spatial_correlation_sampler'``), resolved on first use.
    Returns:
        ``(B, P, P, H, W)``; entry ``[b, i, j, h, w]`` pairs ``f1[b, :, h, w]`` with
        ``f2[b, :, h + (i - r) * d, w + (j - r) * d]``, ``r = (P - 1) // 2``.
    """
    check_feature_pair(f1, f2)
    check_patch_size(patch_size)
    check_int('dilation_patch', dilation_patch, minimum=1)
    return resolve_backend(corr_backend).correlation(f1, f2, patch_size, dilation_patch)
