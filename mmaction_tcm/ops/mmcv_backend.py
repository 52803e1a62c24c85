"""``corr_backend='mmcv'``: ``mmcv.ops.Correlation`` (CUDA-only, needs full mmcv)."""
from typing import Tuple

import torch

from .torch_impl import match_on_cost_volume


def check_mmcv_ops() -> None:
    """Raise ``RuntimeError`` when mmcv's compiled ops are missing (e.g. ``mmcv-lite``)."""
    try:
        from mmcv.ops import Correlation  # noqa: F401
    except (ImportError, OSError) as exc:
        raise RuntimeError(
            "corr_backend='mmcv' needs the full mmcv package built with CUDA ops "
            f"(mmcv.ops.Correlation could not be imported: {exc}); mmcv-lite has no "
            "compiled ops. Use corr_backend='native' or 'pytorch'.") from exc


def correlation_mmcv(f1: torch.Tensor, f2: torch.Tensor, patch_size: int,
                     dilation_patch: int = 1) -> torch.Tensor:
    """FlowNet correlation by mmcv: ``(B, C, H, W)`` x2 -> ``(B, P, P, H, W)``.

    Raises:
        RuntimeError: when mmcv's compiled ops are missing, or the inputs are not CUDA
        tensors (mmcv implements this op for CUDA only).
    """
    check_mmcv_ops()
    from mmcv.ops import Correlation
    if not (f1.is_cuda and f2.is_cuda):
        raise RuntimeError("corr_backend='mmcv' runs on CUDA tensors only (mmcv's "
                           f"Correlation has no CPU kernel); got device {f1.device}. Use "
                           "corr_backend='native' or 'pytorch' on CPU.")
    op = Correlation(kernel_size=1, max_displacement=(patch_size - 1) // 2, stride=1,
                     padding=0, dilation=1, dilation_patch=dilation_patch)
    return op(f1.contiguous(), f2.contiguous())


def tempo_match_mmcv(f1: torch.Tensor, f2: torch.Tensor, patch_size: int = 15,
                     sigma: float = 5.0, temperature: float = 100.0
                     ) -> Tuple[torch.Tensor, torch.Tensor]:
    """mmcv's cost volume ``(B, P*P, H, W)``, then the PyTorch matching steps."""
    return match_on_cost_volume(correlation_mmcv, f1, f2, patch_size, sigma, temperature)
