# TSM-ResNet-50 + TCM (after res3), 8 frames, Kinetics-400 (paper Tables II, V; TSM's K400 recipe).
_base_ = [
    './_base_/models/tcm_r50.py', './_base_/datasets/k400.py',
    './_base_/schedules/sgd_tsm_k400_50e.py', './_base_/default_runtime.py'
]
model = dict(cls_head=dict(num_classes=400))
