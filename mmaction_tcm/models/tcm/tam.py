"""The paper's Temporal Attention Module (TAM), as released.

The class is ``TemporalAttentionModule``: MMAction2 has its own, unrelated ``TAM``
(TANet's temporal adaptive module)."""
import math

import torch
import torch.nn as nn

from .conv_bn_stack import ConvBNStack


def eca_kernel_size(num_segments: int) -> int:
    """``int(log2(T))``, made odd by adding 1 (T=8 -> 3, T=16 -> 5)."""
    k = int(math.log2(num_segments))
    return k + 1 if k % 2 == 0 else k


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int,
                 groups: int = 1) -> list:
    return [nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                      groups=groups, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]


class TemporalECA(nn.Module):
    """Efficient channel attention across time.

    Each ``(n, c)`` gets a ``T``-vector of spatial means, filtered by one
    ``Conv1d(1, 1, k)`` and squashed by a sigmoid that scales the frames.
    Shape: ``(N*T, C, H, W) -> (N*T, C, H, W)``.
    """

    def __init__(self, num_segments: int):
        super().__init__()
        self.num_segments = num_segments
        k = eca_kernel_size(num_segments)
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = prefix + 'conv.weight'
        if key in state_dict and state_dict[key].shape != self.conv.weight.shape:
            raise ValueError(
                f'{key}: checkpoint temporal-attention kernel size '
                f'{state_dict[key].shape[-1]} does not match num_segments='
                f'{self.num_segments} (kernel {self.conv.weight.shape[-1]}): the checkpoint '
                f'was trained for a different number of frames')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor, residual: torch.Tensor = None,
                inplace: bool = False) -> torch.Tensor:
        """``x * weight``, or ``residual + x * weight`` in one pass when ``residual`` is given.

        ``inplace=True`` writes the result into ``x`` (for callers that own ``x`` and record
        no autograd): no new ``(N*T, C, H, W)`` buffer.
        """
        NT, C, H, W = x.shape
        T = self.num_segments
        pooled = x.mean(dim=(2, 3)).view(NT // T, T, C).transpose(1, 2)  # (N, C, T)
        weight = torch.sigmoid(self.conv(pooled.reshape(-1, 1, T)))      # (N*C, 1, T)
        weight = weight.view(NT // T, C, T).transpose(1, 2).reshape(NT, C, 1, 1)
        if residual is None:
            return x.mul_(weight) if inplace else x * weight
        return torch.addcmul(residual, x, weight, out=x) if inplace else torch.addcmul(
            residual, x, weight)


class TemporalAttentionModule(nn.Module):
    """Lifts the 6 motion channels back to ``out_channels`` and re-weights frames.

    conv1: three 3x3 convs 6->6 (groups 3), 1x1 6->16; conv2..conv4: depthwise 3x3 then
    1x1 (16->32->64->out_channels); every conv bias-free + BN + ReLU; then
    :class:`TemporalECA`. In inference the conv stacks run with BatchNorm folded in
    (:class:`ConvBNStack`). Shape: ``(N*T, 6, H, W) -> (N*T, out_channels, H, W)``.
    """

    def __init__(self, out_channels: int, num_segments: int, in_channels: int = 6):
        super().__init__()
        self.conv1 = ConvBNStack(
            *conv_bn_relu(in_channels, in_channels, 3, groups=3),
            *conv_bn_relu(in_channels, in_channels, 3, groups=3),
            *conv_bn_relu(in_channels, in_channels, 3, groups=3),
            *conv_bn_relu(in_channels, 16, 1))
        widths = (16, 32, 64, out_channels)
        for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:]), start=2):
            setattr(self, f'conv{i}', ConvBNStack(
                *conv_bn_relu(cin, cin, 3, groups=cin), *conv_bn_relu(cin, cout, 1)))
        self.temporal_attention = TemporalECA(num_segments)

    def forward(self, x: torch.Tensor, residual: torch.Tensor = None) -> torch.Tensor:
        """``residual`` (optional, ``(N*T, out_channels, H, W)``) is added to the output."""
        x = self.conv4(self.conv3(self.conv2(self.conv1(x))))
        # x is ours: without autograd the attention product overwrites it in place
        return self.temporal_attention(x, residual, inplace=not torch.is_grad_enabled())
