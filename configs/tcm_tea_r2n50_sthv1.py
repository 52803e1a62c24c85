# TEA-Res2Net-50 + TCM after res3, 8 frames, Something-Something V1 (paper Table III: 50.6).
_base_ = ['./tea_r2n50_sthv1.py']

model = dict(backbone=dict(tcm_stages=(1, )))
