from .resnet3d_tcm import ResNet3dTCM
from .resnet_tsm_tcm import ResNetTSMTCM
from .resnext3d import ResNeXt3d
from .tcm_placement import TCMPlacementMixin, check_tcm_stages, tcm_name
from .tea_res2net import TEARes2Net

__all__ = ['ResNetTSMTCM', 'TEARes2Net', 'ResNet3dTCM', 'ResNeXt3d', 'TCMPlacementMixin',
           'check_tcm_stages', 'tcm_name']
