# Table VIII "TAM only": TCM after res3 with the matching (MTDM) replaced by a 1x1 conv + BN +
# ReLU projecting the features to TAM's 6 input channels (TCM, use_mtdm=False).
_base_ = ['./tcm_r18_sthv1.py']
model = dict(backbone=dict(tcm_cfg=dict(use_mtdm=False)))
