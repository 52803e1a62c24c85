"""mmaction_tcm.apis: videos given as paths, frame arrays, frame lists or open
cv2.VideoCapture streams, and sliding-window scoring of long videos."""
import numpy as np
import pytest
import torch

from helpers import build, small_config
from mmaction_tcm import apis


@pytest.fixture(scope='module')
def model():
    return build(small_config('tcm_r18_tempo'))


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    from helpers import make_video_set
    root = tmp_path_factory.mktemp('videos')
    make_video_set(str(root), num_videos=1, frames=40, size=(64, 80))
    return str(root / 'v00.mp4')


def _decord_frames(path):
    import decord
    reader = decord.VideoReader(path)
    return reader.get_batch(list(range(len(reader)))).asnumpy()


def _cv2_frames(path):
    import cv2
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    return np.stack(frames)


@pytest.mark.parametrize('config, first', [('tcm_r18_tempo', 'SampleFrames'),
                                            ('tcm_r50_sthv1', 'SampleSegmentViews'),
                                            ('tcm_r50_k400', 'SampleSegmentViews'),
                                            ('tcm_resnext3d101_sthv1', 'UniformSample')])
def test_frames_pipeline_swaps_the_decoder(config, first):
    pipeline = small_config(config).test_pipeline
    steps = apis.frames_pipeline(pipeline)
    kinds = [s['type'] for s in steps]
    assert not any(k.endswith('Init') or k.endswith('Decode') and k != 'ArrayDecode'
                   for k in kinds)
    assert kinds[:2] == [first, 'ArrayDecode']
    assert kinds[2:] == [s['type'] for s in pipeline][-len(kinds) + 2:]  # the rest unchanged
    assert any(s['type'].endswith('Decode') for s in pipeline)  # the config is not modified


def test_path_array_list_and_capture_agree(model, video):
    pytest.importorskip('decord')
    import cv2
    by_path = apis.inference_recognizer(model, video).pred_score
    frames = _decord_frames(video)                     # the frames the path run decodes
    assert frames.shape == (40, 64, 80, 3)
    by_array = apis.inference_recognizer(model, frames).pred_score
    by_list = apis.inference_recognizer(model, list(frames)).pred_score
    torch.testing.assert_close(by_array, by_path, rtol=0, atol=1e-6)
    torch.testing.assert_close(by_list, by_path, rtol=0, atol=1e-6)
    cap = cv2.VideoCapture(video)
    try:
        by_capture = apis.inference_recognizer(model, cap).pred_score
    finally:
        cap.release()
    by_cv2_frames = apis.inference_recognizer(model, _cv2_frames(video)).pred_score
    torch.testing.assert_close(by_capture, by_cv2_frames, rtol=0, atol=1e-6)
    assert by_capture.shape == (7,) and float(by_capture.sum()) == pytest.approx(1, abs=1e-5)


def test_capture_is_read_from_its_current_position(model, video):
    import cv2
    frames = _cv2_frames(video)
    cap = cv2.VideoCapture(video)
    try:
        for _ in range(10):
            cap.read()
        rest = apis.inference_recognizer(model, cap).pred_score
    finally:
        cap.release()
    torch.testing.assert_close(rest, apis.inference_recognizer(model, frames[10:]).pred_score,
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize('window, stride, spans', [
    (16, 8, [(0, 16), (8, 24), (16, 32), (24, 40)]),   # the last window ends at frame 40
    (16, 10, [(0, 16), (10, 26), (20, 36), (24, 40)]),  # a tail window covers 36..39
    (16, None, [(0, 16), (16, 32), (24, 40)]),          # stride defaults to the window
    (64, 8, [(0, 40)]),                                 # shorter than one window
])
def test_sliding_window(model, window, stride, spans):
    frames = np.random.default_rng(0).integers(0, 255, (40, 64, 80, 3), dtype=np.uint8)
    result = apis.inference_sliding_window(model, frames, window, stride)
    assert [(w['start'], w['stop']) for w in result['windows']] == spans
    for w in result['windows']:  # each window is scored like a short video
        alone = apis.inference_recognizer(model, frames[w['start']:w['stop']]).pred_score
        torch.testing.assert_close(w['scores'], alone, rtol=0, atol=1e-6)
    mean = torch.stack([w['scores'] for w in result['windows']]).mean(0)
    torch.testing.assert_close(result['scores'], mean)


def test_sliding_window_streams_a_path(model, video):
    result = apis.inference_sliding_window(model, video, 16, 12)
    assert [(w['start'], w['stop']) for w in result['windows']] == [(0, 16), (12, 28),
                                                                     (24, 40)]
    frames = _cv2_frames(video)
    alone = apis.inference_recognizer(model, frames[12:28]).pred_score
    torch.testing.assert_close(result['windows'][1]['scores'], alone, rtol=0, atol=1e-6)


def test_bad_inputs(model, tmp_path):
    with pytest.raises(ValueError, match=r'\(T, H, W, 3\) RGB, got shape \(4, 3, 64, 64\)'):
        apis.inference_recognizer(model, np.zeros((4, 3, 64, 64), np.uint8))
    with pytest.raises(ValueError, match=r'frame 1 must be \(H, W, 3\)'):
        apis.inference_recognizer(model, [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8))])
    with pytest.raises(TypeError, match='cv2.VideoCapture, got int'):
        apis.inference_recognizer(model, 3)
    with pytest.raises(FileNotFoundError, match='video not found'):
        apis.inference_recognizer(model, str(tmp_path / 'missing.mp4'))
    with pytest.raises(ValueError, match='no frames'):
        apis.inference_recognizer(model, [])
    with pytest.raises(ValueError, match='window must be an int >= 1, got 0'):
        apis.inference_sliding_window(model, np.zeros((4, 8, 8, 3), np.uint8), 0)
    with pytest.raises(ValueError, match='stride must be an int >= 1, got -2'):
        apis.inference_sliding_window(model, np.zeros((4, 8, 8, 3), np.uint8), 4, -2)
