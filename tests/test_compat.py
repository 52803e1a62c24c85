"""Compatibility fixes applied by `import mmaction_tcm` (each in a fresh interpreter)."""
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
    from mmaction_tcm.compat.safe_load import allowed_globals
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
    from mmaction_tcm.compat import safe_torch_load
    with pytest.raises(ValueError, match='refusing to load'):
        safe_torch_load(str(path))
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
