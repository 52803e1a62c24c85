# Kinetics-400 videos (MMAction2 layout: tools/data/kinetics). TSM's protocol, which the
# paper follows: short side 256, multi-scale crop 224, flip; test: 10 uniformly sampled
# clips, centre crop 224 (Table II); `test_protocols['10clip_3crop']` = Table V's 30 views.
# 16 frames per clip (TSN segments).

dataset_type = 'CheckedVideoDataset'  # VideoDataset + label range check
num_classes = 400
# a missing / empty / corrupt video: 'raise' (names the file) or 'skip' (warns, training
# draws another sample); per split: --cfg-options train_dataloader.dataset.pipeline.0.on_error=skip
on_bad_video = 'raise'
data_root = 'data/kinetics400/videos_train'
data_root_val = 'data/kinetics400/videos_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_videos.txt'
ann_file_test = 'data/kinetics400/kinetics400_val_list_videos.txt'

file_client_args = dict(io_backend='disk')

train_pipeline = [
    dict(type='CheckedDecordInit', on_error=on_bad_video, **file_client_args),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=16),
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
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=16, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='CheckedDecordInit', on_error=on_bad_video, **file_client_args),
    dict(type='SampleSegmentViews', num_segments=16, num_views=10, mode='uniform'),
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
    # Tables II and IX: 10 uniformly sampled clips, centre crop (the default)
    '10clip': dict(sampler=dict(num_views=10, mode='uniform'),
                   resize=dict(scale=(-1, 256)),
                   crop=dict(type='CenterCrop', crop_size=224)),
    # Table V: 10 clips x 3 crops of 224x224 (30 views)
    '10clip_3crop': dict(sampler=dict(num_views=10, mode='uniform'),
                         resize=dict(scale=(-1, 224)),
                         crop=dict(type='ThreeCrop', crop_size=224)),
}

# 16 per GPU x 8 GPUs = 128, TSM's Kinetics batch
train_dataloader = dict(
    batch_size=16,
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
    batch_size=16,
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
