# TSM-ResNet-50 + TCM (after res3), 8 frames, ucf101 split 1, fine-tuned from the 8-frame Kinetics-400 model
# (paper Table II; TSM's fine-tuning recipe). Other splits: see tcm_r50_16f_ucf101_split2.py
# for the three ann_file fields to override.
_base_ = [
    './_base_/models/tcm_r50.py', './_base_/datasets/ucf101.py',
    './_base_/schedules/sgd_tsm_finetune_25e.py', './_base_/default_runtime.py'
]
model = dict(cls_head=dict(num_classes=101, dropout_ratio=0.8))
# the Kinetics-400 model trained with configs/tcm_r50_k400.py (its classifier is skipped:
# shapes differ); override with --cfg-options load_from=PATH
load_from = 'work_dirs/tcm_r50_k400/epoch_50.pth'
