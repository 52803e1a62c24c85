# TSM-ResNet-50 (8 segments) with a TSMHead: the paper's baseline. ResNetTSMTCM with
# tcm_stages=() is exactly MMAction2's ResNetTSM (blockres shift, 1/8 channels each way).
#
# ImageNet initialisation: nothing is downloaded. Point `pretrained` at a local
# torchvision-format ResNet file, e.g.
#   --cfg-options model.backbone.pretrained=checkpoints/resnet50-0676ba61.pth
# (torchvision's `resnet50-*.pth`; keys conv1/bn1/layerX.Y.*). `None` = random init.
model = dict(
    type='Recognizer2D',
    backbone=dict(
        type='ResNetTSMTCM',
        depth=50,
        num_segments=8,
        tcm_stages=(),
        tcm_cfg=dict(),
        pretrained=None,
        norm_eval=False,  # the release trains without partial BN
        shift_div=8),
    cls_head=dict(
        type='TSMHead',
        num_classes=174,
        in_channels=2048,
        num_segments=8,
        spatial_type='avg',
        consensus=dict(type='AvgConsensus', dim=1),
        dropout_ratio=0.5,
        init_std=0.001,
        is_shift=True,
        average_clips='prob'),
    # RGB in [0, 255]; ImageNet mean / std (x255), as the release normalises [0, 1] input.
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCHW'),
    train_cfg=None,
    test_cfg=None)
