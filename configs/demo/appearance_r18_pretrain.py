# Stage 1 of the tempo demo (tools/run_tempo_demo.py): the stand-in for ImageNet
# pretraining. A 2-D ResNet-18 (MMAction2's ResNet, the trunk TSM and TCM share) learns
# to classify single frames of the synthetic world by APPEARANCE ONLY: 12 classes =
# 4 shapes x 3 hue families of the objects (mmaction_tcm.datasets.tempo_videos,
# APPEARANCE_CLASSES); the motion drawn in each video is independent of the label.
# One random frame of each 8-frame video per epoch (SampleFrames clip_len=1), flipped at
# random (shapes and colours are mirror-symmetric). From scratch: AdamW, warm-up, cosine.
#
# Data: python tools/data/generate_tempo_videos.py data/tempo_appearance --task appearance
_base_ = ['../_base_/default_runtime.py']

input_size = 64
num_classes = 12

model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', depth=18, pretrained=None, norm_eval=False),
    cls_head=dict(
        type='TSNHead',
        num_classes=num_classes,
        in_channels=512,
        spatial_type='avg',
        consensus=dict(type='AvgConsensus', dim=1),
        dropout_ratio=0.2,
        init_std=0.01,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCHW'))

dataset_type = 'VideoDataset'
data_root = 'data/tempo_appearance'
file_client_args = dict(io_backend='disk')

train_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]


def _loader(split, pipeline, batch_size, shuffle, test_mode=False):
    return dict(
        batch_size=batch_size,
        num_workers=1,
        persistent_workers=True,
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
        dataset=dict(type=dataset_type, ann_file=f'{data_root}/{split}_list.txt',
                     data_prefix=dict(video=data_root), pipeline=pipeline,
                     test_mode=test_mode))


train_dataloader = _loader('train', train_pipeline, 32, True)
val_dataloader = _loader('val', test_pipeline, 64, False, True)
test_dataloader = _loader('test', test_pipeline, 64, False, True)

val_evaluator = dict(type='AccMetric', metric_list=('top_k_accuracy', 'mean_class_accuracy'))
test_evaluator = val_evaluator

max_epochs = 6
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
                 val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.04, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True)
]
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))
