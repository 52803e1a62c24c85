"""Safe loading everywhere we load (issue 8, point 2).

A file whose pickle would run code when loaded (``__reduce__`` returning a call that
creates a marker file) is refused with a clear message by every entry point, and the
marker file is never created. A source scan keeps ``weights_only=False``, unrestricted
``pickle.load`` and ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` out of the shipped code.
"""
import ast
import builtins
import importlib.util
import os
import pickle
import subprocess
import sys

import pytest
import torch
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint

from mmaction_tcm.engine import enable_engine_changes, safe_pickle_load, safe_torch_load
from helpers import ROOT, subprocess_env, write_tiny_config, write_video_set


@pytest.fixture(autouse=True, scope='module')
def _engine_changes():
    """mmengine's own loading goes through ours once the engine changes are on (as in
    tools/train.py, tools/test.py and every config of ours)."""
    enable_engine_changes()


class OpensMarker:
    """Unpickling calls ``open(marker, 'w')``, which creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.open, (self.marker, 'w')


class ExecsCode:
    """Unpickling runs ``exec`` on code that writes the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.exec, (f'open({self.marker!r}, "w").write("pwned")',)


PAYLOADS = {'open': OpensMarker, 'exec': ExecsCode}


def _evil_checkpoint(tmp_path, kind='open', fmt='torch'):
    """A checkpoint-looking file with a payload; returns ``(path, marker)``."""
    marker = tmp_path / f'MARKER_{kind}_{fmt}'
    payload = {'state_dict': {'conv.weight': torch.zeros(1)}, 'meta': PAYLOADS[kind](marker)}
    path = tmp_path / f'evil_{kind}_{fmt}.pth'
    if fmt == 'torch':
        torch.save(payload, path)
    else:  # a bare pickle, as older tools wrote
        with open(path, 'wb') as f:
            pickle.dump(payload, f)
    assert not marker.exists()
    return str(path), marker


def test_payload_really_runs_code_when_unpickled_unsafely(tmp_path):
    """The fixture is dangerous: plain pickle creates the marker (so the tests below can
    fail)."""
    for kind in PAYLOADS:
        path, marker = _evil_checkpoint(tmp_path, kind, 'pickle')
        with open(path, 'rb') as f:
            pickle.load(f)
        assert marker.exists()


@pytest.mark.parametrize('kind', list(PAYLOADS))
@pytest.mark.parametrize('fmt', ['torch', 'pickle'])
def test_safe_torch_load_refuses_code(tmp_path, kind, fmt):
    path, marker = _evil_checkpoint(tmp_path, kind, fmt)
    with pytest.raises(ValueError) as err:
        safe_torch_load(path)
    assert path in str(err.value)
    if fmt == 'torch':
        assert 'refusing to load' in str(err.value)
        assert ('open' if kind == 'open' else 'exec') in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize('kind', list(PAYLOADS))
def test_mmengine_load_checkpoint_refuses_code(tmp_path, kind):
    """``load_from`` / ``resume`` / ``load_checkpoint`` go through mmengine's
    CheckpointLoader, whose local scheme is ours."""
    path, marker = _evil_checkpoint(tmp_path, kind)
    model = torch.nn.Conv2d(1, 1, 1)
    with pytest.raises(ValueError, match='refusing to load'):
        load_checkpoint(model, path)
    with pytest.raises(ValueError, match='refusing to load'):
        _load_checkpoint(path, map_location='cpu')
    assert not marker.exists()


def test_mmengine_load_checkpoint_still_loads_real_checkpoints(tmp_path):
    model = torch.nn.Conv2d(2, 3, 1)
    path = str(tmp_path / 'ok.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {'epoch': 1}}, path)
    other = torch.nn.Conv2d(2, 3, 1)
    load_checkpoint(other, path)
    assert torch.equal(other.weight, model.weight)


def _load_tool(relpath: str):
    spec = importlib.util.spec_from_file_location(
        os.path.splitext(os.path.basename(relpath))[0], os.path.join(ROOT, relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_converter_tool_refuses_code(tmp_path, capsys):
    path, marker = _evil_checkpoint(tmp_path, 'exec')
    tool = _load_tool('tools/convert_official_checkpoint.py')
    out = tmp_path / 'converted.pth'
    assert tool.main([path, str(out)]) == 1
    assert 'refusing to load' in capsys.readouterr().err
    assert not marker.exists() and not out.exists()


def test_result_dump_loading_refuses_code(tmp_path):
    marker = tmp_path / 'MARKER_dump'
    dump = tmp_path / 'evil.pkl'
    with open(dump, 'wb') as f:
        pickle.dump([{'pred_score': torch.ones(3), 'gt_label': OpensMarker(marker)}], f,
                    protocol=2)
    with pytest.raises(ValueError, match='refusing to load'):
        safe_pickle_load(str(dump))
    ensemble = _load_tool('tools/analysis/ensemble.py')
    with pytest.raises(SystemExit, match='refusing to load'):
        ensemble.load_dump(str(dump))
    assert not marker.exists()


def test_result_dump_loading_reads_real_dumps(tmp_path):
    """What ``DumpResults`` writes (tensors, numpy, scalars; mmengine's protocol 2)."""
    import mmengine
    import numpy as np
    samples = [{'pred_score': torch.rand(5), 'gt_label': torch.tensor([i]),
                'num_classes': 5, 'np': np.arange(3, dtype=np.int32), 'f': np.float32(0.5),
                'name': 'v.mp4', 'raw': b'\x00\xff'} for i in range(3)]
    path = str(tmp_path / 'dump.pkl')
    mmengine.dump(samples, path)
    loaded = safe_pickle_load(path)
    assert len(loaded) == 3
    for a, b in zip(loaded, samples):
        assert torch.equal(a['pred_score'], b['pred_score'])
        assert torch.equal(a['gt_label'], b['gt_label'])
        assert np.array_equal(a['np'], b['np']) and a['np'].dtype == np.int32
        assert a['f'] == b['f'] and a['name'] == b['name'] and a['raw'] == b['raw']


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('safe_loading'))
    train_ann = write_video_set(root, 'train', 2, seed=3)
    return write_tiny_config(os.path.join(root, 'tiny.py'), root, train_ann, train_ann,
                             max_epochs=1)


@pytest.mark.slow
def test_runner_resume_and_load_from_refuse_code(tmp_path, tiny_config):
    """``resume=True`` with a checkpoint path (``tools/train.py --resume CKPT``), and
    ``load_from`` (fine-tuning), in the mmengine Runner."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    path, marker = _evil_checkpoint(tmp_path, 'open')
    for resume in (True, False):
        cfg = Config.fromfile(tiny_config)
        cfg.work_dir = str(tmp_path / f'work_{resume}')
        cfg.load_from, cfg.resume = path, resume
        runner = Runner.from_cfg(cfg)
        with pytest.raises(ValueError, match='refusing to load'):
            runner.train()
    assert not marker.exists()


@pytest.mark.parametrize('tool', ['demo', 'gradcam', 'tempo_robustness'])
def test_demo_and_analysis_tools_refuse_code(tmp_path, tiny_config, tool):
    """tools/demo.py, tools/visualizations/gradcam.py, tools/analysis/tempo_robustness.py
    (all build the model with ``init_recognizer``, which loads through mmengine)."""
    path, marker = _evil_checkpoint(tmp_path, 'exec')
    video = os.path.join(os.path.dirname(tiny_config), 'videos', 'train_0.mp4')
    relpath, argv = {
        'demo': ('tools/demo.py', [video, tiny_config, path]),
        'gradcam': ('tools/visualizations/gradcam.py',
                    [tiny_config, path, video, '--out', str(tmp_path / 'cam.png')]),
        'tempo_robustness': ('tools/analysis/tempo_robustness.py',
                             [tiny_config, path, '--out-dir', str(tmp_path / 'out')]),
    }[tool]
    module = _load_tool(relpath)
    with pytest.raises(ValueError, match=f"refusing to load '{path}'"):
        module.main(argv)
    assert not marker.exists()


@pytest.mark.slow
def test_test_tool_refuses_code(tmp_path, tiny_config):
    """``tools/test.py CONFIG CKPT`` end to end: a clean failure naming the file."""
    path, marker = _evil_checkpoint(tmp_path, 'exec')
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'test.py'),
                           tiny_config, path, '--work-dir', str(tmp_path / 'work')],
                          env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert f"refusing to load '{path}'" in proc.stderr
    assert not marker.exists()


# ------------------------------------------------------------------ source guard

SHIPPED = ('mmaction_tcm', 'tools', 'configs')


def _shipped_python_files():
    for top in SHIPPED:
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith('.py'):
                    yield os.path.join(dirpath, name)


def _unsafe_calls(tree: ast.AST) -> list:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = ast.unparse(node.func)
            kwargs = {k.arg: k.value for k in node.keywords}
            if 'weights_only' in kwargs and not (
                    isinstance(kwargs['weights_only'], ast.Constant)
                    and kwargs['weights_only'].value is True):
                problems.append(f'line {node.lineno}: weights_only is not True')
            if func == 'torch.load' and 'weights_only' not in kwargs:
                problems.append(f'line {node.lineno}: torch.load without weights_only=True')
            if func in ('pickle.load', 'pickle.loads', 'pickle.Unpickler', 'np.load',
                        'numpy.load', 'mmengine.load', 'load_pickle'):
                problems.append(f'line {node.lineno}: {func}(...) can execute code')
        if isinstance(node, ast.Constant) and node.value == 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD':
            problems.append(f'line {node.lineno}: TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
    return problems


def test_source_guard_detects_unsafe_patterns():
    bad = ast.parse("import os, pickle, torch\n"
                    "torch.load(p)\n"
                    "torch.load(p, weights_only=False)\n"
                    "pickle.load(f)\n"
                    "os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'\n"
                    "torch.load(p, weights_only=True)\n")
    assert [p.split(':')[0] for p in _unsafe_calls(bad)] == [
        'line 2', 'line 3', 'line 4', 'line 5']


def test_shipped_code_never_loads_unsafely():
    problems = []
    for path in _shipped_python_files():
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        problems += [f'{os.path.relpath(path, ROOT)} {p}' for p in _unsafe_calls(tree)]
    assert not problems, '\n'.join(problems)
