# TSM-ResNet-18, 8 frames, trained from scratch on the synthetic tempo videos
# (tools/data/generate_tempo_videos.py): the baseline of the CPU demo
# (tools/run_tempo_demo.py). Sized for a 2-core CPU: 64x64 frames, 8 frames per clip
# taken every 4th frame of a 32-frame video, 4 epochs of batch 8.
#
# Data: python tools/data/generate_tempo_videos.py data/tempo_videos
_base_ = ['./_base_/default_runtime.py']

num_frames = 8
frame_interval = 4  # 8 x 4 covers the whole 32-frame video
input_size = 64
num_classes = 12

model = dict(
    type='Recognizer2D',
    backbone=dict(
        type='ResNetTSMTCM',
        depth=18,
        num_segments=num_frames,
        tcm_stages=(),  # plain TSM
        tcm_cfg=dict(),
        pretrained=None,
        norm_eval=False,
        shift_div=8),
    cls_head=dict(
        type='TSMHead',
        num_classes=num_classes,
        in_channels=512,
        num_segments=num_frames,
        spatial_type='avg',
        consensus=dict(type='AvgConsensus', dim=1),
        dropout_ratio=0.5,
        # From scratch: MMAction2's 0.001 (meant for fine-tuning an ImageNet backbone) keeps
        # TSM at chance for this whole 4-epoch budget; 0.025 ~ PyTorch's default Linear init.
        init_std=0.025,
        is_shift=True,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCHW'))

dataset_type = 'VideoDataset'
data_root = 'data/tempo_videos'
file_client_args = dict(io_backend='disk')

# No flips: left / right are classes. No crops: positions are already random.
train_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=num_frames, frame_interval=frame_interval,
         num_clips=1, out_of_bound_opt='repeat_last'),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
# The test clip repeats the last frame when the video is too short (paper, Fig. 4);
# tools/analysis/tempo_robustness.py changes `frame_interval` here.
test_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=num_frames, frame_interval=frame_interval,
         num_clips=1, test_mode=True, out_of_bound_opt='repeat_last'),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
val_pipeline = test_pipeline

train_dataloader = dict(
    batch_size=8,  # 240 updates per epoch: more steps for the same compute
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=f'{data_root}/train_list.txt',
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=f'{data_root}/val_list.txt',
        data_prefix=dict(video=data_root),
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=f'{data_root}/test_list.txt',
        data_prefix=dict(video=data_root),
        pipeline=test_pipeline,
        test_mode=True))

val_evaluator = dict(type='AccMetric',
                     metric_list=('top_k_accuracy', 'mean_class_accuracy'))
test_evaluator = val_evaluator

max_epochs = 4
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
                 val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# From scratch: AdamW, 50 iterations of linear warm-up, cosine decay to zero (per iteration).
param_scheduler = [
    dict(type='LinearLR', start_factor=0.04, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True)
]
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))

randomness = dict(seed=0, deterministic=False)
