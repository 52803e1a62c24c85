from .backbones import *  # noqa: F401,F403  (registers the backbones)
from .tcm import MTDM, TCM, TemporalAttentionModule, TemporalECA

__all__ = ['TCM', 'MTDM', 'TemporalAttentionModule', 'TemporalECA', 'ResNetTSMTCM']
