"""Compatibility fixes applied by `import mmaction_tcm` (each in a fresh interpreter)."""
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code):
    env = dict(os.environ, PYTHONPATH=ROOT)
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
