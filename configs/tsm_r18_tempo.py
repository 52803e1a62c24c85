# TSM-ResNet-18, 8 frames of 64x64, fine-tuned from the appearance-pretrained trunk
# (stage 1, configs/demo/appearance_r18_pretrain.py) on the synthetic tempo videos, whose
# classes differ only in motion: the baseline of the demo (tools/run_tempo_demo.py).
#
# Recipe: MMAction2's TSM fine-tuning settings scaled down to a 2-core CPU -- SGD momentum
# 0.9, weight decay 5e-4 (none on BN / biases, new classifier at 5x / 10x lr:
# TSMOptimWrapperConstructor fc_lr5), lr 0.01 for a total batch of 32 rescaled linearly to
# the real batch (auto_scale_lr: 0.0025 at batch 8), gradient clip 20, the fine-tuning
# head init (init_std 0.001), dropout 0.5. The 50-epoch step schedule becomes a short
# linear warm-up and a per-iteration cosine decay over the demo's few epochs.
#
# Trunk: `pretrained` is the torchvision-format ResNet-18 written by stage 1; the demo
# passes the path of its cached copy. Data: tools/data/generate_tempo_videos.py.
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
        pretrained='work_dirs/appearance_pretrain/resnet18_appearance.pth',
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
        init_std=0.001,
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


def _loader(split, pipeline, batch_size, shuffle, test_mode=False):
    return dict(
        batch_size=batch_size,
        num_workers=1,
        persistent_workers=True,
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
        dataset=dict(type=dataset_type, ann_file=f'{data_root}/{split}_list.txt',
                     data_prefix=dict(video=data_root), pipeline=pipeline,
                     test_mode=test_mode))


train_dataloader = _loader('train', train_pipeline, 8, True)
val_dataloader = _loader('val', val_pipeline, 16, False, True)
test_dataloader = _loader('test', test_pipeline, 16, False, True)

val_evaluator = dict(type='AccMetric',
                     metric_list=('top_k_accuracy', 'mean_class_accuracy'))
test_evaluator = val_evaluator

max_epochs = 2
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
                 val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True)
]
optim_wrapper = dict(
    constructor='TSMOptimWrapperConstructor',
    paramwise_cfg=dict(fc_lr5=True),
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    clip_grad=dict(max_norm=20, norm_type=2))
auto_scale_lr = dict(enable=True, base_batch_size=32)

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))

randomness = dict(seed=0, deterministic=False)
