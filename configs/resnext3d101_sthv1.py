# 3D-ResNeXt-101 baseline, 16 x 112^2 clips, Something-Something V1 (paper Table III,
# "3D-ResNeXt from [41]": 24.5 top-1, 9.6 GFLOPs, 47.8M params).
_base_ = [
    './_base_/models/resnext3d101.py', './_base_/datasets/sthv1_3d_16x112.py',
    './_base_/schedules/sgd_tsm_50e.py', './_base_/default_runtime.py'
]
