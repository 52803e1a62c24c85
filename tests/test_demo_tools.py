"""End-to-end: the quick two-stage demo (tiny data, one epoch, stock mmengine Runner) --
appearance pretraining (cached trunk) then TSM / TCM fine-tuning -- and the tools that
consume its checkpoints (tempo robustness, Grad-CAM, video demo).

One tiny run of both stages is made once per module and shared by every test.
"""
import glob
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
    pretrain = ['--data-root', str(base / 'appearance'), '--cache-dir', str(base / 'cache')]
    out = run_tempo_demo.main(['--quick', '--data-root', data, '--work-dir', work,
                               '--pretrain-args', ' '.join(pretrain)])
    return dict(out=out, rows=out['rows'], data=data, work=work, pretrain=pretrain,
                base=base, by_model={r['model']: r for r in out['rows']})


def _test_videos(data_root, split='test'):
    with open(os.path.join(data_root, f'{split}_list.txt')) as f:
        return [(os.path.join(data_root, rel), int(lab))
                for rel, lab in (line.split() for line in f if line.strip())]


def _top1_by_inference(config, checkpoint, videos):
    """Top-1 of ``checkpoint`` over ``videos`` [(path, label)], one MMAction2
    ``inference_recognizer`` call per video (independent of the Runner's test loop)."""
    from mmaction.apis import inference_recognizer, init_recognizer
    model = init_recognizer(config, checkpoint, device='cpu')
    hits = [int(inference_recognizer(model, path).pred_score.argmax()) == label
            for path, label in videos]
    return sum(hits) / len(hits)


def test_quick_demo_runs_both_stages_and_reports(demo):
    from mmaction_tcm.models import TCM
    rows, by, stage1 = demo['rows'], demo['by_model'], demo['out']['stage1']
    assert os.path.isfile(stage1['trunk']) and not stage1['reused']
    # the reported accuracies are those of the saved models on their splits
    stage1_dir = os.path.dirname(stage1['trunk'])
    stage1_ckpt = max(glob.glob(os.path.join(stage1_dir, 'epoch_*.pth')))
    stage1_cfg = os.path.join(stage1_dir, 'appearance_r18_pretrain.py')
    appearance = str(demo['base'] / 'appearance')
    for split in ('val', 'test'):
        assert stage1[f'{split}_top1'] == pytest.approx(_top1_by_inference(
            stage1_cfg, stage1_ckpt, _test_videos(appearance, split)))
    assert [r['model'] for r in rows] == ['TSM-R18', 'TCM-R18']
    for r in rows:
        assert os.path.isfile(r['checkpoint']) and os.path.isfile(r['run_config'])
        assert r['top1'] == pytest.approx(_top1_by_inference(
            r['run_config'], r['checkpoint'], _test_videos(demo['data'])))
        assert r['val_top1'] == pytest.approx(_top1_by_inference(
            r['run_config'], r['checkpoint'], _test_videos(demo['data'], 'val')))
        # --quick has one test video per class: mean class accuracy is top-1
        assert r['mean_class'] == pytest.approx(r['top1'])
        assert r['top5'] >= r['top1']
        assert r['train_time'] > 0 and r['flops'] > 0
    # TCM-R18 = TSM-R18 + one TCM on the 128-channel res3 map (patch 15 in the config)
    extra = sum(p.numel() for p in TCM(128, 8, patch_size=15).parameters())
    assert by['TCM-R18']['params'] - by['TSM-R18']['params'] == extra
    assert by['TCM-R18']['flops'] > by['TSM-R18']['flops']
    with open(os.path.join(demo['work'], 'results.json')) as f:
        saved = json.load(f)
    assert saved['rows'] == rows and saved['stage1']['trunk'] == stage1['trunk']
    with open(os.path.join(demo['work'], 'results.md')) as f:
        table = f.read()
    assert '| TSM-R18 |' in table and '| TCM-R18 |' in table and 'margin' in table
    assert 'stage 1' in table and 'tau=8' in table
    assert os.path.getsize(os.path.join(demo['work'], 'robustness',
                                        'tempo_robustness.png')) > 0
    # the motion data was reused on a second call with the same settings
    import run_tempo_demo
    args = run_tempo_demo.parse_args(['--quick', '--data-root', demo['data']])
    before = os.path.getmtime(os.path.join(demo['data'], 'test_list.txt'))
    run_tempo_demo.prepare_data(args)
    assert os.path.getmtime(os.path.join(demo['data'], 'test_list.txt')) == before


def test_cached_trunk_loads_into_tsm_and_tcm_with_only_tcm_and_head_missing(demo):
    """Every trunk tensor of the Runner's own stage-1 checkpoint reaches the TSM and the
    TCM backbone through the torchvision-format file; only TCM and head stay unloaded."""
    from mmengine.config import Config
    from mmaction.registry import MODELS
    stage1 = demo['out']['stage1']
    ckpt = os.path.join(os.path.dirname(stage1['trunk']), 'epoch_1.pth')
    stage1_state = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    trunk = {k[len('backbone.'):]: v for k, v in stage1_state.items()
             if k.startswith('backbone.') and not k.endswith('num_batches_tracked')}
    saved = torch.load(stage1['trunk'], map_location='cpu', weights_only=True)
    assert 'conv1.weight' in saved and 'layer3.0.downsample.1.running_var' in saved
    assert torch.equal(saved['fc.weight'], stage1_state['cls_head.fc_cls.weight'])
    for config, tcm_keys in (('configs/tsm_r18_tempo.py', False),
                             ('configs/tcm_r18_tempo.py', True)):
        cfg = Config.fromfile(os.path.join(ROOT, config))
        cfg.model.backbone.pretrained = stage1['trunk']
        model = MODELS.build(cfg.model)
        model.init_weights()
        unloaded = []
        for key, value in model.backbone.state_dict().items():
            if key.endswith('num_batches_tracked'):
                continue
            source = key.replace('.net.', '.')  # TSM wraps each block's conv1 in a shift
            if source in trunk:
                assert torch.equal(value, trunk[source]), key
            else:
                unloaded.append(key)
        assert all(k.startswith('tcm_after_layer2.') for k in unloaded), unloaded
        assert bool(unloaded) == tcm_keys
        loaded = [k for k in model.backbone.state_dict()
                  if not k.endswith('num_batches_tracked') and k not in unloaded]
        assert len(loaded) == len(trunk)  # one to one
        # the head is not in the trunk: it keeps the fine-tuning init (std 0.001)
        assert model.cls_head.fc_cls.weight.std() < 0.002


def test_stage1_cache_is_reused_and_rebuilt_when_an_input_changes(demo):
    import pretrain_appearance as pa
    first = demo['out']['stage1']
    mtime = os.path.getmtime(first['trunk'])
    again = pa.main(['--quick', *demo['pretrain']])
    assert again['reused'] and again['key'] == first['key']
    assert os.path.getmtime(first['trunk']) == mtime
    # every input enters the key: generator settings, config text
    meta = dict(task='appearance', seed=0, size=112, per_class=dict(train=2))
    key = pa.cache_key(meta, 'cfg')
    assert pa.cache_key(dict(meta, seed=1), 'cfg') != key
    assert pa.cache_key(dict(meta, size=64), 'cfg') != key
    assert pa.cache_key(meta, 'cfg2') != key
    # a changed training seed trains again, into its own cache entry
    other = pa.main(['--quick', *demo['pretrain'], '--seed', '1'])
    assert not other['reused'] and other['key'] != first['key']
    assert os.path.isfile(other['trunk']) and os.path.isfile(first['trunk'])
    assert not torch.equal(torch.load(other['trunk'])['conv1.weight'],
                           torch.load(first['trunk'])['conv1.weight'])


def test_torchvision_names_of_the_stage1_state_dict():
    import pretrain_appearance as pa
    w = torch.zeros(1)
    state = {'backbone.conv1.conv.weight': w, 'backbone.conv1.bn.running_mean': w,
             'backbone.layer2.0.conv2.bn.weight': w,
             'backbone.layer2.0.downsample.conv.weight': w,
             'backbone.layer2.0.downsample.bn.bias': w,
             'backbone.layer1.1.bn1.num_batches_tracked': w,
             'cls_head.fc_cls.bias': w}
    assert list(pa.torchvision_resnet_state(state)) == [
        'conv1.weight', 'bn1.running_mean', 'layer2.0.bn2.weight',
        'layer2.0.downsample.0.weight', 'layer2.0.downsample.1.bias', 'fc.bias']
    with pytest.raises(KeyError, match='backbone'):
        pa.torchvision_resnet_state({'neck.x.weight': w})


def test_own_video_dataset_is_used_as_is(tmp_path):
    """A data root with lists and no generator meta.json: no generation, the lists, the
    class count and the frame size go into the config."""
    import run_tempo_demo
    (tmp_path / 'train_list.txt').write_text('a.mp4 0\n')
    args = run_tempo_demo.parse_args(['--data-root', str(tmp_path), '--num-classes', '5',
                                      '--size', '96', '--test-list', str(tmp_path / 't.txt')])
    assert run_tempo_demo.own_data(args)
    run_tempo_demo.prepare_data(args)  # nothing written
    assert sorted(os.listdir(tmp_path)) == ['train_list.txt']
    cfg = run_tempo_demo.build_cfg('configs/tcm_r18_tempo.py', args, 3, str(tmp_path / 'w'),
                                   'trunk.pth')
    assert cfg.model.cls_head.num_classes == 5 and cfg.model.backbone.pretrained == 'trunk.pth'
    assert cfg.train_dataloader.dataset.ann_file == str(tmp_path / 'train_list.txt')
    assert cfg.test_dataloader.dataset.ann_file == str(tmp_path / 't.txt')
    assert cfg.val_dataloader.dataset.data_prefix == dict(video=str(tmp_path))
    assert cfg.randomness.seed == 3
    sizes = {tuple(step.scale) for split in ('train', 'val', 'test')
             for step in cfg[f'{split}_dataloader'].dataset.pipeline if step.type == 'Resize'}
    assert sizes == {(96, 96)}


def test_robustness_resamples_with_repeat_last_and_matches_runner_test(demo, tmp_path):
    from mmengine.config import Config
    from analysis import tempo_robustness as tr
    by = demo['by_model']
    out = str(tmp_path / 'rob')
    argv = [by['TSM-R18']['run_config'], by['TSM-R18']['checkpoint'],
            by['TCM-R18']['run_config'], by['TCM-R18']['checkpoint'],
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
                        'backbone.tcm_after_layer2', 'backbone/layer3', '--out', out,
                        '--label-map', os.path.join(demo['data'], 'label_map.txt')])
    assert res['layers'] == ['backbone/tcm_after_layer2', 'backbone/layer3']
    img = mpimg.imread(out)
    assert img.ndim == 3 and img.shape[1] > img.shape[0]  # 8 columns x 3 rows
    assert img[..., :3].std() > 0.05
    default = gradcam.main([os.path.join(ROOT, by['TCM-R18']['config']),
                            by['TCM-R18']['checkpoint'], video, '--out', out])
    assert default['layers'] == ['backbone/tcm_after_layer2']  # every TCM of the model
    with pytest.raises(ValueError, match='tcm_after_layer2'):
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
    from mmengine.config import Config
    size = Config.fromfile(cfg_path).input_size
    assert frames.shape == (8, size, size, 3)  # the config's input size: no resize
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
