"""TEA-Res2Net (Res2Net-50 26w_4s with TEA's ME and MTA), with optional TCM blocks."""
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from mmaction.models.backbones import ResNet
from mmaction.registry import MODELS

from ...ops.validation import check_int
from .residual_block import ResidualForwardMixin
from .tcm_placement import TCMPlacementMixin
from .tea_modules import MotionExcitation, TemporalConv


class TEABottle2neck(ResidualForwardMixin, nn.Module):
    """Res2Net bottleneck with TEA's motion excitation and multiple temporal aggregation.

    1x1 conv-BN-ReLU (``inplanes -> width*scale``) -> ME -> ``scale`` splits of ``width``;
    splits ``0..scale-2``: (+ previous split's output, normal blocks only) -> temporal conv
    -> 3x3 conv (carries the stride) -> BN -> ReLU; last split: temporal conv only (then a
    3x3 average pool with the block stride in stage blocks); concat -> 1x1 conv-BN
    (``-> planes*4``) -> + shortcut -> ReLU.

    The signature is the one MMAction2's ``make_res_layer`` calls. That helper gives a
    ``downsample`` to exactly the first block of each stage, which is Res2Net's
    ``stype='stage'`` block, so ``downsample is not None`` selects the stage form.
    Submodule names follow Res2Net (``conv1``, ``convs.i``, ``conv3``, ``downsample``;
    the BNs live inside the ``ConvModule``s and map to ``bn1``, ``bns.i``, ``bn3``).
    ``num_segments`` is set by the owning backbone.

    Shape: ``(N*T, inplanes, H, W) -> (N*T, planes*4, H/stride, W/stride)``.
    """

    expansion = 4
    base_width = 26
    scale = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module = None, style: str = 'pytorch',
                 conv_cfg: dict = dict(type='Conv'),
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU', inplace=True), with_cp: bool = False,
                 num_segments: int = 8):
        super().__init__()
        if style != 'pytorch':
            raise ValueError(f"TEABottle2neck supports style='pytorch' only, got {style!r}")
        width = planes * self.base_width // 64
        self.width = width
        self.num_segments = num_segments
        self.is_stage = downsample is not None
        self.with_cp = with_cp
        conv_kw = dict(bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.conv1 = ConvModule(inplanes, width * self.scale, 1, act_cfg=act_cfg, **conv_kw)
        self.me = MotionExcitation(width * self.scale)
        self.tconvs = nn.ModuleList(
            [TemporalConv(width, 'identity') for _ in range(self.scale - 1)]
            + [TemporalConv(width, 'shift')])
        self.convs = nn.ModuleList([
            ConvModule(width, width, 3, stride=stride, padding=dilation, dilation=dilation,
                       act_cfg=act_cfg, **conv_kw) for _ in range(self.scale - 1)])
        self.pool = nn.AvgPool2d(3, stride=stride, padding=1) if self.is_stage else None
        self.conv3 = ConvModule(width * self.scale, planes * self.expansion, 1, act_cfg=None,
                                **conv_kw)
        self.downsample = downsample
        self.relu = nn.ReLU(inplace=True)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        t = self.num_segments
        splits = torch.split(self.me(self.conv1(x), t), self.width, dim=1)
        outs = []
        for i, conv in enumerate(self.convs):
            sp = splits[i] if i == 0 or self.is_stage else outs[-1] + splits[i]
            outs.append(conv(self.tconvs[i](sp, t)))
        last = self.tconvs[-1](splits[-1], t)
        outs.append(self.pool(last) if self.is_stage else last)
        return self.conv3(torch.cat(outs, dim=1))


@MODELS.register_module()
class TEARes2Net(TCMPlacementMixin, ResNet):
    """TEA on the original Res2Net 26w_4s (not v1b), with a TCM after chosen stages.

    MMAction2's ``ResNet`` with :class:`TEABottle2neck` blocks: same stem (7x7/2 conv,
    BN, ReLU, 3x3/2 max pool), stage layout, freezing, ``norm_eval`` / ``partial_bn`` and
    ImageNet loading. ``pretrained`` takes a local ImageNet Res2Net checkpoint in the
    original naming (``conv1``/``bn1``, ``layerX.Y.{conv1,bn1,convs.i,bns.i,conv3,bn3,
    downsample.0,downsample.1}``): MMAction2's torchvision-name loader maps those keys onto
    the ``ConvModule``s, unchanged. ME, temporal convs and TCM are not in such files and
    keep their own init (temporal convs: identity, last split: shift).

    Args:
        depth: 50 (blocks 3, 4, 6, 3) or 101 (3, 4, 23, 3).
        num_segments: frames ``T`` per clip.
        tcm_stages: stages followed by a TCM (0 = res2 ... 3 = res5, see
            :class:`TCMPlacementMixin`); ``(1,)`` places it after res3 as in the paper;
            ``()`` is plain TEA.
        tcm_cfg: extra :class:`TCM` arguments (``patch_size``, ``corr_backend``, ...): one
            dict for every stage, or a list with one dict per entry of ``tcm_stages``.
        pretrained: local ImageNet Res2Net-{50,101} 26w_4s checkpoint, or None.
        **kwargs: forwarded to MMAction2's ``ResNet`` (``norm_eval``, ``frozen_stages``,
            ``out_indices``, ``with_cp``, ...).

    Shape: ``(N*T, 3, H, W) -> (N*T, 2048, H/32, W/32)``.
    """

    arch_settings = {50: (TEABottle2neck, (3, 4, 6, 3)),
                     101: (TEABottle2neck, (3, 4, 23, 3))}

    def __init__(self, depth: int = 50, num_segments: int = 8,
                 tcm_stages: Sequence[int] = (1,), tcm_cfg: dict = None,
                 pretrained: str = None, **kwargs):
        if depth not in self.arch_settings:
            raise ValueError(f'depth must be one of {sorted(self.arch_settings)}, got {depth!r}')
        check_int('num_segments', num_segments, minimum=1)
        super().__init__(depth, pretrained=pretrained, **kwargs)
        self.num_segments = num_segments
        for m in self.modules():
            if isinstance(m, TEABottle2neck):
                m.num_segments = num_segments
        self.add_tcms(tcm_stages, num_segments, tcm_cfg)

    def init_weights(self) -> None:
        """ImageNet Res2Net weights (or Kaiming / constant init) for the trunk; ME,
        temporal convs and TCM then take their own init."""
        super().init_weights()
        for m in self.modules():
            if isinstance(m, (MotionExcitation, TemporalConv)):
                m.init_weights()
        self.init_tcms()

    def forward(self, x: torch.Tensor):
        if x.shape[0] % self.num_segments != 0:
            raise ValueError(f'TEARes2Net input batch {x.shape[0]} is not a multiple of '
                             f'num_segments={self.num_segments}')
        return self.forward_stages(self.maxpool(self.conv1(x)))
