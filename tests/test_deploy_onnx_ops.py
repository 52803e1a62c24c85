"""The standard-operator ONNX translations of the native ops, op by op: onnxruntime vs the
PyTorch path (the reference implementation) on odd shapes, dilation, a dynamic batch and
argmax ties."""
import numpy as np
import onnx
import pytest
import torch

from mmaction_tcm.ops import correlation, correlation_torch, tempo_match, tempo_match_torch

ort = pytest.importorskip('onnxruntime')


class _Ops(torch.nn.Module):
    def __init__(self, patch, dilation, match_patch):
        super().__init__()
        self.patch, self.dilation, self.match_patch = patch, dilation, match_patch

    def forward(self, f1, f2):
        corr = correlation(f1, f2, self.patch, self.dilation, corr_backend='native')
        flow, conf = tempo_match(f1, f2, self.match_patch, 3.0, 50.0, corr_backend='native')
        return corr, flow, conf


def _normalised(shape, seed):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    return x / x.norm(dim=1, keepdim=True)


@pytest.fixture(scope='module')
def session():
    from mmaction_tcm.deploy.onnx_ops import translation_table
    table = translation_table()
    assert {op.name() for op in table} == {'mmaction_tcm::correlation',
                                           'mmaction_tcm::tempo_match'}
    f1, f2 = _normalised((2, 6, 9, 11), 0), _normalised((2, 6, 9, 11), 1)
    batch = torch.export.Dim('batch', min=1, max=64)
    program = torch.export.export(_Ops(5, 2, 7), (f1, f2),
                                  dynamic_shapes=({0: batch}, {0: batch}))
    targets = {str(n.target) for n in program.graph.nodes if n.op == 'call_function'}
    assert {'mmaction_tcm.correlation.default', 'mmaction_tcm.tempo_match.default'} <= targets
    model = torch.onnx.export(program, (f1, f2), dynamo=True, verbose=False,
                              custom_translation_table=table).model_proto
    onnx.checker.check_model(model, full_check=True)
    assert {n.domain for n in model.graph.node} <= {'', 'ai.onnx'}
    return ort.InferenceSession(model.SerializeToString(), providers=['CPUExecutionProvider'])


def _run(session, f1, f2):
    names = [i.name for i in session.get_inputs()]
    return [torch.from_numpy(o) for o in session.run(None, dict(zip(names, (f1.numpy(),
                                                                         f2.numpy()))))]


@pytest.mark.parametrize('batch', [1, 5])
def test_translation_matches_the_pytorch_path(session, batch):
    f1, f2 = _normalised((batch, 6, 9, 11), 2 + batch), _normalised((batch, 6, 9, 11), 9)
    corr, flow, conf = _run(session, f1, f2)
    torch.testing.assert_close(corr, correlation_torch(f1, f2, 5, 2), rtol=0, atol=1e-6)
    ref_flow, ref_conf = tempo_match_torch(f1, f2, 7, 3.0, 50.0)
    torch.testing.assert_close(flow, ref_flow, rtol=0, atol=1e-5)
    torch.testing.assert_close(conf, ref_conf, rtol=0, atol=1e-6)


def test_argmax_ties_take_the_first_maximum(session):
    # identical constant maps: every in-bounds displacement ties; the Gaussian is centred
    # on the first one (row-major), as in the native op and torch.max
    f = torch.full((1, 6, 9, 11), 1 / np.sqrt(6))
    _, flow, conf = _run(session, f, f)
    ref_flow, ref_conf = tempo_match(f, f, 7, 3.0, 50.0, corr_backend='native')
    torch.testing.assert_close(flow, ref_flow, rtol=0, atol=1e-5)
    torch.testing.assert_close(conf, ref_conf, rtol=0, atol=1e-6)
    assert float(flow[0, 0, 0, 0]) > 0  # top-left pixel: the first in-bounds tie is (0, 0)
