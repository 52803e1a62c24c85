# Table VII: TSM-ResNet-18 + TCM after res2345 (ablation recipe), Sth-V1, 8 frames.
_base_ = ['./tcm_r18_sthv1.py']
# one tcm_cfg per stage, with the patch size of the single-stage configs
# (15, 15, 7, 3 after res2..res5: the window stays within the smaller deep maps)
model = dict(backbone=dict(
    tcm_stages=(0, 1, 2, 3),
    tcm_cfg=[dict(patch_size=15), dict(patch_size=15), dict(patch_size=7),
             dict(patch_size=3)]))
