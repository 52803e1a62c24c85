"""What `import mmaction_tcm` does (compatibility fixes, registration) and what it leaves to
an explicit switch (the engine changes); each case in a fresh interpreter."""
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, extra_path=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(extra_path or ''),
                                                                     ROOT])))
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300)


def test_mmaction_models_imports_and_drn_is_a_clear_error():
    res = run_python("""
        import mmaction_tcm
        import mmaction.models
        from mmaction.registry import MODELS
        assert MODELS.get('TCM') is not None and MODELS.get('ResNetTSMTCM') is not None
        try:
            MODELS.build(dict(type='DRN'))
        except Exception as err:
            print('ERR', type(err).__name__, err)
    """)
    assert res.returncode == 0, res.stderr
    assert 'ERR ImportError DRN is not available' in res.stdout
    assert '#2714' in res.stdout


def test_placeholder_untouched_when_real_module_exists():
    res = run_python("""
        import sys, types, importlib.util
        from mmaction_tcm.compat import drn_placeholder
        drn_placeholder._real_drn_exists = lambda: True
        sys.modules.pop('mmaction.models.localizers.drn', None)
        print(drn_placeholder.install_drn_placeholder())
    """)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith('False')


def fake_transformers(root, version):
    """A `transformers` distribution whose modeling_utils lacks the helpers VindLU imports."""
    (root / 'transformers').mkdir(parents=True)
    (root / 'transformers' / '__init__.py').write_text(f'__version__ = {version!r}\n')
    (root / 'transformers' / 'modeling_utils.py').write_text('class PreTrainedModel: pass\n')
    info = root / f'transformers-{version}.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: transformers\n'
                                   f'Version: {version}\n')
    return root


def test_transformers_5_does_not_break_mmaction_models(tmp_path):
    site = fake_transformers(tmp_path / 'site', '5.2.0')
    res = run_python("""
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            import mmaction_tcm
        import mmaction.models
        from mmaction.utils import dependency
        from mmaction.registry import MODELS
        assert dependency.WITH_MULTIMODAL is False
        assert MODELS.get('ResNetTSMTCM') is not None
        print('WARN', [str(w.message) for w in caught if 'VindLU' in str(w.message)])
        try:
            MODELS.build(dict(type='VindLUVQA'))
        except Exception as err:
            print('ERR', type(err).__name__)
    """, extra_path=site)
    assert res.returncode == 0, res.stderr
    assert 'transformers 5.2.0 is not compatible' in res.stdout
    assert 'ERR' in res.stdout


def test_transformers_4_leaves_multimodal_alone(tmp_path):
    site = fake_transformers(tmp_path / 'site', '4.40.0')
    res = run_python("""
        import importlib.util  # the module alone: importing mmaction_tcm imports mmaction.models
        spec = importlib.util.spec_from_file_location(
            'guard', 'mmaction_tcm/compat/multimodal_guard.py')
        multimodal_guard = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(multimodal_guard)
        from mmaction.utils import dependency
        print(multimodal_guard.transformers_major(), multimodal_guard.install_multimodal_guard(),
              dependency.WITH_MULTIMODAL)
    """, extra_path=site)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[-3:] == ['4', 'False', 'True']


def test_runner_checkpoint_loads_weights_only(tmp_path):
    """A checkpoint with mmengine's message hub and numpy meta loads with weights_only=True."""
    import numpy as np
    import torch
    from mmengine.logging import HistoryBuffer, MessageHub
    hub = MessageHub.get_instance('compat-test')
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('iter', 3)
    ckpt = dict(meta=dict(seed=np.int64(3), epoch=1, lr=np.float32(0.1)),
                message_hub=hub.state_dict(), state_dict={'w': torch.ones(2)})
    path = tmp_path / 'epoch_1.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)
    assert isinstance(loaded['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    assert loaded['meta']['seed'] == 3
    assert os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD') is None


@pytest.mark.parametrize('name', ['exec', 'os.system'])
def test_allow_list_has_no_callables_that_run_code(name):
    from mmaction_tcm.engine.safe_loading import allowed_globals
    names = {f'{g.__module__}.{g.__name__}' for g in allowed_globals() if not isinstance(g, tuple)}
    assert not any(n.endswith(name.split('.')[-1]) and 'numpy' not in n for n in names)


def test_getattr_is_restricted_to_history_buffer_methods(tmp_path):
    import pickle

    import torch

    class GetattrExploit:
        def __reduce__(self):
            return (getattr, (torch.Tensor, 'add_'))

    path = tmp_path / 'getattr.pth'
    torch.save({'x': GetattrExploit()}, path)
    from mmaction_tcm.engine import safe_torch_load
    with pytest.raises(ValueError, match='refusing to load'):
        safe_torch_load(str(path))
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


# The mmengine functions the engine changes replace, read in a child process.
ENGINE_STATE = """
def engine_state():
    from mmengine.dist import utils as dist_utils
    from mmengine.fileio.backends.local_backend import LocalBackend
    from mmengine.model import MMDistributedDataParallel
    from mmengine.runner import runner as runner_mod
    from mmengine.runner.checkpoint import CheckpointLoader
    return {'put': LocalBackend.put, 'put_text': LocalBackend.put_text,
            'find_latest_checkpoint': runner_mod.find_latest_checkpoint,
            'local_loader': CheckpointLoader._schemes[''],
            'init_dist_pytorch': dist_utils._init_dist_pytorch,
            'ddp_init': MMDistributedDataParallel.__init__}
def changed(before, after):
    return sorted(k for k in before if before[k] is not after[k])
"""
ALL_CHANGED = ['ddp_init', 'find_latest_checkpoint', 'init_dist_pytorch', 'local_loader',
               'put', 'put_text']


def test_import_changes_no_mmengine_function_and_our_configs_switch_them_on(tmp_path):
    """`import mmaction_tcm` registers and replaces nothing, nor does loading a config whose
    custom_imports name only `mmaction_tcm`, nor loading our tools; loading any config of
    ours (through configs/_base_/default_runtime.py) switches all six on."""
    stock = tmp_path / 'stock.py'
    stock.write_text("custom_imports = dict(imports=['mmaction_tcm'])\n")
    res = run_python(ENGINE_STATE + f"""
import importlib.util, sys
from mmengine.config import Config
before = engine_state()
import mmaction_tcm
from mmaction.registry import HOOKS, MODELS, OPTIM_WRAPPERS
assert MODELS.get('TCM') is not None and MODELS.get('ResNet3dTCM') is not None
assert HOOKS.get('RNGStateHook') is not None
assert OPTIM_WRAPPERS.get('CPUAutocastOptimWrapper') is not None
print('IMPORT', changed(before, engine_state()))
Config.fromfile({str(stock)!r})
print('STOCK', changed(before, engine_state()))
sys.path.insert(0, 'tools')
for name in ('train', 'test'):
    spec = importlib.util.spec_from_file_location(name, f'tools/{{name}}.py')
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print('TOOLS', changed(before, engine_state()))
Config.fromfile('configs/tcm_r50_sthv1.py')
print('OURS', changed(before, engine_state()))
""")
    assert res.returncode == 0, res.stderr
    for stage in ('IMPORT', 'STOCK', 'TOOLS'):
        assert f'{stage} []' in res.stdout
    assert f'OURS {ALL_CHANGED}' in res.stdout


def _load_tool(name: str):
    import importlib.util
    spec = importlib.util.spec_from_file_location(f'tool_{name}',
                                                  os.path.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_tools_switch_the_engine_changes_on_before_building_the_runner(tmp_path, tool,
                                                                       monkeypatch):
    """Also for a config whose custom_imports name only `mmaction_tcm` (the Runner is
    replaced by a probe that records and stops)."""
    import mmaction_tcm.engine
    from mmengine.runner import Runner
    monkeypatch.syspath_prepend(os.path.join(ROOT, 'tools'))
    module = _load_tool(tool)
    events = []
    monkeypatch.setattr(mmaction_tcm.engine, 'enable_engine_changes',
                        lambda: events.append('engine changes on'))

    def probe(cfg):
        events.append(f'runner for {os.path.basename(cfg.work_dir)}')
        raise SystemExit(0)
    monkeypatch.setattr(Runner, 'from_cfg', probe)
    cfg = tmp_path / 'user.py'
    cfg.write_text("custom_imports = dict(imports=['mmaction_tcm'])\nmodel = dict()\n")
    argv = [str(cfg)] + (['ckpt.pth'] if tool == 'test' else [])
    with pytest.raises(SystemExit):
        module.main(argv + ['--work-dir', str(tmp_path / 'work')])
    assert events == ['engine changes on', 'runner for work']
