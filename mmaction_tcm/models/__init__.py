from .backbones import *  # noqa: F401,F403  (registers the backbones)
from .tcm import MTDM, TAM, TCM, TemporalECA

__all__ = ['TCM', 'MTDM', 'TAM', 'TemporalECA', 'ResNetTSMTCM']
