"""3D-ResNeXt (Hara et al. / MARS), built on MMAction2's ResNet3d, with optional TCM."""
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch.nn.modules.utils import _triple

from mmaction.registry import MODELS

from .resnet3d_tcm import ResNet3dTCM
from .residual_block import ResidualForwardMixin


class ResNeXtBottleneck3d(ResidualForwardMixin, BaseModule):
    """ResNeXt bottleneck: 1x1x1 conv -> grouped 3x3x3 conv (``cardinality`` groups,
    carries the stride in T, H and W) -> 1x1x1 conv to ``planes * 2``, each with BN (ReLU
    after the first two); + shortcut -> ReLU.

    The signature is the one ``ResNet3d.make_res_layer`` calls; ``cardinality`` arrives
    through its ``**kwargs``. The middle width is ``planes`` (``cardinality * planes/32``
    for cardinality 32).

    Shape: ``(N, inplanes, T, H, W) -> (N, planes*2, T/ts, H/ss, W/ss)``.
    """

    expansion = 2

    def __init__(self, inplanes: int, planes: int, spatial_stride: int = 1,
                 temporal_stride: int = 1, dilation: int = 1, downsample: nn.Module = None,
                 style: str = 'pytorch', inflate: bool = True, inflate_style: str = '3x3x3',
                 non_local: bool = False, non_local_cfg: dict = dict(),
                 conv_cfg: dict = dict(type='Conv3d'), norm_cfg: dict = dict(type='BN3d'),
                 act_cfg: dict = dict(type='ReLU'), with_cp: bool = False,
                 cardinality: int = 32, init_cfg: dict = None):
        super().__init__(init_cfg=init_cfg)
        if style != 'pytorch' or inflate_style != '3x3x3' or non_local:
            raise ValueError("ResNeXtBottleneck3d supports style='pytorch', "
                             "inflate_style='3x3x3' and non_local=False only, got "
                             f'style={style!r}, inflate_style={inflate_style!r}, '
                             f'non_local={non_local!r}')
        if planes % cardinality != 0:
            raise ValueError(f'planes ({planes}) must be divisible by cardinality '
                             f'({cardinality})')
        kt = 3 if inflate else 1
        kw = dict(bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.conv1 = ConvModule(inplanes, planes, 1, act_cfg=act_cfg, **kw)
        self.conv2 = ConvModule(planes, planes, (kt, 3, 3),
                                stride=(temporal_stride, spatial_stride, spatial_stride),
                                padding=(kt // 2, dilation, dilation),
                                dilation=(1, dilation, dilation), groups=cardinality,
                                act_cfg=act_cfg, **kw)
        self.conv3 = ConvModule(planes, planes * self.expansion, 1, act_cfg=None, **kw)
        self.downsample = downsample
        self.relu = nn.ReLU(inplace=True)
        self.with_cp = with_cp

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.conv2(self.conv1(x)))


@MODELS.register_module()
class ResNeXt3d(ResNet3dTCM):
    """3D-ResNeXt (Hara et al., the TCM paper's 16 x 112^2 3-D row), optionally with TCM.

    A ``ResNet3d`` whose stem is 7x7x7 conv (stride 1, 2, 2) -> BN -> ReLU -> 3x3x3 max
    pool (stride 2 in T, H, W) with 64 channels, and whose stages are
    :class:`ResNeXtBottleneck3d` blocks (planes 128, 256, 512, 1024; outputs 256 ... 2048;
    stride 2 in T, H and W from res3 on; shortcut type B = 1x1x1 conv + BN where the shape
    changes). No pool2. Depth 101 = blocks (3, 4, 23, 3).

    Args:
        depth: 50, 101 or 152.
        cardinality: groups of the 3x3x3 convs (32).
        tcm_stages: stages followed by a TCM (0 = res2 ...); ``()`` (default) = plain
            3D-ResNeXt, ``(1,)`` = the paper's TCM after res3.
        tcm_num_segments: temporal length at the TCM stage (4 for 16-frame clips at res3).
        tcm_cfg: extra :class:`TCM` arguments.
        pretrained: a local 3-D checkpoint in this module's naming (loaded directly), or
            None.
        **kwargs: forwarded to ``ResNet3d`` (``norm_eval``, ``frozen_stages``, ...).

    Shape: ``(N, 3, T, H, W) -> (N, 2048, T/16, H/32, W/32)``; 16 x 112^2 gives res3
    ``(N, 512, 4, 14, 14)``.
    """

    arch_settings = {50: (ResNeXtBottleneck3d, (3, 4, 6, 3)),
                     101: (ResNeXtBottleneck3d, (3, 4, 23, 3)),
                     152: (ResNeXtBottleneck3d, (3, 8, 36, 3))}
    stem_channels = 64

    def __init__(self, depth: int = 101, cardinality: int = 32,
                 tcm_stages: Sequence[int] = (), tcm_num_segments: int = 4,
                 tcm_cfg: dict = None, pretrained: str = None, **kwargs):
        if depth not in self.arch_settings:
            raise ValueError(f'depth must be one of {sorted(self.arch_settings)}, got {depth!r}')
        defaults = dict(base_channels=128, conv1_kernel=(7, 7, 7), conv1_stride_t=1,
                        pool1_stride_t=2, with_pool2=False, spatial_strides=(1, 2, 2, 2),
                        temporal_strides=(1, 2, 2, 2), inflate=(1, 1, 1, 1),
                        inflate_style='3x3x3', zero_init_residual=False, pretrained2d=False)
        super().__init__(depth, tcm_stages=tcm_stages, tcm_num_segments=tcm_num_segments,
                         tcm_cfg=tcm_cfg, pretrained=pretrained, cardinality=cardinality,
                         **{**defaults, **kwargs})
        self.cardinality = cardinality

    def _make_stem_layer(self) -> None:
        """Hara's stem: 64-channel 7x7x7 conv-BN-ReLU, then a 3x3x3 max pool."""
        kernel = _triple(self.conv1_kernel)
        self.conv1 = ConvModule(
            self.in_channels, self.stem_channels, kernel,
            stride=(self.conv1_stride_t, self.conv1_stride_s, self.conv1_stride_s),
            padding=tuple((k - 1) // 2 for k in kernel), bias=False,
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.maxpool = nn.MaxPool3d(
            3, stride=(self.pool1_stride_t, self.pool1_stride_s, self.pool1_stride_s),
            padding=1)
        self.pool2 = nn.MaxPool3d(kernel_size=(2, 1, 1), stride=(2, 1, 1))
        self.inplanes = self.stem_channels  # res2 takes the stem width, not base_channels
