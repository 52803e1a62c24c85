# TEA-Res2Net-50 (Res2Net-50 26w_4s with TEA's motion excitation and multiple temporal
# aggregation, 8 segments) with a TSMHead: the paper's Table III TEA baseline.
# `tcm_stages=(1,)` adds the TCM after res3 (configs/tcm_tea_r2n50_sthv1.py).
#
# ImageNet initialisation: nothing is downloaded. Point `pretrained` at a local ImageNet
# Res2Net-50 26w_4s file in its original naming (conv1/bn1, layerX.Y.convs.i/bns.i, ...):
#   --cfg-options model.backbone.pretrained=checkpoints/res2net50_26w_4s.pth
# ME and the temporal convs keep their own init. `None` = random init.
model = dict(
    type='Recognizer2D',
    backbone=dict(
        type='TEARes2Net',
        depth=50,
        num_segments=8,
        tcm_stages=(),
        tcm_cfg=dict(),
        pretrained=None,
        norm_eval=False),
    cls_head=dict(
        type='TSMHead',
        num_classes=174,
        in_channels=2048,
        num_segments=8,
        spatial_type='avg',
        consensus=dict(type='AvgConsensus', dim=1),
        dropout_ratio=0.5,
        init_std=0.001,
        is_shift=False,
        average_clips='prob'),
    # RGB in [0, 255]; ImageNet mean / std (x255)
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCHW'),
    train_cfg=None,
    test_cfg=None)
