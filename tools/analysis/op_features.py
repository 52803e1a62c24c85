"""What reaches ``tempo_match`` in a real training step: the features and their gradients.

One training step of a model (a TCM-R50 backbone at 8 x 224^2, or a demo recognizer) on
real clips is run with hooks on its first TCM: the MTDM's reduced map (after 1x1 conv,
BN and ReLU) is L2-normalised exactly as MTDM does, split into the frame pairs MTDM
matches (fast ``(t, t+1)``, slow ``(0, t+1)``), and the gradient arriving at the MTDM
output ``(N*T, 6, H, W)`` is mapped back to the pairs' flow / confidence gradients (the
padded last frame adds to the last pair; the pair ``(0, 1)`` gets its fast and slow parts).
"""
from typing import Dict

import torch

# demo pair -> (frame size, TCM stages, stride of the TCM map); 'demo' is the shipped configs
DEMO_PAIRS = {'demo': (64, (1, ), 8), 'demo112': (112, (1, ), 8), 'demo64': (64, (0, ), 4)}
SOURCES = ('r50', *DEMO_PAIRS)


def map_side(source: str) -> int:
    """Side of the map the first TCM of ``source`` matches, at its default frame size."""
    if source == 'r50':
        return 28  # res3 of 224^2
    size, _, stride = DEMO_PAIRS[source]
    return size // stride


def build_source(source: str, T: int):
    """(model, frame size, loss function of (model, normalised input))."""
    if source == 'r50':
        from mmaction_tcm.models.backbones.resnet_tsm_tcm import ResNetTSMTCM
        torch.manual_seed(0)
        return ResNetTSMTCM(50, T, tcm_cfg=dict(corr_backend='native')), 224, \
            lambda model, x: model(x).mean()
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules
    from mmengine.logging import MMLogger
    from benchmark_tcm import demo_configs
    register_all_modules(init_default_scope=True)
    MMLogger.get_current_instance().setLevel('WARNING')
    cfg = demo_configs(source)[1]
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()

    def loss(model, x):
        score = model.cls_head(model.backbone(x), num_segs=T)
        labels = torch.arange(score.shape[0]) % score.shape[1]
        return torch.nn.functional.cross_entropy(score, labels)
    return model, DEMO_PAIRS[source][0], loss


def pairs_from_step(model, loss_fn, x: torch.Tensor, T: int) -> Dict[str, torch.Tensor]:
    """Run one forward + backward; return f1, f2 ``(K, C, H, W)`` and grad_flow
    ``(K, 2, H, W)``, grad_conf ``(K, 1, H, W)`` of the K = N * (2T - 3) matched pairs."""
    from mmaction_tcm.models import TCM
    from mmaction_tcm.models.tcm.mtdm import l2_normalize_channels
    tcm = next(m for m in model.modules() if isinstance(m, TCM))
    got = {}

    def keep_features(module, inputs, output):
        got['feat'] = l2_normalize_channels(output.detach().clone())

    def keep_grad(module, inputs, output):
        output.register_hook(lambda g: got.__setitem__('grad', g.detach().clone()))

    hooks = [tcm.mtdm.channel_reduction.register_forward_hook(keep_features),
             tcm.mtdm.register_forward_hook(keep_grad)]
    try:
        model.train()
        model.zero_grad(set_to_none=True)
        loss_fn(model, x).backward()
    finally:
        for h in hooks:
            h.remove()
    feat, grad = got['feat'], got['grad']
    NT, C, H, W = feat.shape
    N = NT // T
    feat, grad = feat.view(N, T, C, H, W), grad.view(N, T, 6, H, W)
    fast_g = grad[:, :T - 1, 0:3].clone()
    slow_g = grad[:, :T - 1, 3:6].clone()
    fast_g[:, T - 2] += grad[:, T - 1, 0:3]  # the padded frame repeats the last pairs
    slow_g[:, T - 2] += grad[:, T - 1, 3:6]
    fast_g[:, 0] += slow_g[:, 0]  # (0, 1) is matched once, as a fast pair
    f1 = torch.cat([feat[:, :T - 1], feat[:, :1].expand(N, T - 2, C, H, W)], 1)
    f2 = torch.cat([feat[:, 1:], feat[:, 2:]], 1)
    g = torch.cat([fast_g, slow_g[:, 1:]], 1)
    K = 2 * T - 3
    return {'f1': f1.reshape(N * K, C, H, W).contiguous(),
            'f2': f2.reshape(N * K, C, H, W).contiguous(),
            'grad_flow': g[:, :, :2].reshape(N * K, 2, H, W).contiguous(),
            'grad_conf': g[:, :, 2:].reshape(N * K, 1, H, W).contiguous()}


def real_pairs(kind: str, source: str, batch: int, T: int = 8) -> Dict[str, torch.Tensor]:
    """``batch`` matched pairs from clips of input kind ``kind`` through model ``source``."""
    import benchmark_inputs
    model, size, loss_fn = build_source(source, T)
    clips = (batch + 2 * T - 4) // (2 * T - 3)
    x = benchmark_inputs.normalise(benchmark_inputs.clips(kind, clips, T, size))
    pairs = pairs_from_step(model, loss_fn, x, T)
    return {k: v[:batch] for k, v in pairs.items()}
