"""Running a frame-wise :class:`TCM` on 3-D CNN features ``(N, C, T, H, W)``."""
import torch
import torch.nn as nn


def apply_tcm_5d(tcm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``(N, C, T, H, W)`` -> ``(N*T, C, H, W)`` -> ``tcm`` -> back to ``(N, C, T, H, W)``.

    ``T`` must equal ``tcm.num_segments``: a different ``T`` would silently regroup the
    frames into clips of the wrong length, so it is an error.
    """
    if x.dim() != 5:
        raise ValueError(f'expected (N, C, T, H, W) features, got shape {tuple(x.shape)}')
    n, c, t, h, w = x.shape
    if t != tcm.num_segments:
        raise ValueError(f'TCM was built for {tcm.num_segments} time steps '
                         f'(tcm_num_segments) but the features have T={t}; set '
                         f'tcm_num_segments to the temporal length at that stage')
    frames = x.transpose(1, 2).reshape(n * t, c, h, w)
    out = tcm(frames)
    return out.view(n, t, c, h, w).transpose(1, 2).contiguous()
