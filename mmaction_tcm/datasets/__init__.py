"""Data sets and data transforms.

Importing this package registers ``CheckedVideoDataset`` (mmaction ``DATASETS``) and the
``CheckedDecordInit`` / ``SampleSegmentViews`` / ``SampleFramesPadEnd`` transforms
(mmaction ``TRANSFORMS``).
``tempo_videos`` is a plain library: the synthetic tempo videos it writes are read by
MMAction2's ``VideoDataset``.
"""
from . import checked_dataset, checked_video, clip_end_padding, segment_views  # noqa: F401
from .tempo_videos import CLASSES, generate_dataset, render_video

__all__ = ['CLASSES', 'generate_dataset', 'render_video']
