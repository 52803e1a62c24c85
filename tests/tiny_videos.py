"""Shrinking full recognition configs to tiny generated data (end-to-end tests).

The videos themselves come from ``tools_helpers.make_video_set``.
"""

_SIZE_KEYS = {'Resize': 'scale', 'MultiScaleCrop': 'input_size', 'CenterCrop': 'crop_size',
              'ThreeCrop': 'crop_size', 'TenCrop': 'crop_size'}


def shrink_pipeline(pipeline, num_segments, side=32):
    """Same transforms at ``side`` pixels and ``num_segments`` frames."""
    out = []
    for step in pipeline:
        step = dict(step)
        kind = step['type']
        if kind == 'Resize':
            step['scale'] = (side + side // 2, side + side // 4) if step['scale'] != (
                224, 224) else (side, side)
        elif kind in _SIZE_KEYS:
            step[_SIZE_KEYS[kind]] = side
        if kind == 'SampleFrames':
            step['num_clips'] = num_segments
        if kind == 'SampleSegmentViews':
            step['num_segments'] = num_segments
        out.append(step)
    return out


def point_config_at(cfg, ann, root, num_segments=4, num_classes=3, work_dir=None):
    """Edit a full recognition config in place for the tiny data set (CPU, seconds)."""
    backbone = cfg.model.backbone
    backbone.depth = 18
    backbone.num_segments = num_segments
    backbone.tcm_cfg = dict(patch_size=3, reduced_channels=16)
    cfg.model.cls_head.update(num_classes=num_classes, in_channels=512,
                              num_segments=num_segments)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.update(batch_size=2, num_workers=0, persistent_workers=False)
        ds = loader.dataset
        ds.ann_file = ann
        if 'num_classes' in ds:  # Checked*Dataset validates labels against it
            ds.num_classes = num_classes
        ds.data_prefix = dict(video=root)
        ds.pipeline = shrink_pipeline(ds.pipeline, num_segments)
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = []
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=32)
    cfg.default_hooks.logger.interval = 1
    if work_dir is not None:
        cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=0, deterministic=True)
    return cfg
