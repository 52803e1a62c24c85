"""Export and runtime refuse bad input with errors naming the problem; files are written
atomically."""
import os
import sys

import pytest
import torch

from helpers import (ROOT, assert_close_scores, build, random_clips, reference_scores,
                     save_checkpoint, small_config)
from mmaction_tcm.deploy import (ExportError, ModelFileError, export_model, load_exported,
                                 load_recognizer)
from mmaction_tcm.deploy import export as export_module

TOOLS = os.path.join(ROOT, 'tools')


def _config_file(cfg, path):
    cfg.dump(str(path))
    return str(path)


def test_mmcv_backend_is_refused_with_the_fix(tmp_path):
    cfg = small_config('tcm_r18_sthv1', tcm_cfg=dict(corr_backend='mmcv'))
    model = build(cfg)
    out = tmp_path / 'm.onnx'
    with pytest.raises(ExportError, match=r"corr_backend='mmcv' cannot be exported.*"
                                          r"tcm_after_layer2.*--corr-backend native"):
        export_model(model, 'onnx', str(out), (8, 3, 64, 64))
    assert not out.exists()
    # the suggested override: same weights, native op
    ckpt = save_checkpoint(model, str(tmp_path / 'm.pth'))
    fixed = load_recognizer(_config_file(cfg, tmp_path / 'cfg.py'), ckpt,
                            corr_backend='native')
    assert {m.corr_backend for m in fixed.modules() if hasattr(m, 'corr_backend')} == {'native'}


def test_checkpoint_of_another_config_is_refused(tmp_path):
    tsm = build(small_config('tsm_r18_sthv1'))
    ckpt = save_checkpoint(tsm, str(tmp_path / 'tsm.pth'))
    tcm_cfg = _config_file(small_config('tcm_r18_sthv1'), tmp_path / 'tcm.py')
    with pytest.raises(ExportError, match=r'does not match the model of config.*'
                                          r'(?s:.*)missing keys.*tcm_after_layer2'):
        load_recognizer(tcm_cfg, ckpt)
    other_classes = small_config('tsm_r18_sthv1')
    other_classes.model.cls_head.num_classes = 5
    with pytest.raises(ExportError, match=r'(?s)does not match.*fc_cls.weight'):
        load_recognizer(_config_file(other_classes, tmp_path / 'k5.py'), ckpt)


def test_corrupt_checkpoint_and_missing_files(tmp_path):
    cfg = _config_file(small_config('tsm_r18_sthv1'), tmp_path / 'cfg.py')
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a checkpoint' * 10)
    with pytest.raises(ExportError, match='cannot read checkpoint'):
        load_recognizer(cfg, str(bad))
    with pytest.raises(ExportError, match='checkpoint not found'):
        load_recognizer(cfg, str(tmp_path / 'none.pth'))


def test_corrupt_model_files(tmp_path):
    onnx_file = tmp_path / 'm.onnx'
    onnx_file.write_bytes(os.urandom(256))
    with pytest.raises(ModelFileError, match='not a valid ONNX model'):
        load_exported(str(onnx_file))
    pt2 = tmp_path / 'm.pt2'
    pt2.write_bytes(os.urandom(256))
    with pytest.raises(ModelFileError, match='not an AOTInductor package'):
        load_exported(str(pt2))
    with pytest.raises(ModelFileError, match='unknown model format'):
        load_exported(str(tmp_path.joinpath('cfg.py').write_text('x') and
                          tmp_path / 'cfg.py'))
    with pytest.raises(ModelFileError, match='not found'):
        load_exported(str(tmp_path / 'absent.onnx'))


def test_truncated_onnx_and_foreign_onnx(tsm_onnx, tmp_path):
    data = open(tsm_onnx['onnx'], 'rb').read()
    cut = tmp_path / 'cut.onnx'
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(ModelFileError, match='not a valid ONNX model'):
        load_exported(str(cut))
    import onnx
    proto = onnx.load(tsm_onnx['onnx'])
    del proto.metadata_props[:]
    foreign = tmp_path / 'foreign.onnx'
    onnx.save(proto, str(foreign))
    with pytest.raises(ModelFileError, match='not written by mmaction_tcm export'):
        load_exported(str(foreign))


def test_failed_export_keeps_the_old_file(tmp_path, monkeypatch):
    model = build(small_config('tsm_r18_sthv1'))
    out = tmp_path / 'model.onnx'
    out.write_bytes(b'previous model')

    def broken(*args, **kwargs):
        raise RuntimeError('converter crashed')

    monkeypatch.setattr(torch.onnx, 'export', broken)
    with pytest.raises(ExportError, match='ONNX conversion failed: RuntimeError: '
                                          'converter crashed'):
        export_model(model, 'onnx', str(out), (8, 3, 64, 64))
    assert out.read_bytes() == b'previous model'
    assert os.listdir(tmp_path) == ['model.onnx']


def test_failed_aoti_compile_leaves_no_partial_package(tmp_path, monkeypatch):
    model = build(small_config('tsm_r18_sthv1'))
    out = tmp_path / 'model.pt2'

    def half_written(program, package_path, **kwargs):
        with open(package_path, 'wb') as f:
            f.write(b'PK partial')
        raise RuntimeError('compiler killed')

    monkeypatch.setattr(torch._inductor, 'aoti_compile_and_package', half_written)
    with pytest.raises(ExportError, match='AOTInductor compilation failed.*compiler killed'):
        export_module.export_model(model, 'pt2', str(out), (8, 3, 64, 64))
    assert os.listdir(tmp_path) == []


def _export_tool():
    sys.path.insert(0, os.path.join(TOOLS, 'deployment'))
    try:
        import importlib
        return importlib.import_module('export')
    finally:
        sys.path.pop(0)


@pytest.fixture(scope='module')
def tsm_onnx(tmp_path_factory):
    """Plain TSM-R18 exported by tools/deployment/export.py (static batch of 1, --check)."""
    root = tmp_path_factory.mktemp('tsm_onnx')
    cfg = small_config('tsm_r18_sthv1')
    model = build(cfg)
    files = dict(model=model, ckpt=save_checkpoint(model, str(root / 'm.pth')),
                 cfg=_config_file(cfg, root / 'cfg.py'), onnx=str(root / 'm.onnx'))
    files['meta'] = _export_tool().main([files['cfg'], files['ckpt'], '--format', 'onnx',
                                         '--out', files['onnx'], '--shape', '8', '3', '64',
                                         '64', '--check'])
    return files


def test_export_tool_static_batch(tsm_onnx):
    meta = tsm_onnx['meta']
    assert meta['max_abs_diff'] < 1e-3  # --check ran the file against eager
    assert meta['mmaction_tcm.clip_shape'] == '[8, 3, 64, 64]'
    assert meta['mmaction_tcm.dynamic_clips'] == 'false'
    runner = load_exported(tsm_onnx['onnx'])
    clips = random_clips(1, runner.clip_shape)
    assert_close_scores(runner(clips), reference_scores(tsm_onnx['model'], clips))
    with pytest.raises(ValueError, match=r'exactly 1 clip\(s\)'):
        runner(random_clips(2, runner.clip_shape))


def test_export_tool_arguments(tsm_onnx, tmp_path):
    tool = _export_tool()
    with pytest.raises(SystemExit, match='must end with .onnx'):
        tool.main([tsm_onnx['cfg'], tsm_onnx['ckpt'], '--format', 'onnx', '--out',
                   str(tmp_path / 'm.pt2')])
    with pytest.raises(ExportError, match='--shape must be T 3 H W'):
        tool.main([tsm_onnx['cfg'], tsm_onnx['ckpt'], '--format', 'onnx', '--out',
                   str(tmp_path / 'm.onnx'), '--shape', '8', '1', '64', '64'])
    assert not (tmp_path / 'm.onnx').exists()


@pytest.mark.parametrize('config, clip', [('tcm_r50_sthv1', (8, 224, 224)),
                                          ('tcm_i3d_r50_sthv1', (32, 224, 224)),
                                          ('tcm_resnext3d101_sthv1', (16, 112, 112)),
                                          ('tcm_r18_tempo', (8, 64, 64))])
def test_default_clip_size_is_the_configs_test_clip(config, clip):
    from mmaction_tcm.deploy import default_clip_size
    assert default_clip_size(small_config(config)) == clip


def test_default_clip_size_follows_the_tempo_configs_input_size():
    from mmaction_tcm.deploy import default_clip_size
    cfg = small_config('tcm_r18_tempo')
    assert default_clip_size(cfg) == (cfg.num_frames, cfg.input_size, cfg.input_size)
