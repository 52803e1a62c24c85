# TSM-ResNet-50 + one TCM right after res3 (stage index 1): the released TCM-R50.
# Set `model.backbone.tcm_stages` to move / add TCMs (stage k = layer{k+1} = res{k+2}:
# 0 = res2 ... 3 = res5, see docs/design.md "Stage numbering") and
# `model.backbone.tcm_cfg` for TCM arguments (patch_size, use_mtdm, use_tam, corr_backend...).
_base_ = ['./tsm_r50.py']

model = dict(backbone=dict(tcm_stages=(1, ), tcm_cfg=dict()))
