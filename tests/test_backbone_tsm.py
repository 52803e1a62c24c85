"""ResNetTSMTCM: sizes, placement, ImageNet loading from a local torchvision file."""
import pytest
import torch

from mmaction.registry import MODELS

import mmaction_tcm  # noqa: F401
from mmaction_tcm.models import TCM
from helpers import n_params


def test_r50_sizes():
    tcm = MODELS.build(dict(type='ResNetTSMTCM', depth=50, num_segments=8))
    tsm = MODELS.build(dict(type='ResNetTSMTCM', depth=50, num_segments=8, tcm_stages=()))
    assert n_params(tcm) == 23579195
    assert n_params(tcm) - n_params(tsm) == 71163
    assert n_params(tsm) == n_params(MODELS.build(dict(type='ResNetTSM', depth=50,
                                                       pretrained2d=False)))


@pytest.mark.parametrize('depth,stages,channels', [(18, (0, 1, 2, 3), (64, 128, 256, 512)),
                                                   (101, (1,), (None, 512))])
def test_placement(depth, stages, channels):
    net = MODELS.build(dict(type='ResNetTSMTCM', depth=depth, num_segments=4,
                            tcm_stages=stages))
    for s in stages:
        tcm = getattr(net, f'tcm_after_layer{s + 1}')
        assert isinstance(tcm, TCM) and tcm.in_channels == channels[s]


def test_forward_backward_r18_all_stages():
    net = MODELS.build(dict(type='ResNetTSMTCM', depth=18, num_segments=4,
                            tcm_stages=(1, 2), tcm_cfg=dict(patch_size=3)))
    net.init_weights()
    x = torch.randn(8, 3, 64, 64)
    calls = []
    net.tcm_after_layer2.register_forward_hook(lambda m, i, o: calls.append(o.shape))
    y = net(x)
    assert y.shape == (8, 512, 2, 2) and calls == [torch.Size([8, 128, 8, 8])]
    y.mean().backward()
    assert net.tcm_after_layer3.tam.conv4[3].weight.grad is not None


def test_bad_tcm_stages():
    with pytest.raises(ValueError, match='tcm_stages entries'):
        MODELS.build(dict(type='ResNetTSMTCM', depth=18, tcm_stages=(4,)))
    with pytest.raises(TypeError, match='tcm_stages must be a tuple'):
        MODELS.build(dict(type='ResNetTSMTCM', depth=18, tcm_stages=1))


def test_imagenet_weights_from_local_torchvision_file(tmp_path):
    """A torchvision-named ResNet-18 file loads into the trunk; TCM keeps its own init."""
    donor = MODELS.build(dict(type='ResNetTSMTCM', depth=18, num_segments=4, tcm_stages=()))
    tv = {}
    g = torch.Generator().manual_seed(0)
    for name, value in donor.state_dict().items():
        tv_name = (name.replace('.conv.net.', '.').replace('conv1.conv.', 'conv1.')
                   .replace('downsample.conv.', 'downsample.0.')
                   .replace('downsample.bn.', 'downsample.1.'))
        for i in (1, 2, 3):
            tv_name = tv_name.replace(f'conv{i}.bn.', f'bn{i}.').replace(f'conv{i}.conv.',
                                                                         f'conv{i}.')
        tv_name = tv_name.replace('conv1.bn.', 'bn1.')
        tv[tv_name] = (torch.randn(value.shape, generator=g) if value.is_floating_point()
                       else value.clone())
    tv['fc.weight'] = torch.randn(1000, 512)
    path = tmp_path / 'resnet18_tv.pth'
    torch.save(tv, path)
    net = MODELS.build(dict(type='ResNetTSMTCM', depth=18, num_segments=4,
                            pretrained=str(path)))
    net.init_weights()
    torch.testing.assert_close(net.conv1.conv.weight, tv['conv1.weight'])
    torch.testing.assert_close(net.layer2[0].conv1.conv.net.weight, tv['layer2.0.conv1.weight'])
    torch.testing.assert_close(net.layer3[0].downsample.bn.running_var,
                               tv['layer3.0.downsample.1.running_var'])
    bn = net.tcm_after_layer2.mtdm.channel_reduction[1]
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)


def test_per_stage_tcm_cfg():
    net = MODELS.build(dict(type='ResNetTSMTCM', depth=18, num_segments=4, tcm_stages=(1, 3),
                            tcm_cfg=[dict(patch_size=7), dict(patch_size=3)]))
    assert net.tcm_after_layer2.mtdm.patch_size == 7
    assert net.tcm_after_layer4.mtdm.patch_size == 3
    with pytest.raises(ValueError, match='one dict per stage'):
        MODELS.build(dict(type='ResNetTSMTCM', depth=18, tcm_stages=(1, 3),
                          tcm_cfg=[dict(patch_size=7)]))
