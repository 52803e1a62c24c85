"""Pure-PyTorch correlation and tempo matching (the portable path and the reference).

Semantics (docs/design.md §2 steps 4-7):

- ``correlation``: ``c[b, i, j, h, w] = sum_c f1[b,c,h,w] * f2[b,c,h+(i-r)d, w+(j-r)d]`` with
  ``r = (P-1)//2``, ``d = dilation_patch``, zero where ``f2`` is out of bounds, no division by C.
- ``tempo_match``: ReLU of the correlation, confidence = its max over the ``P*P``
  displacements, a Gaussian (no normalising factor) centred at the hard argmax, softmax of
  ``gaussian * corr * temperature`` over all ``P*P`` entries, soft-argmax scaled by ``1/r``.
"""
from typing import Tuple

import torch
import torch.nn.functional as F


def correlation_torch(f1: torch.Tensor, f2: torch.Tensor, patch_size: int,
                      dilation_patch: int = 1) -> torch.Tensor:
    """Correlation as batched matrix products, one per row of displacements.

    For each output row ``h`` the ``P`` candidate rows of the padded ``f2`` are multiplied
    with ``f1[:, :, h]`` in one GEMM, and the band ``w + j*d`` is read out by a strided
    view, so every step has a cheap backward.

    Args:
        f1, f2: ``(B, C, H, W)``.
    Returns:
        ``(B, P, P, H, W)``.
    """
    B, C, H, W = f1.shape
    P, d = patch_size, dilation_patch
    pad = (P - 1) // 2 * d
    span = (P - 1) * d + 1
    Wp = W + 2 * pad
    f2p = F.pad(f2, (pad, pad, pad, pad))                      # (B, C, H+2pad, Wp)
    rows = f2p.unfold(2, span, 1)[..., ::d]                    # (B, C, H, Wp, P)
    rows = rows.permute(0, 2, 1, 4, 3).reshape(B, H, C, P * Wp)
    prod = torch.matmul(f1.permute(0, 2, 3, 1), rows)         # (B, H, W, P*Wp)
    prod = prod.view(B, H, W, P, Wp).transpose(2, 3)           # (B, H, P, W, Wp)
    flat = prod.reshape(B, H, P, W * Wp)
    flat = F.pad(flat, (0, W))                                 # room for the diagonal walk
    band = flat.view(B, H, P, W, Wp + 1)[..., :span:d]         # (B, H, P, W, P)
    return band.permute(0, 2, 4, 1, 3).contiguous()            # (B, P, P, H, W)


def displacement_grid(patch_size: int, device=None, dtype=None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Row and column index of each of the ``P*P`` displacements, each ``(P*P, 1, 1)``."""
    idx = torch.arange(patch_size * patch_size, device=device)
    py = torch.div(idx, patch_size, rounding_mode='floor').to(dtype).view(-1, 1, 1)
    px = (idx % patch_size).to(dtype).view(-1, 1, 1)
    return py, px


def match_from_correlation(corr: torch.Tensor, patch_size: int, sigma: float,
                           temperature: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Steps 4 (ReLU) to 7 of docs/design.md §2 on a stored cost volume.

    Args:
        corr: ``(B, P*P, H, W)`` raw correlation.
    Returns:
        flow ``(B, 2, H, W)`` as ``(u, v)`` in ``[-1, 1]``; confidence ``(B, 1, H, W)``.
    """
    radius = (patch_size - 1) // 2
    corr = F.relu(corr)
    confidence, index = corr.max(dim=1, keepdim=True)          # (B, 1, H, W)
    py, px = displacement_grid(patch_size, corr.device, corr.dtype)
    iy = torch.div(index, patch_size, rounding_mode='floor').to(corr.dtype)
    ix = (index % patch_size).to(corr.dtype)
    gaussian = torch.exp(-((px - ix) ** 2 + (py - iy) ** 2) / (2.0 * sigma ** 2))
    prob = F.softmax(gaussian * corr * temperature, dim=1)     # (B, P*P, H, W)
    u = (prob * (px - radius)).sum(dim=1, keepdim=True) / radius
    v = (prob * (py - radius)).sum(dim=1, keepdim=True) / radius
    return torch.cat([u, v], dim=1), confidence


def match_on_cost_volume(correlation_fn, f1: torch.Tensor, f2: torch.Tensor,
                         patch_size: int, sigma: float, temperature: float
                         ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Unfused matching: ``correlation_fn(f1, f2, P, 1)`` stored as ``(B, P*P, H, W)``, then
    :func:`match_from_correlation` (the path of every backend that has no fused kernel)."""
    B, _, H, W = f1.shape
    corr = correlation_fn(f1, f2, patch_size, 1).reshape(B, patch_size * patch_size, H, W)
    return match_from_correlation(corr, patch_size, sigma, temperature)


def tempo_match_torch(f1: torch.Tensor, f2: torch.Tensor, patch_size: int = 15,
                      sigma: float = 5.0, temperature: float = 100.0
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Unfused matching on :func:`correlation_torch`'s cost volume."""
    return match_on_cost_volume(correlation_torch, f1, f2, patch_size, sigma, temperature)
