# 3D-ResNeXt-101 (Hara et al. / MARS: cardinality 32, shortcut B, 7x7x7 stem, stride 2 in
# T, H and W from res3 on) with an I3DHead: the paper's Table III 3-D row (16 x 112^2).
# `tcm_stages=(1,)` adds the TCM after res3, where a 16-frame clip has T = 4.
#
# The paper's 3-D baseline starts from Kinetics weights of [41]; nothing is downloaded:
# `pretrained` takes a local 3-D checkpoint in this backbone's naming, `None` = random init.
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='ResNeXt3d',
        depth=101,
        cardinality=32,
        pretrained=None,
        norm_eval=False,
        tcm_stages=(),
        tcm_num_segments=4,
        tcm_cfg=dict()),
    cls_head=dict(
        type='I3DHead',
        num_classes=174,
        in_channels=2048,
        spatial_type='avg',
        dropout_ratio=0.5,
        init_std=0.01,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'),
    train_cfg=None,
    test_cfg=None)
