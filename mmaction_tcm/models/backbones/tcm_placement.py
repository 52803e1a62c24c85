"""Placing TCM blocks after backbone stages (shared by every TCM backbone)."""
from typing import List, Sequence, Tuple

import torch.nn as nn

from ..tcm import TCM


def check_tcm_stages(tcm_stages: Sequence[int], num_stages: int) -> Tuple[int, ...]:
    """Validate ``tcm_stages`` (stage indices, 0 = res2 ... 3 = res5)."""
    if isinstance(tcm_stages, int) or not isinstance(tcm_stages, (tuple, list)):
        raise TypeError(f'tcm_stages must be a tuple of stage indices, got {tcm_stages!r}')
    stages = tuple(tcm_stages)
    for s in stages:
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < num_stages:
            raise ValueError(f'tcm_stages entries must be ints in [0, {num_stages - 1}] '
                             f'(0 = res2), got {tcm_stages!r}')
    if len(set(stages)) != len(stages):
        raise ValueError(f'tcm_stages has repeated entries: {tcm_stages!r}')
    return tuple(sorted(stages))


def tcm_name(stage: int) -> str:
    """Attribute name of the TCM after stage ``stage`` (``layer{stage+1}``)."""
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


def add_tcm_blocks(backbone: nn.Module, stages: Tuple[int, ...], channels: Sequence[int],
                   num_segments: int, tcm_cfg) -> None:
    """Attach one :class:`TCM` per stage in ``stages`` as ``backbone.tcm_after_layerK``."""
    for s, cfg in zip(stages, per_stage_tcm_cfgs(tcm_cfg, stages)):
        setattr(backbone, tcm_name(s), TCM(channels[s], num_segments, **cfg))
