"""Public ``tempo_match`` entry point."""
from typing import Tuple

import torch

from .backends import resolve_backend
from .validation import check_feature_pair, check_match_arguments


def tempo_match(f1: torch.Tensor, f2: torch.Tensor, patch_size: int = 15,
                sigma: float = 5.0, temperature: float = 100.0,
                corr_backend: str = 'auto') -> Tuple[torch.Tensor, torch.Tensor]:
    """Correlation, ReLU, confidence, kernel-softmax, soft-argmax (docs/design.md §2 steps 4-7).

    Args:
        f1, f2: ``(B, C, H, W)`` L2-normalised feature maps (motion goes from f1 to f2).
        patch_size: odd ``P >= 3``; displacement radius ``r = (P - 1) // 2``.
        sigma: std of the Gaussian around the hard argmax, in displacement cells.
        temperature: softmax logit scale.
        corr_backend: as for :func:`mmaction_tcm.ops.correlation`.
    Returns:
        flow ``(B, 2, H, W)`` (``u`` right, ``v`` down, in ``[-1, 1]``) and
        confidence ``(B, 1, H, W)``.
    """
    check_feature_pair(f1, f2)
    check_match_arguments(patch_size, sigma, temperature)
    return resolve_backend(corr_backend).tempo_match(f1, f2, patch_size, sigma, temperature)
