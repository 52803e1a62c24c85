# TSM-ResNet-18 baseline, 8 frames, Sth-V1 (paper Table III; ablation recipe of Sec. IV-C: Table VII's baseline row equals Table III's).
_base_ = [
    './_base_/models/tsm_r50.py', './_base_/datasets/sthv1.py',
    './_base_/schedules/sgd_tsm_ablation_40e.py', './_base_/default_runtime.py'
]
model = dict(backbone=dict(depth=18), cls_head=dict(in_channels=512))
