"""End-to-end: the quick CPU demo (tiny data, one epoch, stock mmengine Runner) and the
tools that consume its checkpoints (tempo robustness, Grad-CAM, video demo).

One tiny TSM/TCM pair is trained once per module and shared by every test.
"""
import json
import os
import sys

import numpy as np
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, 'tools')
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    pytest.importorskip('decord')
    import run_tempo_demo
    base = tmp_path_factory.mktemp('tempo_demo')
    data, work = str(base / 'data'), str(base / 'work')
    rows = run_tempo_demo.main(['--quick', '--data-root', data, '--work-dir', work])
    return dict(rows=rows, data=data, work=work,
                by_model={r['model']: r for r in rows})


def _test_videos(data_root):
    with open(os.path.join(data_root, 'test_list.txt')) as f:
        return [(os.path.join(data_root, rel), int(lab))
                for rel, lab in (line.split() for line in f if line.strip())]


def test_quick_demo_trains_tests_and_reports(demo):
    from mmaction_tcm.models import TCM
    rows, by = demo['rows'], demo['by_model']
    assert [r['model'] for r in rows] == ['TSM-R18', 'TCM-R18']
    for r in rows:
        assert os.path.isfile(r['checkpoint'])
        for key in ('top1', 'top5', 'mean_class'):
            assert 0.0 <= r[key] <= 1.0
        assert r['top5'] >= r['top1']
        assert r['train_time'] > 0 and r['flops'] > 0
    # TCM-R18 = TSM-R18 + one TCM on the 64-channel res2 map (patch 15 in the config)
    tcm = TCM(64, 8, patch_size=15)
    extra = sum(p.numel() for p in tcm.parameters())
    assert by['TCM-R18']['params'] - by['TSM-R18']['params'] == extra
    assert by['TCM-R18']['flops'] > by['TSM-R18']['flops']
    with open(os.path.join(demo['work'], 'results.json')) as f:
        assert json.load(f) == rows
    with open(os.path.join(demo['work'], 'results.md')) as f:
        table = f.read()
    assert '| TSM-R18 |' in table and '| TCM-R18 |' in table and 'margin' in table
    # the data was reused on a second call with the same settings
    import run_tempo_demo
    args = run_tempo_demo.parse_args(['--quick', '--data-root', demo['data']])
    before = os.path.getmtime(os.path.join(demo['data'], 'test_list.txt'))
    run_tempo_demo.prepare_data(args)
    assert os.path.getmtime(os.path.join(demo['data'], 'test_list.txt')) == before


def test_robustness_resamples_with_repeat_last_and_matches_runner_test(demo, tmp_path):
    from mmengine.config import Config
    from analysis import tempo_robustness as tr
    by = demo['by_model']
    out = str(tmp_path / 'rob')
    argv = [os.path.join(ROOT, by['TSM-R18']['config']), by['TSM-R18']['checkpoint'],
            os.path.join(ROOT, by['TCM-R18']['config']), by['TCM-R18']['checkpoint'],
            '--strides', '4', '8', '--data-root', demo['data'],
            '--names', 'TSM', 'TCM', '--out-dir', out]
    results = tr.main(argv)
    assert set(results) == {'TSM', 'TCM'}
    # stride 4 is the config's own test sampling: same accuracy as the Runner's test
    assert results['TSM'][0] == pytest.approx(by['TSM-R18']['top1'])
    assert results['TCM'][0] == pytest.approx(by['TCM-R18']['top1'])
    for name in ('md', 'json', 'png'):
        assert os.path.getsize(os.path.join(out, f'tempo_robustness.{name}')) > 0
    with open(os.path.join(out, 'tempo_robustness.json')) as f:
        saved = json.load(f)
    assert saved['strides'] == [4, 8] and saved['train_stride'] == {'TSM': 4, 'TCM': 4}
    # the frames sampled at stride 8 from a 32-frame video: 0, 8, 16, 24, then the
    # last frame repeated (the paper's protocol)
    args = tr.parse_args(argv)
    cfg = Config.fromfile(argv[0])
    loader = tr.strided_test_loader(cfg, 8, args)
    info = loader.dataset.get_data_info(0)
    init, sample_frames = loader.dataset.pipeline.transforms[:2]
    info = sample_frames(init(info))
    assert info['total_frames'] == 32
    assert info['frame_inds'].tolist() == [0, 8, 16, 24, 31, 31, 31, 31]
    with pytest.raises(SystemExit):
        tr.parse_args([argv[0]])  # an unpaired config


def test_gradcam_writes_overlays_for_tcm_output(demo, tmp_path):
    import matplotlib.image as mpimg
    from visualizations import gradcam
    by = demo['by_model']
    video, _ = _test_videos(demo['data'])[0]
    out = str(tmp_path / 'cam.png')
    res = gradcam.main([os.path.join(ROOT, by['TCM-R18']['config']),
                        by['TCM-R18']['checkpoint'], video, '--target-layers',
                        'backbone.tcm_after_layer1', 'backbone/layer2', '--out', out,
                        '--label-map', os.path.join(demo['data'], 'label_map.txt')])
    assert res['layers'] == ['backbone/tcm_after_layer1', 'backbone/layer2']
    img = mpimg.imread(out)
    assert img.ndim == 3 and img.shape[1] > img.shape[0]  # 8 columns x 3 rows
    assert img[..., :3].std() > 0.05
    default = gradcam.main([os.path.join(ROOT, by['TCM-R18']['config']),
                            by['TCM-R18']['checkpoint'], video, '--out', out])
    assert default['layers'] == ['backbone/tcm_after_layer1']  # every TCM of the model
    with pytest.raises(ValueError, match='tcm_after_layer1'):
        gradcam.main([os.path.join(ROOT, by['TCM-R18']['config']),
                      by['TCM-R18']['checkpoint'], video, '--target-layers',
                      'backbone.tcm_after_layer3', '--out', out])


def test_video_demo_top5_matches_a_direct_forward(demo, capsys):
    import decord
    import demo as video_demo
    from mmaction.apis import init_recognizer
    by = demo['by_model']
    cfg_path = os.path.join(ROOT, by['TCM-R18']['config'])
    label_map = os.path.join(demo['data'], 'label_map.txt')
    video, _ = _test_videos(demo['data'])[1]
    top = video_demo.main([video, cfg_path, by['TCM-R18']['checkpoint'],
                           '--label-map', label_map])
    printed = capsys.readouterr().out
    assert len(top) == 5 and [s for *_, s in top] == sorted([s for *_, s in top],
                                                              reverse=True)
    with open(label_map) as f:
        names = f.read().split()
    assert all(names[i] == n and n in printed for i, n, _ in top)
    # reference: decode frames 1, 5, ..., 29 ourselves, normalise, run the
    # backbone and head directly, softmax-average over frames as TSMHead does
    model = init_recognizer(cfg_path, by['TCM-R18']['checkpoint'], device='cpu')
    # centred 8 x 4 clip of a 32-frame video: it spans 29 frames, so it starts at 1
    frames = decord.VideoReader(video).get_batch(list(range(1, 32, 4))).asnumpy()
    assert frames.shape == (8, 64, 64, 3)  # the config's input size: no resize
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    with torch.no_grad():
        logits = model.cls_head(model.backbone((x - mean) / std), num_segs=8)
    ref = torch.softmax(logits, dim=1)[0]
    got = {i: s for i, _, s in top}
    for i, s in got.items():
        assert s == pytest.approx(float(ref[i]), abs=1e-4)
    assert max(got, key=got.get) == int(ref.argmax())
    assert np.isclose(sum(float(v) for v in ref), 1.0, atol=1e-5)
