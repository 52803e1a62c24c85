"""Opening videos with a clear failure mode: fail naming the file, or skip with a warning.

MMAction2's ``DecordInit`` lets decord's own error escape for an empty or corrupt file (it
does not say which file) and accepts a video with no frames. :class:`CheckedDecordInit` is a
drop-in replacement with a config switch ``on_error``:

- ``'raise'`` (default): raise :class:`VideoReadError` naming the file and the reason;
- ``'skip'``: warn (naming the file) and return ``None``; in training mmengine's
  ``BaseDataset`` then draws another sample. In test mode no sample may be dropped, and
  :class:`mmaction_tcm.datasets.CheckedVideoDataset` raises an error naming the file.
"""
import logging
import os
import warnings
from typing import Optional

from mmaction.datasets.transforms import DecordInit
from mmaction.registry import TRANSFORMS
from mmengine.logging import print_log

ON_ERROR = ('raise', 'skip')


class VideoReadError(RuntimeError):
    """A video in the data set is missing, empty, unreadable or has no frames."""


class SkippedVideoWarning(UserWarning):
    """A bad video was skipped (``on_error='skip'``)."""


@TRANSFORMS.register_module()
class CheckedDecordInit(DecordInit):
    """``DecordInit`` that names the file when a video cannot be read.

    Args:
        on_error: ``'raise'`` or ``'skip'`` (see the module doc).
        io_backend, num_threads, **kwargs: as ``DecordInit``.

    Required keys: ``filename``. Added keys: ``video_reader``, ``total_frames``, ``avg_fps``.
    """

    def __init__(self, on_error: str = 'raise', io_backend: str = 'disk',
                 num_threads: int = 1, **kwargs) -> None:
        if on_error not in ON_ERROR:
            raise ValueError(f'on_error must be one of {ON_ERROR}, got {on_error!r}')
        super().__init__(io_backend=io_backend, num_threads=num_threads, **kwargs)
        self.on_error = on_error

    def _problem(self, filename: str) -> Optional[str]:
        """A reason the file cannot be a video, found without decoding (disk only)."""
        if self.io_backend != 'disk':
            return None
        path = filename if os.path.splitext(filename)[1] else filename + '.mp4'
        if not os.path.exists(path):
            return 'file not found'
        if os.path.getsize(path) == 0:
            return 'file is empty (0 bytes)'
        return None

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['filename']
        reason = self._problem(filename)
        if reason is None:
            try:
                results = super().transform(results)
            except Exception as err:  # decord / ffmpeg errors have no common base class
                reason = f'decord cannot open it ({type(err).__name__}: ' \
                         f'{str(err).strip().splitlines()[0] if str(err).strip() else ""})'
            else:
                if results['total_frames'] <= 0:
                    reason = 'the video has no frames'
        if reason is None:
            return results
        message = f'cannot read video {filename!r}: {reason}'
        if self.on_error == 'raise':
            raise VideoReadError(message + " (set on_error='skip' in CheckedDecordInit to "
                                 'skip bad videos during training)')
        print_log(f'{message}; skipping it', logger='current', level=logging.WARNING)
        warnings.warn(f'{message}; skipping it', SkippedVideoWarning, stacklevel=2)
        return None

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(on_error={self.on_error!r}, '
                f'io_backend={self.io_backend!r}, num_threads={self.num_threads})')
