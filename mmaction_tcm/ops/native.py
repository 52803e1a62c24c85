"""``corr_backend='native'``: the compiled ops ``torch.ops.mmaction_tcm.*`` (C++ CPU / CUDA).

The dispatcher picks the CPU or CUDA kernel from the tensors' device. Call these once the
extension is loaded (:func:`.extension.load`; resolving the backend does it).
"""
from typing import Tuple

import torch


def correlation_native(f1: torch.Tensor, f2: torch.Tensor, patch_size: int,
                       dilation_patch: int = 1) -> torch.Tensor:
    """``(B, C, H, W)`` x2 -> ``(B, P, P, H, W)`` via ``mmaction_tcm::correlation``."""
    return torch.ops.mmaction_tcm.correlation(f1, f2, patch_size, dilation_patch)


def tempo_match_native(f1: torch.Tensor, f2: torch.Tensor, patch_size: int = 15,
                       sigma: float = 5.0, temperature: float = 100.0
                       ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Fused matching via ``mmaction_tcm::tempo_match``: flow ``(B,2,H,W)``, conf ``(B,1,H,W)``."""
    return torch.ops.mmaction_tcm.tempo_match(f1, f2, patch_size, float(sigma),
                                              float(temperature))
