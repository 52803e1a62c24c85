"""Loading mmaction_tcm's native op library through the public op API."""
from typing import Optional

import torch


def try_load_native_ops() -> Optional[str]:
    """Register ``torch.ops.mmaction_tcm.*`` in this process (building them if needed and
    allowed); returns None on success, else the reason they are unavailable."""
    from .. import ops
    probe = torch.zeros(1, 1, 1, 1)
    try:
        ops.correlation(probe, probe, 1, corr_backend='native')
    except RuntimeError as exc:
        return str(exc)
    return None
