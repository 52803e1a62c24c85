# Something-Something V1 (174 classes), JPEG frames as released by 20BN
# (MMAction2 layout: tools/data/sthv1; class i = line i of MMAction2's label map). The
# released TCM protocol: every frame resized to 240x320, multi-scale crop 224 (scales 1,
# .875, .75, .66), horizontal flip except the left/right classes; test: 240x320, centre
# crop 224, one clip, the release's frame indices. 8 frames per clip (TSN segments).

dataset_type = 'CheckedRawframeDataset'  # RawframeDataset + label range check
num_classes = 174
data_root = 'data/sthv1/rawframes'
data_root_val = 'data/sthv1/rawframes'
ann_file_train = 'data/sthv1/sthv1_train_list_rawframes.txt'
ann_file_val = 'data/sthv1/sthv1_val_list_rawframes.txt'
ann_file_test = 'data/sthv1/sthv1_val_list_rawframes.txt'

file_client_args = dict(io_backend='disk')
# Training flip. The released rule (default): every clip is flipped with p = 0.5 except those
# of the six left/right classes, which are never flipped (MMAction2's numbering: 2 / 4 turning
# the camera left / right, 30 / 41 pushing something from left to right / right to left,
# 66 / 52 pulling something from left to right / right to left; the release's sorted
# numbering calls them 166 / 167, 93 / 94, 86 / 87). MMAction2's rule, flipping every clip
# and swapping the labels of those pairs, is `flip_and_swap` (docs/released_checkpoint.md
# shows the config that selects it).
sthv1_no_flip_labels = [2, 4, 30, 41, 52, 66]
sthv1_flip_label_map = {2: 4, 4: 2, 30: 41, 41: 30, 52: 66, 66: 52}
released_flip = dict(type='SelectiveFlip', flip_ratio=0.5, no_flip_labels=sthv1_no_flip_labels)
flip_and_swap = dict(type='Flip', flip_ratio=0.5, flip_label_map=sthv1_flip_label_map)
# Test / validation frames: the release's indices (a video of at most 8 frames gives frame 1
# eight times); short_video='spread' spreads them as MMAction2's SampleFrames does.
released_sampler = dict(type='SampleSegmentViews', num_segments=8, num_views=1,
                        mode='uniform', short_video='first_frame')
# Test / validation frames decoded and resized by Pillow, as released (the release's pixels
# exactly; MMAction2's Resize always resizes with OpenCV). OpenCV instead (faster, moves the
# logits a little; docs/released_checkpoint.md): tools/test.py ... --cfg-options
#   test_dataloader.dataset.pipeline.1.decoding_backend=cv2
#   test_dataloader.dataset.pipeline.2.type=Resize
# Training decodes and resizes with OpenCV (MMAction2's default).
released_decode = dict(type='RawFrameDecode', decoding_backend='pillow', **file_client_args)
released_resize = dict(type='PillowResize', scale=(320, 240), keep_ratio=False)

train_pipeline = [
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8),
    dict(type='RawFrameDecode', **file_client_args),
    dict(type='Resize', scale=(320, 240), keep_ratio=False),
    dict(type='MultiScaleCrop', input_size=224, scales=(1, 0.875, 0.75, 0.66),
         random_crop=False, max_wh_scale_gap=1, num_fixed_crops=13),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(released_flip),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(released_sampler),
    dict(released_decode),
    dict(released_resize),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(released_sampler),
    dict(released_decode),
    dict(released_resize),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
# Test protocols, selected with `tools/test.py CFG CKPT --test-protocol NAME` (also through
# `mim test`); each entry edits the test pipeline's SampleSegmentViews (`sampler`), Resize
# or PillowResize (`resize`) and crop (`crop`). See README "Test protocols" for the plain --cfg-options form.
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
