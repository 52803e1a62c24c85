"""``torch.compile(fullgraph=True)`` of a whole TCM recognizer, with our ops in the graph.

A graph break anywhere (backbone, TCM, head, the ops' autograd or fake kernels) makes
``fullgraph=True`` raise. The compiled model must give the eager scores and gradients, and
the FX graph Dynamo hands to inductor must call the native op (not a decomposition of it).
Float64: in float32 the temperature-100 softmax and the hard argmax amplify the rounding
differences of reordered convolutions (gradients then differ by ~0.4 % of their scale), which
would hide a real error. Runs on the CPU, and on CUDA where a GPU is present.
"""
import copy

import pytest
import torch
import torch.nn.functional as F

from helpers import build, native_ops_available, random_clips, small_config

DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not native_ops_available(), reason='native ops not built')]


class Scores(torch.nn.Module):
    """``(N, T, 3, H, W)`` normalised clips -> ``(N, num_classes)`` (backbone + head)."""

    def __init__(self, recognizer):
        super().__init__()
        self.recognizer = recognizer

    def forward(self, clips):
        feats, kwargs = self.recognizer.extract_feat(clips)
        return self.recognizer.cls_head(feats, **kwargs)


def tcm_scores(device):
    # TSM-R18 + TCM after res3, 4 frames of 64^2 (res3 map 8x8, patch 15), native op
    cfg = small_config('tcm_r18_sthv1', num_segments=4,
                       tcm_cfg=dict(corr_backend='native'))
    cfg.model.cls_head.num_segments = 4
    cfg.model.cls_head.dropout_ratio = 0.0  # same training forward in both copies
    return Scores(build(cfg)).to(device=device, dtype=torch.float64)


def inductor_recording_ops(seen):
    """An inductor backend that first records the ops of the graph it receives."""
    from torch._inductor.compile_fx import compile_fx

    def backend(gm, example_inputs):
        seen.update(str(n.target) for n in gm.graph.nodes if n.op == 'call_function')
        return compile_fx(gm, example_inputs)
    return backend


@pytest.mark.parametrize('device', DEVICES)
def test_fullgraph_compile_inference_and_training_match_eager(device):
    torch.manual_seed(0)
    eager = tcm_scores(device)
    clips = (random_clips(2, (4, 3, 64, 64)) / 255 - 0.5).to(device, torch.float64)
    seen = set()
    compiled_net = copy.deepcopy(eager)
    compiled = torch.compile(compiled_net, fullgraph=True,
                             backend=inductor_recording_ops(seen))
    with torch.no_grad():
        ref = eager(clips)
        out = compiled(clips)
    assert any('mmaction_tcm.tempo_match' in op for op in seen), sorted(seen)
    scale = ref.abs().max().item()
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-9 * scale)
    assert torch.equal(out.argmax(1), ref.argmax(1))

    # one training step: forward in train mode (BN batch statistics), backward
    labels = torch.tensor([1, 3], device=device)
    eager.train()
    compiled_net.train()
    F.cross_entropy(eager(clips), labels).backward()
    F.cross_entropy(compiled(clips), labels).backward()
    tcm = 'recognizer.backbone.tcm_after_layer2.mtdm.channel_reduction.0.weight'
    for name in (tcm, 'recognizer.backbone.conv1.conv.weight',
                 'recognizer.cls_head.fc_cls.weight'):
        g_ref = dict(eager.named_parameters())[name].grad
        g_out = dict(compiled_net.named_parameters())[name].grad
        assert g_ref is not None and g_ref.abs().max() > 0, name
        torch.testing.assert_close(g_out, g_ref, rtol=1e-7,
                                   atol=1e-9 * g_ref.abs().max().item(),
                                   msg=lambda m, name=name: f'{name}: {m}')
