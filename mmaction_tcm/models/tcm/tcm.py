"""Temporal Correlation Module: ``x + TAM(MTDM(x))``."""
import torch
import torch.nn as nn

from mmaction.registry import MODELS

from ...ops.backends import check_backend_name
from ...ops.validation import check_int, check_match_arguments
from .conv_bn_stack import ConvBNStack
from .mtdm import MTDM
from .tam import TemporalAttentionModule


@MODELS.register_module()
class TCM(nn.Module):
    """Temporal Correlation Module (released structure by default).

    Args:
        in_channels: channels ``C`` of the input (512 after res3 of ResNet-50).
        num_segments: frames ``T`` per clip, ``>= 2``.
        reduced_channels: MTDM matching width (64).
        patch_size: odd displacement window ``P`` (15, radius 7).
        sigma: Gaussian std of the kernel-softmax (5.0).
        temperature: softmax scale (100 = 1 / 0.01).
        use_mtdm: False gives the Table VIII "TAM only" variant: the matching is replaced by
            a 1x1 conv + BN + ReLU projecting ``C`` to the 6 channels TAM expects, so TAM
            aggregates appearance features instead of motion.
        use_tam: False gives the "MTDM only" variant: TAM (its conv stack and temporal
            attention) is replaced by a 1x1 conv + BN lifting the 6 motion channels to ``C``.
        corr_backend: ``'auto'``, ``'native'``, ``'pytorch'`` or ``'mmcv'``.

    Shape: ``(N*T, C, H, W) -> (N*T, C, H, W)``.
    """

    def __init__(self, in_channels: int, num_segments: int, reduced_channels: int = 64,
                 patch_size: int = 15, sigma: float = 5.0, temperature: float = 100.0,
                 use_mtdm: bool = True, use_tam: bool = True, corr_backend: str = 'auto'):
        super().__init__()
        check_int('in_channels', in_channels, minimum=1)
        check_int('num_segments', num_segments, minimum=2)
        check_int('reduced_channels', reduced_channels, minimum=1)
        check_match_arguments(patch_size, sigma, temperature)
        check_backend_name(corr_backend)
        if not (use_mtdm or use_tam):
            raise ValueError('use_mtdm and use_tam cannot both be False (that is no TCM: '
                             'leave the stage out of tcm_stages instead)')
        self.in_channels = in_channels
        self.num_segments = num_segments
        if use_mtdm:
            self.mtdm = MTDM(in_channels, num_segments, reduced_channels, patch_size,
                             sigma, temperature, corr_backend)
        else:
            self.mtdm = ConvBNStack(nn.Conv2d(in_channels, MTDM.out_channels, 1, bias=False),
                                    nn.BatchNorm2d(MTDM.out_channels), nn.ReLU(inplace=True))
        if use_tam:
            self.tam = TemporalAttentionModule(in_channels, num_segments, MTDM.out_channels)
        else:
            self.tam = ConvBNStack(nn.Conv2d(MTDM.out_channels, in_channels, 1, bias=False),
                                   nn.BatchNorm2d(in_channels))
        self.init_weights()

    def init_weights(self) -> None:
        """As released: kaiming normal (fan_out) 2-D convs, BN weight 1 and bias 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f'TCM input must be (N*T, C, H, W), got shape {tuple(x.shape)}')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'TCM expects {self.in_channels} channels (in_channels), got '
                             f'{x.shape[1]} channels')
        if x.shape[0] % self.num_segments != 0:
            raise ValueError(f'TCM input batch {x.shape[0]} is not a multiple of '
                             f'num_segments={self.num_segments}')
        if isinstance(self.tam, TemporalAttentionModule):  # fuses the residual add into the attention product
            return self.tam(self.mtdm(x), residual=x)
        return x + self.tam(self.mtdm(x))
