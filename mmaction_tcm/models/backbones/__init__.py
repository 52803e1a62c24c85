from .resnet_tsm_tcm import ResNetTSMTCM
from .tcm_placement import add_tcm_blocks, check_tcm_stages, tcm_name

__all__ = ['ResNetTSMTCM', 'add_tcm_blocks', 'check_tcm_stages', 'tcm_name']
