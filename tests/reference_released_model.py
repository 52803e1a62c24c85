"""The released TSM-R50 + TCM model, restated functionally from docs/design.md §2 (tests only).

Parameters come as the released checkpoint's ``state_dict`` (``module.base_model.*``
torchvision names, ``module.new_fc`` Conv1d). Eval-mode BN.
"""
import torch
import torch.nn.functional as F

from reference_tcm import eca_kernel, tcm_reference

STAGES = ((1, 3, 64, 1), (2, 4, 128, 2), (3, 6, 256, 2), (4, 3, 512, 2))  # R50


def _shift(x, T):
    """TSM blockres shift: first C/8 channels take frame t+1, next C/8 take t-1."""
    NT, C, H, W = x.shape
    x = x.view(NT // T, T, C, H, W)
    out = torch.zeros_like(x)
    fold = C // 8
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
    return out.view(NT, C, H, W)


def released_logits(sd, x, T):
    """x: (N*T, 3, H, W) normalised frames -> clip logits (N, K)."""
    def p(k):
        return sd['module.base_model.' + k]

    def bn(t, name):
        return F.batch_norm(t, p(name + '.running_mean'), p(name + '.running_var'),
                            p(name + '.weight'), p(name + '.bias'), False, 0., 1e-5)

    x = F.relu(bn(F.conv2d(x, p('conv1.weight'), stride=2, padding=3), 'bn1'))
    x = F.max_pool2d(x, 3, 2, 1)
    for layer, blocks, _, stride in STAGES:
        for b in range(blocks):
            pre = f'layer{layer}.{b}.'
            s = stride if b == 0 else 1
            out = F.relu(bn(F.conv2d(_shift(x, T), p(pre + 'conv1.weight')), pre + 'bn1'))
            out = F.relu(bn(F.conv2d(out, p(pre + 'conv2.weight'), stride=s, padding=1),
                            pre + 'bn2'))
            out = bn(F.conv2d(out, p(pre + 'conv3.weight')), pre + 'bn3')
            if b == 0:
                x = bn(F.conv2d(x, p(pre + 'downsample.0.weight'), stride=s),
                       pre + 'downsample.1')
            x = F.relu(out + x)
        if layer == 2:
            tcm = {k[len('module.base_model.tcm_layer.'):]: v for k, v in sd.items()
                   if k.startswith('module.base_model.tcm_layer.')}
            x = tcm_reference(x, tcm, T)
    feat = x.mean((2, 3))
    logits = F.conv1d(feat.unsqueeze(-1), sd['module.new_fc.weight'],
                      sd['module.new_fc.bias']).squeeze(-1)
    return logits.view(-1, T, logits.shape[-1]).mean(1)


def random_released_state_dict(T=8, num_classes=174, seed=0, dtype=torch.float32):
    """A random checkpoint ``state_dict`` in the released layout (387 entries)."""
    g = torch.Generator().manual_seed(seed)
    sd = {}

    def conv(name, cout, cin, k, groups=1):
        fan_in = cin // groups * k * k
        sd[name] = torch.randn(cout, cin // groups, k, k, generator=g) * (2. / fan_in) ** .5

    def bn(name, c):
        sd[name + '.weight'] = torch.rand(c, generator=g) * 0.5 + 0.5
        sd[name + '.bias'] = torch.randn(c, generator=g) * 0.1
        sd[name + '.running_mean'] = torch.randn(c, generator=g) * 0.1
        sd[name + '.running_var'] = torch.rand(c, generator=g) + 0.5
        sd[name + '.num_batches_tracked'] = torch.tensor(1000)

    base = 'module.base_model.'
    conv(base + 'conv1.weight', 64, 3, 7)
    bn(base + 'bn1', 64)
    inplanes = 64
    for layer, blocks, planes, _ in STAGES:
        for b in range(blocks):
            pre = f'{base}layer{layer}.{b}.'
            conv(pre + 'conv1.weight', planes, inplanes, 1)
            bn(pre + 'bn1', planes)
            conv(pre + 'conv2.weight', planes, planes, 3)
            bn(pre + 'bn2', planes)
            conv(pre + 'conv3.weight', planes * 4, planes, 1)
            bn(pre + 'bn3', planes * 4)
            if b == 0:
                conv(pre + 'downsample.0.weight', planes * 4, inplanes, 1)
                bn(pre + 'downsample.1', planes * 4)
            inplanes = planes * 4
    tcm = base + 'tcm_layer.'
    conv(tcm + 'mtdm.chnl_reduction.0.weight', 64, 512, 1)
    bn(tcm + 'mtdm.chnl_reduction.1', 64)
    for ci in (0, 3, 6):
        conv(f'{tcm}tam.conv1.{ci}.weight', 6, 6, 3, groups=3)
        bn(f'{tcm}tam.conv1.{ci + 1}', 6)
    conv(tcm + 'tam.conv1.9.weight', 16, 6, 1)
    bn(tcm + 'tam.conv1.10', 16)
    for i, (cin, cout) in enumerate(((16, 32), (32, 64), (64, 512)), start=2):
        conv(f'{tcm}tam.conv{i}.0.weight', cin, cin, 3, groups=cin)
        bn(f'{tcm}tam.conv{i}.1', cin)
        conv(f'{tcm}tam.conv{i}.3.weight', cout, cin, 1)
        bn(f'{tcm}tam.conv{i}.4', cout)
    sd[tcm + 'tam.ETA.conv.weight'] = torch.randn(1, 1, eca_kernel(T), generator=g)
    sd['module.new_fc.weight'] = torch.randn(num_classes, 2048, 1, generator=g) * 0.02
    sd['module.new_fc.bias'] = torch.randn(num_classes, generator=g) * 0.01
    return {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in sd.items()}
