"""Multi-scale Temporal Dynamics Module (MTDM), as released."""
import torch
import torch.nn as nn

from ...ops.backends import resolve_backend
from ...ops.validation import check_match_arguments
from .conv_bn_stack import ConvBNStack


def l2_normalize_channels(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """``x / sqrt(sum_c x^2 + eps)`` over dim 1 (the released normalisation)."""
    return x / torch.sqrt(torch.sum(x * x, dim=1, keepdim=True) + eps)


class MTDM(nn.Module):
    """Fast- and slow-tempo motion features from frame-pair matching.

    Channel reduction (1x1 conv, BN, ReLU), L2 normalisation, then ``tempo_match`` on the
    fast pairs ``(t, t+1)`` and the slow pairs ``(0, t+1)``; the ``T-1`` pair outputs are
    padded to ``T`` by repeating the last pair. The pair ``(0, 1)``, both fast and slow, is
    matched once.

    Args:
        in_channels: ``C`` of the input.
        num_segments: frames ``T`` per clip.
        reduced_channels: width of the matched features.
        patch_size, sigma, temperature: see :func:`mmaction_tcm.ops.tempo_match`.
        corr_backend: ``'auto'``, ``'native'``, ``'pytorch'`` or ``'mmcv'``.

    Shape: ``(N*T, C, H, W) -> (N*T, 6, H, W)`` with channels
    ``[u_fast, v_fast, c_fast, u_slow, v_slow, c_slow]``.
    """
    out_channels = 6

    def __init__(self, in_channels: int, num_segments: int, reduced_channels: int = 64,
                 patch_size: int = 15, sigma: float = 5.0, temperature: float = 100.0,
                 corr_backend: str = 'auto'):
        super().__init__()
        check_match_arguments(patch_size, sigma, temperature)
        self.num_segments = num_segments
        self.patch_size = patch_size
        self.sigma = sigma
        self.temperature = temperature
        self.corr_backend = corr_backend
        self.channel_reduction = ConvBNStack(
            nn.Conv2d(in_channels, reduced_channels, 1, bias=False),
            nn.BatchNorm2d(reduced_channels),
            nn.ReLU(inplace=True))

    @property
    def corr_backend(self) -> str:
        """The requested backend name; setting it resolves the backend (``self.ops``) once."""
        return self._corr_backend

    @corr_backend.setter
    def corr_backend(self, name: str) -> None:
        self.ops = resolve_backend(name)  # forward only calls self.ops.tempo_match
        self._corr_backend = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = self.num_segments
        # Reduction and normalisation in fp32 even under autocast: in fp16 the 1x1 conv
        # overflows for large features (~1e4), and the normalisation's gain (up to
        # 1/sqrt(1e-6)) times BN's on near-constant maps overflows the backward pass.
        # Without autocast this is the released arithmetic; the matching still autocasts.
        if torch.is_autocast_enabled(x.device.type):
            with torch.autocast(device_type=x.device.type, enabled=False):
                feat = l2_normalize_channels(self.channel_reduction(x.float()))
        else:
            feat = l2_normalize_channels(self.channel_reduction(x))
        NT, C, H, W = feat.shape
        N = NT // T
        feat = feat.view(N, T, C, H, W)
        # fast pairs (t, t+1), t = 0..T-2
        fast = self._match(feat[:, :-1], feat[:, 1:])          # (N, T-1, 3, H, W)
        # slow pairs (0, t+1): (0, 1) is the first fast pair, so only t >= 1 is matched
        if T > 2:
            rest = self._match(feat[:, :1].expand(N, T - 2, C, H, W), feat[:, 2:])
            slow = torch.cat([fast[:, :1], rest], dim=1)
        else:
            slow = fast
        motion = torch.stack([fast, slow], dim=1)               # (N, 2, T-1, 3, H, W)
        motion = torch.cat([motion, motion[:, :, -1:]], dim=2)  # pad T-1 -> T
        return motion.permute(0, 2, 1, 3, 4, 5).reshape(NT, 6, H, W)

    def _match(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """``(N, K, C, H, W)`` pairs of maps -> ``(N, K, 3, H, W)`` ``[u, v, confidence]``.

        Views go in as they are (the ops accept any strides; a broadcast first frame of a
        single clip stays a stride-0 view), so no stacked copies of the features are made.
        """
        N, K, C, H, W = first.shape
        flow, confidence = self.ops.tempo_match(first.reshape(N * K, C, H, W),
                                                second.reshape(N * K, C, H, W),
                                                self.patch_size, self.sigma, self.temperature)
        return torch.cat([flow, confidence], dim=1).view(N, K, 3, H, W)
