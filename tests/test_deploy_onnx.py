"""ONNX export of every model family: standard operators only, stock onnxruntime vs
PyTorch eager (max abs logit difference <= 1e-4 of the logit scale, same top-1), dynamic
number of clips, fixed frame count with clear errors."""
import onnx
import pytest
import torch

from helpers import assert_close_scores, build, random_clips, reference_scores, small_config
from mmaction_tcm.deploy import ClipClassifier, export_model, load_exported

# (config, backbone overrides, clip shape (T, 3, H, W), slow)
FAMILIES = {
    'tsm_r18': ('tsm_r18_sthv1', {}, (8, 3, 64, 64), True),  # static: test_deploy_errors
    'tcm_r18': ('tcm_r18_sthv1', {}, (8, 3, 64, 64), False),
    'tsm_r50': ('tsm_r50_sthv1', {}, (8, 3, 64, 64), True),
    'tcm_r50': ('tcm_r50_sthv1', {}, (8, 3, 64, 64), True),
    'tcm_tea_r2n50': ('tcm_tea_r2n50_sthv1', {}, (8, 3, 64, 64), True),
    # 32 frames give T = 4 at res3 (the config's tcm_num_segments); 3-D layout
    'tcm_i3d_r50': ('tcm_i3d_r50_sthv1', {}, (32, 3, 32, 32), True),
    # 16 frames give T = 4 at res3; the full depth-101 network at 32^2
    'tcm_resnext3d101': ('tcm_resnext3d101_sthv1', {}, (16, 3, 32, 32), True),
}


def _params():
    for name, (_, _, _, slow) in FAMILIES.items():
        yield pytest.param(name, marks=[pytest.mark.slow] if slow else [], id=name)


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """name -> (model, ExportedModel, metadata): one dynamic-clips export per family."""
    cache = {}

    def get(name):
        if name not in cache:
            config, overrides, shape, _ = FAMILIES[name]
            model = build(small_config(config, **overrides))
            path = str(tmp_path_factory.mktemp(name) / f'{name}.onnx')
            meta = export_model(model, 'onnx', path, shape, dynamic_clips=True)
            cache[name] = (model, load_exported(path), meta, path)
        return cache[name]

    return get


@pytest.mark.parametrize('name', list(_params()))
def test_onnxruntime_matches_eager(exported, name):
    model, runner, meta, path = exported(name)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    assert {n.domain for n in proto.graph.node} <= {'', 'ai.onnx'}  # standard operators
    assert max(o.version for o in proto.opset_import if o.domain in ('', 'ai.onnx')) >= 17
    is_tcm = name.startswith('tcm')
    # TCM models were traced through the default (native) op, lowered by our translation
    assert (meta['mmaction_tcm.native_ops'] == 'true') == is_tcm
    for n in (1, 3):  # the number of clips is dynamic
        clips = random_clips(n, runner.clip_shape, seed=n)
        ref = reference_scores(model, clips)
        with torch.no_grad():
            eager = ClipClassifier(model).eval()(clips)
        assert_close_scores(eager, ref, rel=1e-5)
        assert_close_scores(runner(clips), ref)


def test_frame_count_is_fixed_with_clear_errors(exported):
    model, runner, _, path = exported('tcm_r18')
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    dims = session.get_inputs()[0].shape
    assert isinstance(dims[0], str) and dims[1:] == [8, 3, 64, 64]  # N symbolic, T static
    with pytest.raises(ValueError, match=r'exported for T=8 frames per clip, got 4'):
        runner(random_clips(1, (4, 3, 64, 64)))
    with pytest.raises(ValueError, match=r'laid out \(N, T, 3, H, W\)'):
        runner(random_clips(1, (3, 8, 64, 64)))  # 3-D layout fed to a 2-D model
    with pytest.raises(ValueError, match=r'clip shape \(8, 3, 32, 32\) does not match'):
        runner(random_clips(1, (8, 3, 32, 32)))
    with pytest.raises(ValueError, match='5-D'):
        runner(torch.zeros(8, 3, 64, 64))
    # without the wrapper, onnxruntime itself rejects the frame count (static dim)
    with pytest.raises(Exception, match='(?i)invalid dimensions|index: 1'):
        session.run(None, {'clips': random_clips(1, (4, 3, 64, 64)).numpy()})
