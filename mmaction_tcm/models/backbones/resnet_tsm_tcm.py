"""TSM-ResNet with TCM blocks after chosen stages."""
from typing import Sequence

import torch

from mmaction.models.backbones import ResNetTSM
from mmaction.registry import MODELS

from .tcm_placement import add_tcm_blocks, check_tcm_stages, tcm_name


@MODELS.register_module()
class ResNetTSMTCM(ResNetTSM):
    """MMAction2's ``ResNetTSM`` with a :class:`TCM` after each stage in ``tcm_stages``.

    Args:
        depth: 18, 34, 50, 101 or 152.
        num_segments: frames per clip ``T``.
        tcm_stages: stage indices followed by a TCM (0 = res2 ... 3 = res5); ``(1,)`` is
            the released placement (after res3); ``()`` is plain TSM.
        tcm_cfg: extra :class:`TCM` arguments (``patch_size``, ``corr_backend``, ...): one
            dict for every stage, or a list with one dict per entry of ``tcm_stages``.
        pretrained: a local torchvision-format ImageNet checkpoint, or None.
        **kwargs: forwarded to ``ResNetTSM`` (``shift_div``, ``norm_eval``, ...).

    Shape: ``(N*T, 3, H, W) -> (N*T, C_out, H/32, W/32)``.
    """

    def __init__(self, depth: int, num_segments: int = 8, tcm_stages: Sequence[int] = (1,),
                 tcm_cfg: dict = None, pretrained: str = None, **kwargs):
        if pretrained is None:
            kwargs['pretrained2d'] = False  # ResNetTSM would try to load `None`
        super().__init__(depth, num_segments=num_segments, pretrained=pretrained, **kwargs)
        self.tcm_stages = check_tcm_stages(tcm_stages, self.num_stages)
        channels = [self.block.expansion * 64 * 2 ** i for i in range(self.num_stages)]
        add_tcm_blocks(self, self.tcm_stages, channels, num_segments, tcm_cfg)

    def init_weights(self) -> None:
        """ImageNet weights for the trunk (when given); TCM keeps its released init."""
        super().init_weights()
        for s in self.tcm_stages:
            getattr(self, tcm_name(s)).init_weights()

    def forward(self, x: torch.Tensor):
        if x.dim() != 4 or x.shape[0] % self.num_segments != 0:
            # checked here: the temporal shift in layer1 fails first, with a reshape error
            raise ValueError(f'ResNetTSMTCM input must be (N*T, C, H, W) with a batch that is '
                             f'a multiple of num_segments={self.num_segments}, got shape '
                             f'{tuple(x.shape)}')
        x = self.conv1(x)
        x = self.maxpool(x)
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.tcm_stages:
                x = getattr(self, tcm_name(i))(x)
            if i in self.out_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)
