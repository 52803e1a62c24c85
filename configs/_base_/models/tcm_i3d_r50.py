# I3D-ResNet-50 (MMAction2's ResNet3d as in its i3d_r50 config: conv1 (5, 7, 7) with
# temporal stride 2, pool1 temporal stride 2, pool2 after res2, the I3D inflation pattern)
# through `ResNet3dTCM`, with an I3DHead. `tcm_stages=()` is plain I3D; `(1,)` adds the
# TCM after res3, where a 32-frame clip has T = 32 / 8 = 4 (`tcm_num_segments`).
#
# ImageNet initialisation: nothing is downloaded. Point `pretrained` at a local
# torchvision-format ResNet-50 file; with `pretrained2d=True` its 2-D kernels are inflated:
#   --cfg-options model.backbone.pretrained=checkpoints/resnet50-0676ba61.pth
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='ResNet3dTCM',
        depth=50,
        pretrained=None,
        pretrained2d=True,
        conv1_kernel=(5, 7, 7),
        conv1_stride_t=2,
        pool1_stride_t=2,
        conv_cfg=dict(type='Conv3d'),
        norm_eval=False,
        inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)),
        zero_init_residual=False,
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
