"""TSM-ResNet with TCM blocks after chosen stages."""
from typing import Sequence

import torch

from mmaction.models.backbones import ResNetTSM
from mmaction.registry import MODELS

from .tcm_placement import TCMPlacementMixin


@MODELS.register_module()
class ResNetTSMTCM(TCMPlacementMixin, ResNetTSM):
    """MMAction2's ``ResNetTSM`` with a :class:`TCM` after each stage in ``tcm_stages``.

    Args:
        depth: 18, 34, 50, 101 or 152.
        num_segments: frames per clip ``T``.
        tcm_stages: stages followed by a TCM (0 = res2 ... 3 = res5, see
            :class:`TCMPlacementMixin`); ``(1,)`` is the released placement (after res3);
            ``()`` is plain TSM.
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
        self.add_tcms(tcm_stages, num_segments, tcm_cfg)

    def init_weights(self) -> None:
        """ImageNet weights for the trunk (when given); TCM keeps its released init."""
        super().init_weights()
        self.init_tcms()

    def forward(self, x: torch.Tensor):
        if x.dim() != 4 or x.shape[0] % self.num_segments != 0:
            # checked here: the temporal shift in layer1 fails first, with a reshape error
            raise ValueError(f'ResNetTSMTCM input must be (N*T, C, H, W) with a batch that is '
                             f'a multiple of num_segments={self.num_segments}, got shape '
                             f'{tuple(x.shape)}')
        return self.forward_stages(self.maxpool(self.conv1(x)))
