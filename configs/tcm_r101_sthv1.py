# TSM-ResNet-101 + TCM (after res3), 8 frames, Sth-V1 (paper Table III; released Sth recipe).
_base_ = [
    './_base_/models/tcm_r50.py', './_base_/datasets/sthv1.py',
    './_base_/schedules/sgd_tsm_50e.py', './_base_/default_runtime.py'
]
model = dict(backbone=dict(depth=101), cls_head=dict(in_channels=2048))
