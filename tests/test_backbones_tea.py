"""TEARes2Net: sizes, FLOPs, TEA modules against references, Res2Net data flow,
ImageNet Res2Net-50 26w_4s loading from a local file."""
import pytest
import torch
import torch.nn.functional as F

from mmaction.registry import MODELS

import mmaction_tcm  # noqa: F401
from mmaction_tcm.models import TCM
from mmaction_tcm.models.backbones.tea_modules import MotionExcitation, TemporalConv
from mmaction_tcm.models.backbones.tea_res2net import TEABottle2neck
from helpers import ROOT, n_params, one_thread  # noqa: F401 (fixture)

PLANES = (64, 128, 256, 512)
BLOCKS50 = (3, 4, 6, 3)
pytestmark = pytest.mark.usefixtures('one_thread')


def res2net50_26w_4s_shapes():
    """Parameter and BN-buffer shapes of ImageNet Res2Net-50 26w_4s in its own naming
    (written from the architecture description, independently of our modules)."""
    shapes = {}

    def bn(name, c):
        for k in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{name}.{k}'] = (c,)

    shapes['conv1.weight'] = (64, 3, 7, 7)
    bn('bn1', 64)
    inplanes = 64
    for s, (planes, blocks) in enumerate(zip(PLANES, BLOCKS50)):
        width = planes * 26 // 64
        for b in range(blocks):
            p = f'layer{s + 1}.{b}'
            shapes[f'{p}.conv1.weight'] = (width * 4, inplanes, 1, 1)
            bn(f'{p}.bn1', width * 4)
            for i in range(3):
                shapes[f'{p}.convs.{i}.weight'] = (width, width, 3, 3)
                bn(f'{p}.bns.{i}', width)
            shapes[f'{p}.conv3.weight'] = (planes * 4, width * 4, 1, 1)
            bn(f'{p}.bn3', planes * 4)
            if b == 0:
                shapes[f'{p}.downsample.0.weight'] = (planes * 4, inplanes, 1, 1)
                bn(f'{p}.downsample.1', planes * 4)
            inplanes = planes * 4
    shapes['fc.weight'] = (1000, 2048)
    shapes['fc.bias'] = (1000,)
    return shapes


def ours(key):
    """Res2Net key -> our state-dict key (MMAction2 ``ConvModule`` naming)."""
    head, _, leaf = key.rpartition('.')
    parts = head.split('.')
    if parts[-2:] == ['downsample', '0']:
        parts[-1] = 'conv'
    elif parts[-2:] == ['downsample', '1']:
        parts[-1] = 'bn'
    elif parts[-1].startswith('bn') and parts[-1] != 'bns':
        parts[-1:] = ['conv' + parts[-1][2:], 'bn']
    elif len(parts) > 1 and parts[-2] == 'bns':
        parts[-2:] = ['convs', parts[-1], 'bn']
    else:
        parts.append('conv')
    return '.'.join(parts) + '.' + leaf


def test_sizes_match_design():
    tea = MODELS.build(dict(type='TEARes2Net', depth=50, num_segments=8, tcm_stages=()))
    assert n_params(tea) == 24099754
    # the trunk without ME / temporal convs is exactly ImageNet Res2Net-50 26w_4s (no fc)
    res2net = res2net50_26w_4s_shapes()
    trunk = sum(torch.Size(s).numel() for k, s in res2net.items()
                if 'running' not in k and not k.startswith('fc.'))
    assert trunk == 23650120
    assert n_params(tea, skip=('.me.', '.tconvs.')) == trunk
    # ME (bias-free, r=16) + four depthwise kernel-3 temporal convs per block
    extra = 0
    for planes, blocks in zip(PLANES, BLOCKS50):
        c = planes * 26 // 64 * 4
        r = c // 16
        extra += blocks * (2 * c * r + 2 * r + 9 * r + 2 * c + 3 * c)
    assert n_params(tea) - trunk == extra
    tcm = MODELS.build(dict(type='TEARes2Net', depth=50, num_segments=8))
    assert isinstance(tcm.tcm_after_layer2, TCM) and tcm.tcm_after_layer2.in_channels == 512
    assert n_params(tcm) - n_params(tea) == 71163


def test_macs_at_8x224():
    from mmengine.analysis import FlopAnalyzer
    net = MODELS.build(dict(type='TEARes2Net', depth=50, num_segments=8, tcm_stages=()))
    net.eval()
    flops = FlopAnalyzer(net, torch.randn(8, 3, 224, 224))
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    conv_macs = flops.by_operator()['conv']
    assert abs(conv_macs - 34.53e9) < 0.02e9  # docs/design.md §3: about 34.5 GMAC


def test_temporal_conv_identity_and_shift():
    n, t, c, h, w = 2, 5, 6, 3, 4
    x = torch.randn(n * t, c, h, w)
    ident = TemporalConv(c, 'identity')
    torch.testing.assert_close(ident(x, t), x)
    shifted = TemporalConv(c, 'shift')(x, t).view(n, t, c, h, w)
    frames = x.view(n, t, c, h, w)
    half = c // 2
    zero = torch.zeros(n, 1, c, h, w)
    later = torch.cat([frames[:, 1:], zero], 1)     # frame t takes t+1
    earlier = torch.cat([zero, frames[:, :-1]], 1)  # frame t takes t-1
    torch.testing.assert_close(shifted[:, :, :half], later[:, :, :half])
    torch.testing.assert_close(shifted[:, :, half:], earlier[:, :, half:])
    with pytest.raises(ValueError, match='init must be one of'):
        TemporalConv(c, 'zeros')


def test_temporal_conv_mixes_only_neighbours():
    tc = TemporalConv(4)
    with torch.no_grad():
        tc.conv.weight.copy_(torch.randn_like(tc.conv.weight))
    n, t = 1, 6
    x = torch.randn(n * t, 4, 2, 2)
    y = tc(x, t).view(n, t, 4, 2, 2)
    xs = x.view(n, t, 4, 2, 2)
    k = tc.conv.weight[:, 0]                       # (C, 3)
    for i in range(t):
        ref = k[:, 1].view(1, 4, 1, 1) * xs[:, i]
        if i > 0:
            ref = ref + k[:, 0].view(1, 4, 1, 1) * xs[:, i - 1]
        if i < t - 1:
            ref = ref + k[:, 2].view(1, 4, 1, 1) * xs[:, i + 1]
        torch.testing.assert_close(y[:, i], ref)


def test_motion_excitation_reference():
    torch.manual_seed(0)
    n, t, c, h, w = 2, 4, 32, 5, 5
    me = MotionExcitation(c)
    me.init_weights()
    for bn in (me.reduce_bn, me.expand_bn):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 1.5)
        bn.weight.data.uniform_(0.5, 1.5)
    me.eval()
    x = torch.randn(n * t, c, h, w)
    y = me(x, t)

    def bn_eval(z, bn):
        shape = (1, -1, 1, 1)
        return ((z - bn.running_mean.view(shape)) / torch.sqrt(bn.running_var.view(shape)
                + bn.eps) * bn.weight.view(shape) + bn.bias.view(shape))

    xs = x.view(n, t, c, h, w)
    for b in range(n):
        red = [bn_eval(F.conv2d(xs[b, i:i + 1], me.reduce.weight), me.reduce_bn)
               for i in range(t)]
        for i in range(t):
            if i < t - 1:
                moved = F.conv2d(red[i + 1], me.transform.weight, padding=1,
                                 groups=red[i].shape[1])
                pooled = (moved - red[i]).mean(dim=(2, 3), keepdim=True)
            else:
                pooled = torch.zeros(1, red[i].shape[1], 1, 1)
            att = bn_eval(F.conv2d(pooled, me.expand.weight), me.expand_bn)
            ref = xs[b, i:i + 1] * (0.5 + torch.sigmoid(att))
            torch.testing.assert_close(y.view(n, t, c, h, w)[b, i:i + 1], ref)


def _res2net_reference(block, x, stage, stride):
    """Res2Net bottleneck data flow, for a block whose TEA parts are identities."""
    out = block.conv1(x)
    w = out.shape[1] // 4
    xs = [out[:, i * w:(i + 1) * w] for i in range(4)]
    ys = []
    for i in range(3):
        inp = xs[i] if i == 0 or stage else xs[i] + ys[-1]
        ys.append(block.convs[i](inp))
    ys.append(F.avg_pool2d(xs[3], 3, stride, 1) if stage else xs[3])
    shortcut = block.downsample(x) if stage else x
    return F.relu(block.conv3(torch.cat(ys, 1)) + shortcut)


@pytest.mark.parametrize('stage', [False, True])
def test_block_reduces_to_res2net(stage):
    """With ME neutral (expand BN at 0 -> factor 1) and identity temporal convs the block
    is a Res2Net block (stage form: no hierarchical add, pooled last split)."""
    torch.manual_seed(0)
    net = MODELS.build(dict(type='TEARes2Net', depth=50, num_segments=2, tcm_stages=()))
    net.init_weights()
    block = net.layer2[0] if stage else net.layer2[1]
    assert isinstance(block, TEABottle2neck) and block.is_stage == stage
    block.eval()
    inplanes = 256 if stage else 512
    x = torch.randn(4, inplanes, 8, 8)
    nn_init = torch.nn.init
    nn_init.zeros_(block.me.expand_bn.weight)
    nn_init.zeros_(block.me.expand_bn.bias)
    block.tconvs[3].init = 'identity'
    block.tconvs[3].init_weights()
    with torch.no_grad():
        y = block(x)
        ref = _res2net_reference(block, x, stage, 2 if stage else 1)
    assert y.shape == (4, 512, 4, 4) if stage else y.shape == (4, 512, 8, 8)
    torch.testing.assert_close(y, ref)


def test_forward_backward_with_tcm():
    # three stages keep it cheap; the TCM sits after res3 as in the full model
    net = MODELS.build(dict(type='TEARes2Net', depth=50, num_segments=3, num_stages=3,
                            out_indices=(2,), strides=(1, 2, 2), dilations=(1, 1, 1),
                            tcm_cfg=dict(patch_size=3)))
    net.init_weights()
    seen = []
    net.tcm_after_layer2.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    y = net(torch.randn(6, 3, 32, 32))
    assert y.shape == (6, 1024, 2, 2) and seen == [torch.Size([6, 512, 4, 4])]
    y.mean().backward()
    for p in (net.layer1[0].me.expand.weight, net.layer3[2].tconvs[3].conv.weight,
              net.tcm_after_layer2.tam.conv4[3].weight, net.conv1.conv.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='not a multiple of num_segments=3'):
        net(torch.randn(4, 3, 32, 32))


def test_imagenet_res2net_weights_from_local_file(tmp_path):
    g = torch.Generator().manual_seed(0)
    shapes = res2net50_26w_4s_shapes()
    ckpt = {k: (torch.rand(s, generator=g) + 0.5 if 'running_var' in k
                else torch.randn(s, generator=g)) for k, s in shapes.items()}
    path = tmp_path / 'res2net50_26w_4s.pth'
    torch.save(ckpt, path)
    net = MODELS.build(dict(type='TEARes2Net', depth=50, num_segments=8,
                            pretrained=str(path)))
    net.init_weights()
    state = net.state_dict()
    loaded = 0
    for key, value in ckpt.items():
        if key.startswith('fc.'):
            continue
        torch.testing.assert_close(state[ours(key)], value, msg=key)
        loaded += 1
    assert loaded == len(ckpt) - 2
    # the parts not in ImageNet files keep their own init
    for block in net.modules():
        if isinstance(block, TEABottle2neck):
            assert torch.all(block.tconvs[0].conv.weight[:, 0, 1] == 1)
            assert block.tconvs[0].conv.weight.abs().sum() == block.width
            half = block.width // 2
            assert torch.all(block.tconvs[3].conv.weight[:half, 0, 2] == 1)
            assert torch.all(block.tconvs[3].conv.weight[half:, 0, 0] == 1)
            assert torch.all(block.me.expand_bn.weight == 1)
            assert torch.all(block.me.expand_bn.bias == 0)
    bn = net.tcm_after_layer2.mtdm.channel_reduction[1]
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)


def test_bad_arguments():
    with pytest.raises(ValueError, match='depth must be one of'):
        MODELS.build(dict(type='TEARes2Net', depth=18))
    with pytest.raises(ValueError, match='num_segments must be an int'):
        MODELS.build(dict(type='TEARes2Net', depth=50, num_segments=0))
    with pytest.raises(ValueError, match='tcm_stages entries'):
        MODELS.build(dict(type='TEARes2Net', depth=50, tcm_stages=(4,)))


@pytest.mark.parametrize('name,stages', [('tea_r2n50_sthv1.py', ()),
                                         ('tcm_tea_r2n50_sthv1.py', (1,))])
def test_tea_configs_build(name, stages):
    import os

    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', name))
    assert (cfg.model.type, cfg.model.cls_head.type) == ('Recognizer2D', 'TSMHead')
    assert cfg.model.cls_head.num_classes == 174
    assert cfg.model.backbone.num_segments == cfg.model.cls_head.num_segments == 8
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert model.backbone.tcm_stages == stages
    assert n_params(model.backbone) == 24099754 + (71163 if stages else 0)
    groups = build_optim_wrapper(model, cfg.optim_wrapper).optimizer.param_groups
    assert sum(len(g['params']) for g in groups) == len(list(model.parameters()))
    for split in ('train', 'val', 'test'):
        pipeline = cfg[f'{split}_dataloader'].dataset.pipeline
        counts = [s.get('num_clips', s.get('num_segments')) for s in pipeline
                  if s['type'] in ('SampleFrames', 'SampleSegmentViews')]
        assert counts == [8]
