"""The forward shared by our bottleneck blocks: ``ReLU(branch(x) + shortcut(x))``."""
import torch
import torch.utils.checkpoint as cp


class ResidualForwardMixin:
    """``forward(x) = relu(branch(x) + shortcut(x))``, the shortcut being ``downsample(x)``
    or ``x``; with ``with_cp`` the sum is recomputed in the backward pass (activation
    checkpointing) instead of stored. A block defines ``branch``, ``downsample``, ``relu``
    and ``with_cp``.
    """

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        return self.branch(x) + (x if self.downsample is None else self.downsample(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        return self.relu(out)
