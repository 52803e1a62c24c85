# HMDB-51 videos, split 1 (MMAction2 layout: tools/data/hmdb51). TSM's fine-tuning
# protocol (from a Kinetics-400 model): short side 256, multi-scale crop 224, flip;
# test: 2 uniformly sampled clips, centre crop 224 (paper, Tables II and VI).
# 8 frames per clip (TSN segments).

dataset_type = 'CheckedVideoDataset'  # VideoDataset + label range check
num_classes = 51
# a missing / empty / corrupt video: 'raise' (names the file) or 'skip' (warns, training
# draws another sample); per split: --cfg-options train_dataloader.dataset.pipeline.0.on_error=skip
on_bad_video = 'raise'
data_root = 'data/hmdb51/videos'
data_root_val = 'data/hmdb51/videos'
ann_file_train = 'data/hmdb51/hmdb51_train_split_1_videos.txt'
ann_file_val = 'data/hmdb51/hmdb51_val_split_1_videos.txt'
ann_file_test = 'data/hmdb51/hmdb51_val_split_1_videos.txt'

file_client_args = dict(io_backend='disk')

train_pipeline = [
    dict(type='CheckedDecordInit', on_error=on_bad_video, **file_client_args),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='MultiScaleCrop', input_size=224, scales=(1, 0.875, 0.75, 0.66),
         random_crop=False, max_wh_scale_gap=1, num_fixed_crops=13),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='CheckedDecordInit', on_error=on_bad_video, **file_client_args),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='CheckedDecordInit', on_error=on_bad_video, **file_client_args),
    dict(type='SampleSegmentViews', num_segments=8, num_views=2, mode='uniform'),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
# Test protocols, selected with `tools/test.py CFG CKPT --test-protocol NAME` (also through
# `mim test`); each entry edits the test pipeline's SampleSegmentViews (`sampler`), Resize
# (`resize`) and crop (`crop`). See README "Test protocols" for the plain --cfg-options form.
test_protocols = {
    'centre_1clip': dict(sampler=dict(num_views=1, mode='uniform'),
                         resize=dict(scale=(-1, 256)),
                         crop=dict(type='CenterCrop', crop_size=224)),
    # Tables II and VI: 2 uniformly sampled clips, centre crop (the default)
    '2clip': dict(sampler=dict(num_views=2, mode='uniform'),
                  resize=dict(scale=(-1, 256)),
                  crop=dict(type='CenterCrop', crop_size=224)),
}

# 8 per GPU x 8 GPUs = 64, TSM's fine-tuning batch
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        num_classes=num_classes,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        num_classes=num_classes,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        num_classes=num_classes,
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root_val),
        pipeline=test_pipeline,
        test_mode=True))

val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
