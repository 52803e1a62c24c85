# Table VII: TSM-ResNet-18 + TCM after res2345 (ablation recipe), Sth-V1, 8 frames.
_base_ = ['./tcm_r18_sthv1.py']
model = dict(backbone=dict(tcm_stages=(0, 1, 2, 3)))
