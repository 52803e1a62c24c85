"""TEA's temporal pieces (CVPR 2020): motion excitation and the per-split temporal conv.

Both work on frame-stacked 2-D features ``(N*T, C, H, W)`` and take ``num_segments``
(``T``) at call time, so one block serves any clip length.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def _clips(x: torch.Tensor, num_segments: int) -> int:
    """Number of clips ``N`` in an ``(N*T, C, H, W)`` batch (clear error otherwise)."""
    if x.dim() != 4:
        raise ValueError(f'expected (N*T, C, H, W) features, got shape {tuple(x.shape)}')
    if x.shape[0] % num_segments != 0:
        raise ValueError(f'batch {x.shape[0]} is not a multiple of num_segments='
                         f'{num_segments}')
    return x.shape[0] // num_segments


class MotionExcitation(nn.Module):
    """ME: channel attention from feature differences of neighbouring frames.

    ``X_r = BN(conv1x1(X))`` (``C -> C // reduction``, no ReLU);
    ``D[t] = dwconv3x3(X_r[t+1]) - X_r[t]`` for ``t < T-1``, ``D[T-1] = 0``;
    ``A = BN(conv1x1(GAP(D)))`` (back to ``C``); output ``X * (0.5 + sigmoid(A))``
    (TEA's released form of ``X + X * (sigmoid(A) - 0.5)``). All convs bias-free.

    Shape: ``(N*T, C, H, W) -> (N*T, C, H, W)``.
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        if channels // reduction < 1:
            raise ValueError(f'channels // reduction must be >= 1, got channels={channels}, '
                             f'reduction={reduction}')
        mid = channels // reduction
        self.reduce = nn.Conv2d(channels, mid, 1, bias=False)
        self.reduce_bn = nn.BatchNorm2d(mid)
        self.transform = nn.Conv2d(mid, mid, 3, padding=1, groups=mid, bias=False)
        self.expand = nn.Conv2d(mid, channels, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(channels)

    def init_weights(self) -> None:
        """Kaiming normal (fan_out) convs, BN weight 1 and bias 0 (TEA / Res2Net init)."""
        for m in (self.reduce, self.transform, self.expand):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        for bn in (self.reduce_bn, self.expand_bn):
            nn.init.ones_(bn.weight)
            nn.init.zeros_(bn.bias)

    def forward(self, x: torch.Tensor, num_segments: int) -> torch.Tensor:
        n = _clips(x, num_segments)
        feat = self.reduce_bn(self.reduce(x))
        moved = self.transform(feat)
        _, c, h, w = feat.shape
        feat = feat.view(n, num_segments, c, h, w)
        moved = moved.view(n, num_segments, c, h, w)
        diff = moved[:, 1:] - feat[:, :-1]                       # (N, T-1, C/r, H, W)
        pooled = F.pad(diff.mean(dim=(3, 4)), (0, 0, 0, 1))      # (N, T, C/r), zero at T-1
        attn = self.expand_bn(self.expand(pooled.reshape(n * num_segments, c, 1, 1)))
        return x * (torch.sigmoid(attn) + 0.5)


class TemporalConv(nn.Module):
    """Depthwise temporal conv (kernel 3, zero padded) at every spatial position.

    ``init='identity'`` starts as the identity; ``init='shift'`` starts as a temporal
    shift: the first half of the channels take frame ``t+1``, the second half ``t-1``.

    Shape: ``(N*T, C, H, W) -> (N*T, C, H, W)``; the weight is a ``Conv1d`` ``(C, 1, 3)``.
    """

    INITS = ('identity', 'shift')

    def __init__(self, channels: int, init: str = 'identity'):
        super().__init__()
        if init not in self.INITS:
            raise ValueError(f'init must be one of {self.INITS}, got {init!r}')
        self.init = init
        self.conv = nn.Conv1d(channels, channels, 3, padding=1, groups=channels, bias=False)
        self.init_weights()

    def init_weights(self) -> None:
        """Identity (centre tap 1) or shift (tap ``t+1`` / ``t-1``), every other tap 0."""
        w = torch.zeros_like(self.conv.weight)  # output[t] = w0 x[t-1] + w1 x[t] + w2 x[t+1]
        if self.init == 'identity':
            w[:, 0, 1] = 1
        else:
            half = w.shape[0] // 2
            w[:half, 0, 2] = 1
            w[half:, 0, 0] = 1
        with torch.no_grad():
            self.conv.weight.copy_(w)

    def forward(self, x: torch.Tensor, num_segments: int) -> torch.Tensor:
        n = _clips(x, num_segments)
        _, c, h, w = x.shape
        seq = x.view(n, num_segments, c, h, w).permute(0, 3, 4, 2, 1)  # (N, H, W, C, T)
        out = self.conv(seq.reshape(n * h * w, c, num_segments))
        out = out.view(n, h, w, c, num_segments).permute(0, 4, 3, 1, 2)
        return out.reshape(n * num_segments, c, h, w)
