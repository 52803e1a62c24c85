from .mtdm import MTDM, l2_normalize_channels
from .tam import TAM, TemporalECA, eca_kernel_size
from .tcm import TCM

__all__ = ['TCM', 'MTDM', 'TAM', 'TemporalECA', 'eca_kernel_size', 'l2_normalize_channels']
