# Table VIII "MTDM only": TCM after res3 with TAM replaced by a 1x1 conv + BN lifting the 6
# motion channels back to the stage width (see mmaction_tcm.models.TCM, use_tam=False).
_base_ = ['./tcm_r18_sthv1.py']
model = dict(backbone=dict(tcm_cfg=dict(use_tam=False)))
