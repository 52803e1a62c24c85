"""Data set generators (not registered: the generated data is read by MMAction2's
``VideoDataset``)."""
from .tempo_videos import CLASSES, generate_dataset, render_video

__all__ = ['CLASSES', 'generate_dataset', 'render_video']
