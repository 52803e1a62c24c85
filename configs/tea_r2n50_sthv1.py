# TEA-Res2Net-50 baseline, 8 frames, Something-Something V1 (paper Table III: 48.9 top-1).
# Same data protocol and schedule as the TSM / TCM runs (the paper trains every Table III
# pair with one protocol).
_base_ = [
    './_base_/models/tea_r2n50.py', './_base_/datasets/sthv1.py',
    './_base_/schedules/sgd_tsm_50e.py', './_base_/default_runtime.py'
]
