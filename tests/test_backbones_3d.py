"""ResNet3dTCM (I3D) and ResNeXt3d: sizes, shapes, TCM on 5-D features, 2-D inflation,
the 3-D configs, and a short end-to-end Runner run."""
import os

import pytest
import torch

from mmaction.registry import MODELS

import mmaction_tcm  # noqa: F401
from mmaction_tcm.models import TCM
from mmaction_tcm.models.backbones.tcm_5d import apply_tcm_5d
from helpers import ROOT, load_weights_only, make_video_set, n_params, one_thread  # noqa

pytestmark = pytest.mark.usefixtures('one_thread')

I3D_R50 = dict(type='ResNet3dTCM', depth=50, pretrained2d=False, conv1_kernel=(5, 7, 7),
               conv1_stride_t=2, pool1_stride_t=2, zero_init_residual=False,
               inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)))


def test_resnext101_sizes():
    with torch.device('meta'):  # parameter counting only: no memory, no init cost
        plain = MODELS.build(dict(type='ResNeXt3d', depth=101))
        tcm = MODELS.build(dict(type='ResNeXt3d', depth=101, tcm_stages=(1,),
                                tcm_num_segments=4))
    assert n_params(plain) == 47521216
    assert isinstance(tcm.tcm_after_layer2, TCM) and tcm.tcm_after_layer2.in_channels == 512
    assert n_params(tcm) - n_params(plain) == 71163


def test_resnext_structure():
    with torch.device('meta'):
        net = MODELS.build(dict(type='ResNeXt3d', depth=101))
    stem = net.conv1.conv
    assert (stem.in_channels, stem.out_channels, stem.kernel_size, stem.stride) == \
        (3, 64, (7, 7, 7), (1, 2, 2))
    assert (net.maxpool.kernel_size, net.maxpool.stride) == (3, (2, 2, 2))
    assert [len(getattr(net, f'layer{i}')) for i in (1, 2, 3, 4)] == [3, 4, 23, 3]
    for i, planes in enumerate((128, 256, 512, 1024), start=1):
        first = getattr(net, f'layer{i}')[0]
        conv2 = first.conv2.conv
        assert (conv2.in_channels, conv2.groups, conv2.kernel_size) == (planes, 32, (3, 3, 3))
        stride = 1 if i == 1 else 2
        assert conv2.stride == (stride,) * 3
        assert first.conv3.conv.out_channels == 2 * planes
        ds = first.downsample.conv  # shortcut B: 1x1x1 conv + BN, same stride
        assert ds.kernel_size == (1, 1, 1) and ds.stride == (stride,) * 3


@pytest.mark.parametrize('cfg,shape,res3', [
    (dict(type='ResNeXt3d', depth=101), (2, 3, 16, 112, 112), (2, 512, 4, 14, 14)),
    (I3D_R50, (2, 3, 32, 224, 224), (2, 512, 4, 28, 28)),
])
def test_res3_shapes_at_paper_input(cfg, shape, res3):
    """Shape inference only (meta tensors): what the TCM after res3 receives."""
    with torch.device('meta'):
        net = MODELS.build(dict(cfg, tcm_stages=(), out_indices=(1, 3)))
        feat3, feat5 = net(torch.empty(shape))
    assert tuple(feat3.shape) == res3 and feat5.shape[1] == 2048


def test_apply_tcm_5d_frame_order():
    torch.manual_seed(0)
    tcm = TCM(16, num_segments=3, patch_size=3)
    tcm.eval()
    n, c, t, h, w = 2, 16, 3, 5, 5
    x = torch.randn(n, c, t, h, w)
    frames = torch.stack([x[i, :, j] for i in range(n) for j in range(t)])  # clip-major
    with torch.no_grad():
        ref = tcm(frames)
        out = apply_tcm_5d(tcm, x)
    for i in range(n):
        for j in range(t):
            torch.testing.assert_close(out[i, :, j], ref[i * t + j])
    with pytest.raises(ValueError, match='tcm_num_segments'):
        apply_tcm_5d(tcm, torch.randn(1, c, 6, h, w))


@pytest.mark.parametrize('cfg', [
    dict(type='ResNeXt3d', depth=50, stage_blocks=(1, 1, 1, 1)),
    dict(I3D_R50, stage_blocks=(1, 1, 1, 1), inflate=(1, 1, 1, 1)),
])
def test_forward_backward_tiny_with_tcm(cfg):
    net = MODELS.build(dict(cfg, tcm_stages=(1,), tcm_num_segments=2,
                            tcm_cfg=dict(patch_size=3)))
    net.init_weights()
    seen = []
    net.tcm_after_layer2.register_forward_hook(lambda m, i, o: seen.append(i[0].shape))
    clip = (2, 3, 8, 32, 32) if cfg['type'] == 'ResNeXt3d' else (2, 3, 16, 32, 32)
    y = net(torch.randn(*clip))
    assert seen == [torch.Size([4, 512, 4, 4])]  # (N*T', C, H', W') with T' = 2
    assert y.shape[:2] == (2, 2048)
    y.mean().backward()
    for p in (net.tcm_after_layer2.tam.conv4[3].weight, net.conv1.conv.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0


def _torchvision_resnet18_shapes():
    """torchvision ResNet-18 key shapes (written from the architecture)."""
    shapes = {'conv1.weight': (64, 3, 7, 7)}
    bn = ('weight', 'bias', 'running_mean', 'running_var')
    shapes.update({f'bn1.{k}': (64,) for k in bn})
    inplanes = 64
    for s, planes in enumerate((64, 128, 256, 512)):
        for b in range(2):
            p = f'layer{s + 1}.{b}'
            shapes[f'{p}.conv1.weight'] = (planes, inplanes, 3, 3)
            shapes[f'{p}.conv2.weight'] = (planes, planes, 3, 3)
            shapes.update({f'{p}.bn{i}.{k}': (planes,) for i in (1, 2) for k in bn})
            if b == 0 and s > 0:
                shapes[f'{p}.downsample.0.weight'] = (planes, inplanes, 1, 1)
                shapes.update({f'{p}.downsample.1.{k}': (planes,) for k in bn})
            inplanes = planes
    shapes.update({'fc.weight': (1000, 512), 'fc.bias': (1000,)})
    return shapes


def test_2d_to_3d_inflation_still_works(tmp_path):
    g = torch.Generator().manual_seed(0)
    tv = {k: torch.rand(s, generator=g) + 0.5 for k, s in _torchvision_resnet18_shapes().items()}
    path = tmp_path / 'resnet18_tv.pth'
    torch.save(tv, path)
    net = MODELS.build(dict(type='ResNet3dTCM', depth=18, pretrained=str(path),
                            pretrained2d=True, tcm_stages=(1,), tcm_num_segments=4))
    net.init_weights()
    # inflation spreads each 2-D kernel evenly over T: the sum over T is the 2-D kernel
    for name3d, name2d in (('conv1.conv', 'conv1'), ('layer2.0.conv1.conv', 'layer2.0.conv1'),
                           ('layer3.1.conv2.conv', 'layer3.1.conv2'),
                           ('layer4.0.downsample.conv', 'layer4.0.downsample.0')):
        w3d = net.get_submodule(name3d).weight
        torch.testing.assert_close(w3d.sum(dim=2), tv[name2d + '.weight'])
    torch.testing.assert_close(net.layer2[1].conv2.bn.running_var, tv['layer2.1.bn2.running_var'])
    bn = net.tcm_after_layer2.mtdm.channel_reduction[1]
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)


def test_defaults_and_errors():
    with torch.device('meta'):
        assert MODELS.build(dict(type='ResNeXt3d')).tcm_stages == ()
        i3d = MODELS.build(dict(I3D_R50))
    assert i3d.tcm_stages == (1,) and i3d.tcm_after_layer2.num_segments == 4
    with pytest.raises(ValueError, match='depth must be one of'):
        MODELS.build(dict(type='ResNeXt3d', depth=18))
    with pytest.raises(ValueError, match='divisible by cardinality'):
        MODELS.build(dict(type='ResNeXt3d', depth=50, cardinality=48, stage_blocks=(1, 1, 1, 1)))
    with pytest.raises(ValueError, match='tcm_stages entries'):
        MODELS.build(dict(type='ResNet3dTCM', depth=18, tcm_stages=(5,)))


CONFIGS_3D = {'i3d_r50_sthv1.py': ('ResNet3dTCM', (), 32, 224),
              'tcm_i3d_r50_sthv1.py': ('ResNet3dTCM', (1,), 32, 224),
              'resnext3d101_sthv1.py': ('ResNeXt3d', (), 16, 112),
              'tcm_resnext3d101_sthv1.py': ('ResNeXt3d', (1,), 16, 112)}


@pytest.mark.parametrize('name', sorted(CONFIGS_3D))
def test_3d_configs_build(name):
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', name))
    backbone, stages, frames, side = CONFIGS_3D[name]
    assert cfg.model.type == 'Recognizer3D' and cfg.model.cls_head.type == 'I3DHead'
    assert cfg.model.cls_head.num_classes == 174
    assert cfg.model.data_preprocessor.format_shape == 'NCTHW'
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == backbone and model.backbone.tcm_stages == stages
    # the optimizer policy covers every parameter (TCM included)
    groups = build_optim_wrapper(model, cfg.optim_wrapper).optimizer.param_groups
    assert sum(len(g['params']) for g in groups) == len(list(model.parameters()))
    for split in ('train', 'val', 'test'):
        steps = {s['type']: s for s in cfg[f'{split}_dataloader'].dataset.pipeline}
        assert steps['UniformSample']['clip_len'] == frames
        assert steps['FormatShape']['input_format'] == 'NCTHW'
        crop = steps.get('CenterCrop', steps.get('MultiScaleCrop'))
        assert crop.get('crop_size', crop.get('input_size')) == side
    # the TCM's T matches the clip length after the backbone's temporal strides
    if stages:
        with torch.device('meta'):
            plain = MODELS.build(dict(cfg.model.backbone, tcm_stages=(), out_indices=(1,)))
            res3 = plain(torch.empty(1, 3, frames, side, side))
        assert res3.shape[2] == cfg.model.backbone.tcm_num_segments


def _video_pipeline(pipeline, frames, side):
    """A rawframe 3-D pipeline, decoding generated mp4 files at ``side`` pixels instead."""
    out = [dict(type='DecordInit')]
    for step in pipeline:
        step = dict(step)
        kind = step['type']
        if kind == 'RawFrameDecode':
            step = dict(type='DecordDecode')
        elif kind == 'UniformSample':
            step['clip_len'] = frames
        elif kind == 'Resize':
            step['scale'] = (side, side) if step['scale'][0] == step['scale'][1] else (
                side + side // 4, side)
        elif kind == 'MultiScaleCrop':
            step['input_size'] = side
        elif kind == 'CenterCrop':
            step['crop_size'] = side
        elif kind == 'SelectiveFlip':
            step.pop('no_flip_labels')  # Sth-V1's left/right classes, not our 3 classes
        out.append(step)
    return out


@pytest.mark.slow
def test_tcm_resnext3d_config_trains_and_tests_end_to_end(tmp_path):
    import mmengine
    from mmengine.config import Config
    from mmengine.runner import Runner

    data = tmp_path / 'videos'
    ann = make_video_set(str(data), num_videos=6)  # 6 clips of 3 classes, 12 frames
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'tcm_resnext3d101_sthv1.py'))
    # tiny: one block per stage, 8 x 32^2 clips -> T = 2 at res3
    cfg.model.backbone.update(depth=50, stage_blocks=(1, 1, 1, 1), tcm_num_segments=2,
                              tcm_cfg=dict(patch_size=3, reduced_channels=16))
    cfg.model.cls_head.num_classes = 3
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=2, num_workers=0, persistent_workers=False)
        loader.dataset.update(type='VideoDataset', ann_file=ann,
                              data_prefix=dict(video=str(data)),
                              pipeline=_video_pipeline(loader.dataset.pipeline, 8, 32))
        loader.dataset.pop('filename_tmpl')
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = []
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=32)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path / 'work')

    runner = Runner.from_cfg(cfg.copy())
    runner.train()
    ckpt = tmp_path / 'work' / 'epoch_1.pth'
    saved = load_weights_only(ckpt)['state_dict']
    assert any(k.startswith('backbone.tcm_after_layer2.mtdm.') for k in saved)

    cfg.load_from = str(ckpt)
    dump = str(tmp_path / 'preds.pkl')
    cfg.test_evaluator = [dict(type='AccMetric'), dict(type='DumpResults', out_file_path=dump)]
    metrics = Runner.from_cfg(cfg).test()
    preds = mmengine.load(dump)
    assert len(preds) == 6 and preds[0]['pred_score'].shape == (3, )
    scores = torch.stack([p['pred_score'] for p in preds])
    labels = torch.tensor([int(p['gt_label'][0]) for p in preds])
    assert labels.tolist() == [i % 3 for i in range(6)]
    assert metrics['acc/top1'] == pytest.approx(
        (scores.argmax(1) == labels).double().mean().item())
