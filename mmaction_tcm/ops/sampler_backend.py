"""``corr_backend='spatial_correlation_sampler'``: the op the released TCM was trained with.

The release computes its cost volume with ``SpatialCorrelationSampler(kernel_size=1,
patch_size=15, stride=1, padding=0, dilation_patch=1)`` from the
``spatial-correlation-sampler`` package (CUDA; built from source against the user's torch,
no wheels) and does the rest of the matching in PyTorch. This backend does the same, so the
release's own arithmetic can be run and timed next to ours; it is never picked by ``'auto'``.
"""
from typing import Tuple

import torch

from .torch_impl import match_on_cost_volume


def check_sampler() -> None:
    """Raise ``RuntimeError`` when ``spatial_correlation_sampler`` cannot be imported."""
    try:
        import spatial_correlation_sampler  # noqa: F401
    except (ImportError, OSError) as exc:
        raise RuntimeError(
            "corr_backend='spatial_correlation_sampler' needs the spatial-correlation-sampler "
            "package (the released TCM's op; pip builds it from source and needs a CUDA "
            f"torch and nvcc), which could not be imported: {exc}. Use "
            "corr_backend='native' or 'pytorch' (the same function).") from exc


def correlation_sampler(f1: torch.Tensor, f2: torch.Tensor, patch_size: int,
                        dilation_patch: int = 1) -> torch.Tensor:
    """``(B, C, H, W)`` x2 -> ``(B, P, P, H, W)`` by ``spatial_correlation_sample``."""
    from spatial_correlation_sampler import spatial_correlation_sample
    return spatial_correlation_sample(f1.contiguous(), f2.contiguous(), kernel_size=1,
                                      patch_size=patch_size, stride=1, padding=0,
                                      dilation_patch=dilation_patch)


def tempo_match_sampler(f1: torch.Tensor, f2: torch.Tensor, patch_size: int = 15,
                        sigma: float = 5.0, temperature: float = 100.0
                        ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The sampler's cost volume ``(B, P*P, H, W)``, then the PyTorch matching steps."""
    return match_on_cost_volume(correlation_sampler, f1, f2, patch_size, sigma, temperature)
