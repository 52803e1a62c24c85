"""Data sets and data transforms.

Importing this package registers ``CheckedVideoDataset`` (mmaction ``DATASETS``) and the
``CheckedDecordInit`` / ``SampleSegmentViews`` / ``SampleFramesPadEnd`` / ``SelectiveFlip`` /
``PillowResize`` transforms (mmaction ``TRANSFORMS``). ``class_names`` holds the
Something-Something class names in MMAction2's and the release's numbering (``label_maps/``).
``tempo_videos`` is a plain library: the synthetic tempo videos it writes are read by
MMAction2's ``VideoDataset``.
"""
from . import (checked_dataset, checked_video, class_names, clip_end_padding,  # noqa: F401
               pillow_resize, segment_views, selective_flip)
from .tempo_videos import CLASSES, generate_dataset, render_video

__all__ = ['CLASSES', 'generate_dataset', 'render_video']
