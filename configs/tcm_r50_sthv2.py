# TSM-ResNet-50 + TCM (after res3), 8 frames, Something-Something V2 (paper Tables II, IV, X; released recipe).
_base_ = [
    './_base_/models/tcm_r50.py', './_base_/datasets/sthv2.py',
    './_base_/schedules/sgd_tsm_50e.py', './_base_/default_runtime.py'
]
