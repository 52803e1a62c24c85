# I3D-ResNet-50 + TCM after res3 (T = 4 there for 32-frame clips), Something-Something V1.
_base_ = ['./i3d_r50_sthv1.py']

model = dict(backbone=dict(tcm_stages=(1, ), tcm_num_segments=4))
