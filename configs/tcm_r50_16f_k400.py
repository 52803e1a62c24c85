# TSM-ResNet-50 + TCM, 16 frames, k400 (paper Table V, IX).
_base_ = [
    './_base_/models/tcm_r50.py', './_base_/datasets/k400_16f.py',
    './_base_/schedules/sgd_tsm_k400_50e.py', './_base_/default_runtime.py'
]
model = dict(backbone=dict(num_segments=16), cls_head=dict(num_segments=16, num_classes=400))
