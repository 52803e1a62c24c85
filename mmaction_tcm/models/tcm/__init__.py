from .conv_bn_stack import ConvBNStack
from .mtdm import MTDM, l2_normalize_channels
from .tam import TemporalAttentionModule, TemporalECA, eca_kernel_size
from .tcm import TCM

__all__ = ['TCM', 'ConvBNStack', 'MTDM', 'TemporalAttentionModule', 'TemporalECA',
           'eca_kernel_size', 'l2_normalize_channels']
