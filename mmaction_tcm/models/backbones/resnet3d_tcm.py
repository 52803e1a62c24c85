"""I3D (MMAction2's ResNet3d) with TCM blocks after chosen stages."""
from typing import Sequence

import torch

from mmaction.models.backbones import ResNet3d
from mmaction.registry import MODELS

from .tcm_placement import TCMPlacementMixin


@MODELS.register_module()
class ResNet3dTCM(TCMPlacementMixin, ResNet3d):
    """MMAction2's ``ResNet3d`` with a :class:`TCM` after each stage in ``tcm_stages``.

    Everything else (stem, inflation pattern, 2-D -> 3-D ImageNet weight inflation with
    ``pretrained2d=True``, freezing, ``norm_eval``) is ``ResNet3d``'s; the TCMs are not in
    2-D checkpoints and keep their own init. Each TCM sees the 5-D stage output as
    ``(N*T', C, H', W')`` frames, ``T'`` being the temporal length at that stage.

    Args:
        depth: 18, 34, 50, 101 or 152.
        tcm_stages: stages followed by a TCM (0 = res2 ... 3 = res5, see
            :class:`TCMPlacementMixin`); ``(1,)`` is the paper's placement (after res3);
            ``()`` is plain I3D.
        tcm_num_segments: ``T'`` at the TCM stage: 4 for a 32-frame clip through the
            I3D-R50 config (conv1 and pool1 each halve T, pool2 after res2 halves it again).
        tcm_cfg: extra :class:`TCM` arguments (``patch_size``, ``corr_backend``, ...): one
            dict for every stage, or a list with one dict per entry of ``tcm_stages``.
        **kwargs: forwarded to ``ResNet3d``.

    Shape: ``(N, 3, T, H, W) -> (N, C_out, T_out, H_out, W_out)``.
    """

    tcm_features_5d = True

    def __init__(self, depth: int = 50, tcm_stages: Sequence[int] = (1,),
                 tcm_num_segments: int = 4, tcm_cfg: dict = None, **kwargs):
        super().__init__(depth, **kwargs)
        self.tcm_num_segments = tcm_num_segments
        self.add_tcms(tcm_stages, tcm_num_segments, tcm_cfg)

    def init_weights(self, pretrained: str = None) -> None:
        """``ResNet3d`` init (inflated 2-D ImageNet weights or from scratch); TCM keeps
        its released init."""
        super().init_weights(pretrained)
        self.init_tcms()

    def after_stage(self, stage: int, x: torch.Tensor) -> torch.Tensor:
        """``ResNet3d``'s temporal pool2 after res2 (when enabled), then the stage's TCM."""
        if stage == 0 and self.with_pool2:
            x = self.pool2(x)
        return super().after_stage(stage, x)

    def forward(self, x: torch.Tensor):
        x = self.conv1(x)
        if self.with_pool1:
            x = self.maxpool(x)
        return self.forward_stages(x)
