# Something-Something V1 (174 classes, JPEG frames, MMAction2 layout tools/data/sthv1) for
# 3-D CNNs: one 32-frame clip sampled uniformly over the whole video (MMAction2's
# UniformSample: one random frame per segment in training, segment starts at test), the
# released TCM spatial protocol (240x320 frames, multi-scale crop 224, flip except the
# left/right classes; test: centre crop 224, one clip), NCTHW layout.

dataset_type = 'CheckedRawframeDataset'  # RawframeDataset + label range check
num_classes = 174
data_root = 'data/sthv1/rawframes'
data_root_val = 'data/sthv1/rawframes'
ann_file_train = 'data/sthv1/sthv1_train_list_rawframes.txt'
ann_file_val = 'data/sthv1/sthv1_val_list_rawframes.txt'
ann_file_test = 'data/sthv1/sthv1_val_list_rawframes.txt'

file_client_args = dict(io_backend='disk')
# training flip: the released rule, p = 0.5 except the six left/right classes (MMAction2's
# numbering), never flipped; MMAction2's flip-and-swap is `flip_and_swap` (see sthv1.py)
sthv1_no_flip_labels = [2, 4, 30, 41, 52, 66]
sthv1_flip_label_map = {2: 4, 4: 2, 30: 41, 41: 30, 52: 66, 66: 52}
released_flip = dict(type='SelectiveFlip', flip_ratio=0.5, no_flip_labels=sthv1_no_flip_labels)
flip_and_swap = dict(type='Flip', flip_ratio=0.5, flip_label_map=sthv1_flip_label_map)
clip_len = 32

train_pipeline = [
    dict(type='UniformSample', clip_len=clip_len, num_clips=1),
    dict(type='RawFrameDecode', **file_client_args),
    dict(type='Resize', scale=(320, 240), keep_ratio=False),
    dict(type='MultiScaleCrop', input_size=224, scales=(1, 0.875, 0.75, 0.66),
         random_crop=False, max_wh_scale_gap=1, num_fixed_crops=13),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(released_flip),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='UniformSample', clip_len=clip_len, num_clips=1, test_mode=True),
    dict(type='RawFrameDecode', **file_client_args),
    dict(type='Resize', scale=(320, 240), keep_ratio=False),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = val_pipeline

# 8 per GPU x 4 GPUs = 32, the schedule's base batch (lr rescaled by auto_scale_lr otherwise)
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        num_classes=num_classes,
        ann_file=ann_file_train,
        data_prefix=dict(img=data_root),
        filename_tmpl='{:05}.jpg',
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
        data_prefix=dict(img=data_root_val),
        filename_tmpl='{:05}.jpg',
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
        data_prefix=dict(img=data_root_val),
        filename_tmpl='{:05}.jpg',
        pipeline=test_pipeline,
        test_mode=True))

val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
