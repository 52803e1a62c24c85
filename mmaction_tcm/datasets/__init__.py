"""Data sets and data transforms.

Importing this package registers ``CheckedVideoDataset`` (mmaction ``DATASETS``) and the
``CheckedDecordInit`` / ``SampleSegmentViews`` transforms (mmaction ``TRANSFORMS``).
``tempo_videos`` is a plain library: the synthetic tempo videos it writes are read by
MMAction2's ``VideoDataset``.
"""
from . import checked_dataset, checked_video, segment_views  # noqa: F401 (registration)
from .tempo_videos import CLASSES, generate_dataset, render_video

__all__ = ['CLASSES', 'generate_dataset', 'render_video']
