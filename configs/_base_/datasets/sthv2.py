# Something-Something V2 (174 classes), webm videos (MMAction2 layout: tools/data/sthv2;
# class i = line i of MMAction2's label map = the labels JSON's index). Same protocol as
# Sth-V1 (released TCM recipe): 240x320 resize, multi-scale crop 224, flip except the
# left/right classes; test: 240x320, centre crop 224, one clip, the release's frame indices.
# 8 frames per clip (TSN segments).

dataset_type = 'CheckedVideoDataset'  # VideoDataset + label range check
num_classes = 174
# a missing / empty / corrupt video: 'raise' (names the file) or 'skip' (warns, training
# draws another sample); per split: --cfg-options train_dataloader.dataset.pipeline.0.on_error=skip
on_bad_video = 'raise'
data_root = 'data/sthv2/videos'
data_root_val = 'data/sthv2/videos'
ann_file_train = 'data/sthv2/sthv2_train_list_videos.txt'
ann_file_val = 'data/sthv2/sthv2_val_list_videos.txt'
ann_file_test = 'data/sthv2/sthv2_val_list_videos.txt'

file_client_args = dict(io_backend='disk')
# Training flip. The released rule (default): every clip is flipped with p = 0.5 except those
# of the six left/right classes, which are never flipped (86 / 87 pulling something from left
# to right / right to left, 93 / 94 pushing ..., 166 / 167 turning the camera left / right;
# MMAction2 and the release number V2 alike). MMAction2's rule, flipping every clip and
# swapping the labels of those pairs, is `flip_and_swap` (docs/released_checkpoint.md).
sthv2_no_flip_labels = [86, 87, 93, 94, 166, 167]
sthv2_flip_label_map = {86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}
released_flip = dict(type='SelectiveFlip', flip_ratio=0.5, no_flip_labels=sthv2_no_flip_labels)
flip_and_swap = dict(type='Flip', flip_ratio=0.5, flip_label_map=sthv2_flip_label_map)
# Test / validation frames: the release's indices (a video of at most 8 frames gives its first
# frame eight times); short_video='spread' spreads them as MMAction2's SampleFrames does.
released_sampler = dict(type='SampleSegmentViews', num_segments=8, num_views=1,
                        mode='uniform', short_video='first_frame')

train_pipeline = [
    dict(type='CheckedDecordInit', on_error=on_bad_video, **file_client_args),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(320, 240), keep_ratio=False),
    dict(type='MultiScaleCrop', input_size=224, scales=(1, 0.875, 0.75, 0.66),
         random_crop=False, max_wh_scale_gap=1, num_fixed_crops=13),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(released_flip),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='CheckedDecordInit', on_error=on_bad_video, **file_client_args),
    dict(released_sampler),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(320, 240), keep_ratio=False),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='CheckedDecordInit', on_error=on_bad_video, **file_client_args),
    dict(released_sampler),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(320, 240), keep_ratio=False),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
# Test protocols, selected with `tools/test.py CFG CKPT --test-protocol NAME` (also through
# `mim test`); each entry edits the test pipeline's SampleSegmentViews (`sampler`), Resize
# (`resize`) and crop (`crop`). See README "Test protocols" for the plain --cfg-options form.
test_protocols = {
    # Tables II-IV, VII, VIII, X: one clip, centre crop (the default test_pipeline)
    'centre_1clip': dict(sampler=dict(num_views=1, mode='uniform'),
                         resize=dict(scale=(320, 240), keep_ratio=False),
                         crop=dict(type='CenterCrop', crop_size=224)),
    # 10 randomly sampled clips (seeded per video), centre crop
    '10clip': dict(sampler=dict(num_views=10, mode='random'),
                   resize=dict(scale=(320, 240), keep_ratio=False),
                   crop=dict(type='CenterCrop', crop_size=224)),
    # Table IV 'x10' rows: 10 random clips x 3 crops of 224x224; frames scaled as the
    # training crops at scale 1 (240 -> 224), i.e. 240x320 -> 224x299
    '10clip_3crop': dict(sampler=dict(num_views=10, mode='random'),
                         resize=dict(scale=(299, 224), keep_ratio=False),
                         crop=dict(type='ThreeCrop', crop_size=224)),
}

# 8 per GPU x 4 GPUs = 32, the released batch (lr rescaled by auto_scale_lr otherwise)
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
