# Table VII: TSM-ResNet-18 + TCM after res5 (ablation recipe), Sth-V1, 8 frames.
_base_ = ['./tcm_r18_sthv1.py']
# patch size of the release for this stage (15, 15, 7, 3 after res2..res5): the map is
# 7x7 here
model = dict(backbone=dict(tcm_stages=(3, ), tcm_cfg=dict(patch_size=3)))
