"""``SampleFramesPadEnd``: one strided test clip; past the video's end, its last frame.

MMAction2's ``SampleFrames(out_of_bound_opt='repeat_last')`` repeats the last *sampled*
in-range index (stride 8 on 32 frames: 0, 8, 16, 24, 24, 24, 24, 24). The TCM paper's
tempo-robustness protocol (Fig. 4) copies the video's last frame instead
(0, 8, 16, 24, 31, 31, 31, 31), which this transform does.
"""
import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS

from ..ops.validation import check_int


@TRANSFORMS.register_module()
class SampleFramesPadEnd(BaseTransform):
    """Sample ``clip_len`` frames every ``frame_interval`` frames, centred in the video
    when it is long enough (as ``SampleFrames`` in test mode), else from frame 0; indices
    past the end are replaced by the last frame.

    Required keys: ``total_frames``, ``start_index``. Added: ``frame_inds``, ``clip_len``,
    ``frame_interval``, ``num_clips`` (1).
    """

    def __init__(self, clip_len: int, frame_interval: int = 1):
        check_int('clip_len', clip_len, minimum=1)
        check_int('frame_interval', frame_interval, minimum=1)
        self.clip_len = clip_len
        self.frame_interval = frame_interval

    def transform(self, results: dict) -> dict:
        total = int(results['total_frames'])
        if total < 1:
            raise ValueError(f'total_frames must be >= 1, got {total}')
        span = (self.clip_len - 1) * self.frame_interval + 1
        offset = max(total - span, 0) // 2
        inds = offset + np.arange(self.clip_len) * self.frame_interval
        inds = np.minimum(inds, total - 1) + results.get('start_index', 0)
        results['frame_inds'] = inds.astype(np.int32)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = 1
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval})')
