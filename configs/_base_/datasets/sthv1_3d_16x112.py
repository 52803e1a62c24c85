# Something-Something V1 (174 classes, JPEG frames, MMAction2 layout tools/data/sthv1) for
# 3-D CNNs: one 16-frame clip sampled uniformly over the whole video (MMAction2's
# UniformSample: one random frame per segment in training, segment starts at test), the
# released TCM spatial protocol at half resolution (120x160 frames, multi-scale crop 112,
# flip except the left/right classes; test: centre crop 112, one clip), NCTHW layout.
# Dataset, annotations and batches: sthv1_3d_32x224.py.
_base_ = ['./sthv1_3d_32x224.py']

clip_len = 16

# pipelines are lists, which replace the base's whole
train_pipeline = [
    dict(type='UniformSample', clip_len=clip_len, num_clips=1),
    dict(type='RawFrameDecode', **_base_.file_client_args),
    dict(type='Resize', scale=(160, 120), keep_ratio=False),
    dict(type='MultiScaleCrop', input_size=112, scales=(1, 0.875, 0.75, 0.66),
         random_crop=False, max_wh_scale_gap=1, num_fixed_crops=13),
    dict(type='Resize', scale=(112, 112), keep_ratio=False),
    dict(_base_.released_flip),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='UniformSample', clip_len=clip_len, num_clips=1, test_mode=True),
    dict(type='RawFrameDecode', **_base_.file_client_args),
    dict(type='Resize', scale=(160, 120), keep_ratio=False),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = val_pipeline

# the dataloader dicts merge key by key into the base's: only their pipelines change
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
