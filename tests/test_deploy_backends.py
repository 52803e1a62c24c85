"""AOTInductor package vs eager, and tools/demo.py printing the same top-5 on every backend
(PyTorch checkpoint, ONNX in onnxruntime, AOTInductor .pt2) for the same video.

The model is the tempo demo's TCM-R18 (TSM-R18 + TCM after res3, the config's test clip)
with random weights; the package calls the native tempo_match op (our library is loaded in-process).
AOTInductor compiles for minutes on 2 cores: slow.
"""
import os
import sys

import pytest

from helpers import (ROOT, assert_close_scores, build, random_clips, reference_scores,
                     save_checkpoint, small_config)
from mmaction_tcm.deploy import default_clip_size, export_model, load_exported

pytestmark = pytest.mark.slow

TOOLS = os.path.join(ROOT, 'tools')
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)


@pytest.fixture(scope='module')
def deployed(tmp_path_factory):
    root = tmp_path_factory.mktemp('deploy')
    cfg = small_config('tcm_r18_tempo')
    model = build(cfg)
    cfg_file = str(root / 'tcm_r18_tempo_small.py')
    cfg.dump(cfg_file)
    ckpt = save_checkpoint(model, str(root / 'model.pth'))
    frames, height, width = default_clip_size(cfg)  # the config's test clip
    files = {}
    for fmt in ('onnx', 'pt2'):
        files[fmt] = str(root / f'model.{fmt}')
        export_model(model, fmt, files[fmt], (frames, 3, height, width), dynamic_clips=True)
    from helpers import make_video_set
    make_video_set(str(root), num_videos=1, frames=40, size=(64, 80))
    return dict(model=model, cfg=cfg_file, ckpt=ckpt, video=str(root / 'v00.mp4'), **files)


def test_aoti_package_matches_eager(deployed):
    runner = load_exported(deployed['pt2'])
    assert runner.meta['native_ops'] is True  # the package calls mmaction_tcm::tempo_match
    for n in (1, 3):
        clips = random_clips(n, runner.clip_shape, seed=n)
        assert_close_scores(runner(clips), reference_scores(deployed['model'], clips))
    wrong = (16,) + runner.clip_shape[1:]
    with pytest.raises(ValueError, match='exported for T=8 frames per clip, got 16'):
        runner(random_clips(1, wrong))


def test_demo_prints_the_same_top5_on_every_backend(deployed, capsys):
    import demo
    tops = {}
    for backend, model_file in (('pytorch', deployed['ckpt']), ('onnxruntime',
                                deployed['onnx']), ('pt2', deployed['pt2'])):
        tops[backend] = demo.main([deployed['video'], deployed['cfg'], model_file,
                                   '--backend', backend])
        assert f'({backend}):' in capsys.readouterr().out
    ref = tops['pytorch']
    assert len(ref) == 5
    for backend in ('onnxruntime', 'pt2'):
        assert [i for i, *_ in tops[backend]] == [i for i, *_ in ref]
        for (_, _, got), (_, _, want) in zip(tops[backend], ref):
            assert got == pytest.approx(want, abs=1e-5)
    # sliding windows: per-window lines and the same average on two backends
    win = {b: demo.main([deployed['video'], deployed['cfg'], f, '--backend', b,
                         '--window', '16', '--stride', '12'])
           for b, f in (('pytorch', deployed['ckpt']), ('onnxruntime', deployed['onnx']))}
    out = capsys.readouterr().out
    assert 'frames 0-15' in out and 'frames 12-27' in out and 'frames 24-39' in out
    assert [i for i, *_ in win['onnxruntime']] == [i for i, *_ in win['pytorch']]


def test_demo_rejects_mismatched_files(deployed):
    import demo
    with pytest.raises(ValueError, match='--backend onnxruntime needs a .onnx file'):
        demo.main([deployed['video'], deployed['cfg'], deployed['pt2'], '--backend',
                   'onnxruntime'])
    other = small_config('tcm_r18_tempo')
    other.model.cls_head.num_classes = 3
    path = os.path.join(os.path.dirname(deployed['cfg']), 'k3.py')
    other.dump(path)
    with pytest.raises(ValueError, match='predicts 7 classes but the config head has '
                                         'num_classes=3'):
        demo.main([deployed['video'], path, deployed['onnx'], '--backend', 'onnxruntime'])
