# 3D-ResNeXt-101 + TCM after res3 (T = 4 there for 16-frame clips), 16 x 112^2,
# Something-Something V1 (paper Table III: 26.1 top-1).
_base_ = ['./resnext3d101_sthv1.py']

model = dict(backbone=dict(tcm_stages=(1, ), tcm_num_segments=4))
