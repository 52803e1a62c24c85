"""TSN-style segment sampling with several views per video (multi-clip testing)."""
import zlib

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS

from ..ops.validation import check_int


@TRANSFORMS.register_module()
class SampleSegmentViews(BaseTransform):
    """Sample ``num_views`` TSN clips of ``num_segments`` frames each (test time).

    The video is cut into ``num_segments`` equal segments; view ``k`` takes one frame per
    segment. ``mode='uniform'``: at fraction ``(k + 0.5) / num_views`` of every segment
    (``num_views=1`` is the segment centre, identical to MMAction2's
    ``SampleFrames(clip_len=1, num_clips=T, test_mode=True)``). ``mode='random'``: at a
    random fraction per view and segment, drawn from a generator seeded by ``seed`` and the
    video's path, so repeated and multi-process runs see the same frames.

    Videos with ``total_frames <= num_segments``: ``short_video='spread'`` applies the same
    formula (MMAction2's ``SampleFrames`` test mode: e.g. 5 frames, 8 segments ->
    ``0, 0, 1, 2, 2, 3, 4, 4``); ``short_video='first_frame'`` takes frame 0 for every
    segment of every view, as the released TCM / TSM test loader (``_get_val_indices``) does.
    For longer videos the two agree (view 0 of ``'uniform'`` is the release's
    ``int(tick / 2 + tick * k)``, ``tick = total_frames / num_segments``).

    Frame indices are clip-major (``num_views * num_segments`` frames, view 0 first), the
    order ``TSMHead`` and ``BaseHead.average_clip`` expect.

    Required keys: ``total_frames``, ``start_index``. Added keys: ``frame_inds``,
    ``clip_len`` (1), ``frame_interval`` (None), ``num_clips`` (``num_views * num_segments``).
    """

    SHORT_VIDEO_RULES = ('spread', 'first_frame')

    def __init__(self, num_segments: int = 8, num_views: int = 1, mode: str = 'uniform',
                 seed: int = 0, short_video: str = 'spread'):
        check_int('num_segments', num_segments, minimum=1)
        check_int('num_views', num_views, minimum=1)
        if mode not in ('uniform', 'random'):
            raise ValueError(f"mode must be 'uniform' or 'random', got {mode!r}")
        if short_video not in self.SHORT_VIDEO_RULES:
            raise ValueError(f'short_video must be one of {self.SHORT_VIDEO_RULES}, '
                             f'got {short_video!r}')
        self.short_video = short_video
        self.num_segments = num_segments
        self.num_views = num_views
        self.mode = mode
        self.seed = seed

    def _fractions(self, results: dict) -> np.ndarray:
        """Position inside each segment, ``(num_views, num_segments)`` in ``[0, 1)``."""
        if self.mode == 'uniform':
            frac = (np.arange(self.num_views) + 0.5) / self.num_views
            return np.repeat(frac[:, None], self.num_segments, axis=1)
        key = str(results.get('filename', results.get('frame_dir', ''))).encode()
        rng = np.random.default_rng([self.seed, zlib.crc32(key)])
        return rng.random((self.num_views, self.num_segments))

    def transform(self, results: dict) -> dict:
        total = int(results['total_frames'])
        if total < 1:
            raise ValueError(f'total_frames must be >= 1, got {total}')
        seg_len = total / self.num_segments
        starts = np.arange(self.num_segments) * seg_len
        inds = np.floor(starts[None, :] + self._fractions(results) * seg_len)
        inds = np.clip(inds, 0, total - 1).astype(np.int64).reshape(-1)
        if self.short_video == 'first_frame' and total <= self.num_segments:
            inds[:] = 0
        results['frame_inds'] = (inds + results['start_index']).astype(np.int32)
        results['clip_len'] = 1
        results['frame_interval'] = None
        results['num_clips'] = self.num_views * self.num_segments
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_segments={self.num_segments}, '
                f'num_views={self.num_views}, mode={self.mode!r}, seed={self.seed}, '
                f'short_video={self.short_video!r})')
