"""Public ``tempo_match`` entry point."""
from typing import Tuple

import torch

from .backends import resolve_backend
from .torch_impl import match_from_correlation, tempo_match_torch
from .validation import check_feature_pair, check_patch_size, check_positive


def tempo_match(f1: torch.Tensor, f2: torch.Tensor, patch_size: int = 15,
                sigma: float = 5.0, temperature: float = 100.0,
                backend: str = 'auto') -> Tuple[torch.Tensor, torch.Tensor]:
    """Correlation, ReLU, confidence, kernel-softmax and soft-argmax (DESIGN §2 steps 4-7).

    Args:
        f1, f2: ``(B, C, H, W)`` L2-normalised feature maps (motion goes from f1 to f2).
        patch_size: odd ``P >= 3``; displacement radius ``r = (P - 1) // 2``.
        sigma: std of the Gaussian around the hard argmax, in displacement cells.
        temperature: softmax logit scale.
    Returns:
        flow ``(B, 2, H, W)`` (``u`` right, ``v`` down, in ``[-1, 1]``) and
        confidence ``(B, 1, H, W)``.
    """
    check_feature_pair(f1, f2)
    check_patch_size(patch_size, minimum=3)
    check_positive('sigma', sigma)
    check_positive('temperature', temperature)
    backend = resolve_backend(backend)
    if backend == 'pytorch':
        return tempo_match_torch(f1, f2, patch_size, sigma, temperature)
    if backend == 'native':
        from .native import tempo_match_native
        return tempo_match_native(f1, f2, patch_size, sigma, temperature)
    from .mmcv_backend import correlation_mmcv
    B, _, H, W = f1.shape
    corr = correlation_mmcv(f1, f2, patch_size, 1).view(B, patch_size * patch_size, H, W)
    return match_from_correlation(corr, patch_size, sigma, temperature)
