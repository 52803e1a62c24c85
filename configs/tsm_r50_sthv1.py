# TSM-ResNet-50 baseline, 8 frames, Something-Something V1 (paper Tables II, III; released recipe).
_base_ = [
    './_base_/models/tsm_r50.py', './_base_/datasets/sthv1.py',
    './_base_/schedules/sgd_tsm_50e.py', './_base_/default_runtime.py'
]
