# TSM-ResNet-50 + TCM, 16 frames, hmdb51 split 1, fine-tuned from the 16-frame Kinetics-400
# model (paper Table VI: mean top-1 over splits 1-3; test: 2 clips, centre crop).
_base_ = [
    './_base_/models/tcm_r50.py', './_base_/datasets/hmdb51_16f.py',
    './_base_/schedules/sgd_tsm_finetune_25e.py', './_base_/default_runtime.py'
]
model = dict(
    backbone=dict(num_segments=16),
    cls_head=dict(num_segments=16, num_classes=51, dropout_ratio=0.8))
# the model trained with configs/tcm_r50_16f_k400.py (its classifier is skipped: shapes
# differ); override with --cfg-options load_from=PATH
load_from = 'work_dirs/tcm_r50_16f_k400/epoch_50.pth'
