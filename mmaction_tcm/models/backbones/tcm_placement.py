"""Where TCM blocks sit in a backbone: one mixin shared by every TCM backbone.

Stage numbering (the one numbering of mmaction_tcm): stage ``k`` = 0 .. 3 is the backbone's
``layer{k+1}`` and the paper's ``res{k+2}``, counted as MMAction2 counts ``out_indices``.
``tcm_stages`` lists stage indices ``k``; the TCM after stage ``k`` is the submodule (and the
checkpoint-key prefix) ``tcm_after_layer{k+1}``; config files name a placement by the paper's
stage (``tcm_r18_sthv1_res3.py`` is ``tcm_stages=(1,)``, the released placement).
"""
from typing import List, Optional, Sequence, Tuple

import torch

from ...ops.validation import check_int
from ..tcm import TCM
from .tcm_5d import apply_tcm_5d


def check_tcm_stages(tcm_stages: Sequence[int], num_stages: int) -> Tuple[int, ...]:
    """Validate ``tcm_stages`` (stage indices, 0 = res2 ... 3 = res5); returns them sorted."""
    if isinstance(tcm_stages, int) or not isinstance(tcm_stages, (tuple, list)):
        raise TypeError(f'tcm_stages must be a tuple of stage indices, got {tcm_stages!r}')
    stages = tuple(tcm_stages)
    for s in stages:
        check_int('tcm_stages entries (0 = res2)', s, minimum=0, maximum=num_stages - 1)
    if len(set(stages)) != len(stages):
        raise ValueError(f'tcm_stages has repeated entries: {tcm_stages!r}')
    return tuple(sorted(stages))


def tcm_name(stage: int) -> str:
    """Attribute name of the TCM after stage ``stage`` (``tcm_after_layer{stage+1}``)."""
    return f'tcm_after_layer{stage + 1}'


def per_stage_tcm_cfgs(tcm_cfg, stages: Tuple[int, ...]) -> List[dict]:
    """``tcm_cfg`` as one dict per stage.

    ``None`` or a dict applies to every stage; a list / tuple gives one dict per entry of
    ``stages`` (ascending stage order), e.g. ``[dict(patch_size=15), dict(patch_size=7)]``.
    """
    if tcm_cfg is None or isinstance(tcm_cfg, dict):
        return [dict(tcm_cfg or {}) for _ in stages]
    if isinstance(tcm_cfg, (list, tuple)) and all(isinstance(c, dict) for c in tcm_cfg):
        if len(tcm_cfg) != len(stages):
            raise ValueError(f'tcm_cfg has {len(tcm_cfg)} entries but tcm_stages={stages} '
                             f'has {len(stages)}: give one dict per stage or a single dict')
        return [dict(c) for c in tcm_cfg]
    raise TypeError(f'tcm_cfg must be a dict or a list of dicts (one per stage), got '
                    f'{tcm_cfg!r}')


class TCMPlacementMixin:
    """TCM blocks after chosen stages of an MMAction2 ResNet-family backbone.

    Stages are numbered as in the module docstring (``k`` = 0 is ``layer1`` = res2). The
    mixin owns everything about the placement: the channels of each stage, building one
    :class:`TCM` per entry of ``tcm_stages`` as ``tcm_after_layer{k+1}``, their init, and
    the stage loop that calls them. A backbone lists it before its MMAction2 base class and

    * calls :meth:`add_tcms` at the end of ``__init__``;
    * calls :meth:`init_tcms` at the end of ``init_weights`` (the released TCM init, after
      the trunk's ImageNet / inflated / scratch init);
    * ends ``forward`` with ``return self.forward_stages(stem_output)``.

    Backbones whose stages give ``(N, C, T, H, W)`` set ``tcm_features_5d = True``; their
    TCMs see the frames ``(N*T, C, H, W)`` (:func:`apply_tcm_5d`). Anything else a backbone
    runs between stages goes in an override of :meth:`after_stage` (I3D's pool2).
    """

    tcm_features_5d = False

    def add_tcms(self, tcm_stages: Sequence[int], num_segments: int, tcm_cfg=None) -> None:
        """Build the TCMs: ``tcm_after_layer{k+1} = TCM(stage_channels(k), num_segments)``.

        Args:
            tcm_stages: stage indices ``k``; validated and stored sorted as
                ``self.tcm_stages``.
            num_segments: time steps ``T`` at the TCM stages.
            tcm_cfg: extra :class:`TCM` arguments: one dict for every stage, or a list with
                one dict per entry of ``tcm_stages``.
        """
        self.tcm_stages = check_tcm_stages(tcm_stages, self.num_stages)
        for stage, cfg in zip(self.tcm_stages, per_stage_tcm_cfgs(tcm_cfg, self.tcm_stages)):
            setattr(self, tcm_name(stage), TCM(self.stage_channels(stage), num_segments, **cfg))

    def stage_channels(self, stage: int) -> int:
        """Output channels of stage ``stage``: every stage doubles the width, the last has
        ``feat_dim`` (set by MMAction2's ``ResNet`` and ``ResNet3d``)."""
        return self.feat_dim // 2 ** (self.num_stages - 1 - stage)

    def tcm_after(self, stage: int) -> Optional[TCM]:
        """The TCM after stage ``stage``, or None."""
        return getattr(self, tcm_name(stage)) if stage in self.tcm_stages else None

    def init_tcms(self) -> None:
        """The released TCM init (Kaiming fan-out convs, BN 1 / 0), in stage order."""
        for stage in self.tcm_stages:
            self.tcm_after(stage).init_weights()

    def after_stage(self, stage: int, x: torch.Tensor) -> torch.Tensor:
        """What runs on the output of stage ``stage``: its TCM, if there is one."""
        tcm = self.tcm_after(stage)
        if tcm is None:
            return x
        return apply_tcm_5d(tcm, x) if self.tcm_features_5d else tcm(x)

    def forward_stages(self, x: torch.Tensor):
        """The residual stages on the stem output ``x``, :meth:`after_stage` after each.

        Returns the features of the stages in ``out_indices`` (one tensor when there is one
        index, a tuple otherwise), as MMAction2's ``ResNet.forward`` does.
        """
        outs = []
        for stage, layer_name in enumerate(self.res_layers):
            x = self.after_stage(stage, getattr(self, layer_name)(x))
            if stage in self.out_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)

