# TSM-ResNet-50 + TCM, 16 frames, sthv2 (paper Table IV).
_base_ = [
    './_base_/models/tcm_r50.py', './_base_/datasets/sthv2_16f.py',
    './_base_/schedules/sgd_tsm_50e.py', './_base_/default_runtime.py'
]
model = dict(backbone=dict(num_segments=16), cls_head=dict(num_segments=16))
