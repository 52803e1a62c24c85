"""Inference API: MMAction2's ``init_recognizer`` plus inference on paths, frame arrays,
frame lists and ``cv2.VideoCapture`` streams, and sliding-window scoring of long videos."""
from mmaction.apis import init_recognizer

from .inference import (frames_pipeline, inference_recognizer, inference_sliding_window,
                        iter_frames, read_frames)

__all__ = ['init_recognizer', 'inference_recognizer', 'inference_sliding_window',
           'frames_pipeline', 'iter_frames', 'read_frames']
