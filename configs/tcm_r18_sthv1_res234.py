# Table VII: TSM-ResNet-18 + TCM after res234 (ablation recipe), Sth-V1, 8 frames.
_base_ = ['./tcm_r18_sthv1.py']
# one tcm_cfg serves every stage: patch 15 throughout (the release's single-stage sizes
# were 15, 15, 7, 3 after res2..res5)
model = dict(backbone=dict(tcm_stages=(0, 1, 2)))
