"""The backend table: names, resolution once per name, no build inside a forward pass."""
import copy
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from mmaction_tcm.models import TCM
from mmaction_tcm.ops import backends, correlation, extension, tempo_match
from mmaction_tcm.ops.backends import OpBackend, resolve_backend
from mmaction_tcm.ops.torch_impl import correlation_torch, tempo_match_torch
from helpers import unit

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def counting_backend(monkeypatch):
    """A backend ``'counting'`` in the table that counts preparations and calls and runs
    the PyTorch path; resolutions made in the test are forgotten afterwards."""
    counts = {'prepare': 0, 'correlation': 0, 'tempo_match': 0}

    def prepare():
        counts['prepare'] += 1

    def corr(*args):
        counts['correlation'] += 1
        return correlation_torch(*args)

    def match(*args):
        counts['tempo_match'] += 1
        return tempo_match_torch(*args)

    monkeypatch.setitem(backends.BACKENDS, 'counting', OpBackend('counting', corr, match, prepare))
    monkeypatch.setattr(backends, '_resolved', {})
    return counts


def test_unknown_backend_names_the_valid_ones(counting_backend):
    valid = ('auto', ) + tuple(backends.BACKENDS)  # every entry of the table, 'counting' too
    assert {'native', 'pytorch', 'mmcv', 'counting'} <= set(valid)
    f = torch.zeros(1, 2, 3, 3)
    for bad in ('cuda', '', None, 1):
        message = f'corr_backend must be one of {valid}, got {bad!r}'
        with pytest.raises(ValueError) as err:
            resolve_backend(bad)
        assert str(err.value) == message
        with pytest.raises(ValueError, match='corr_backend must be one of'):
            correlation(f, f, 3, corr_backend=bad)
        with pytest.raises(ValueError, match='corr_backend must be one of'):
            tempo_match(f, f, 3, corr_backend=bad)
        with pytest.raises(ValueError, match='corr_backend must be one of'):
            TCM(8, 4, corr_backend=bad)
        with pytest.raises(ValueError, match='corr_backend must be one of'):
            TCM(8, 4, use_mtdm=False, corr_backend=bad)


def test_tcm_resolves_its_backend_once_at_construction(counting_backend, monkeypatch):
    T = 4
    torch.manual_seed(0)
    tcm = TCM(16, T, reduced_channels=8, patch_size=5, corr_backend='counting')
    ref = TCM(16, T, reduced_channels=8, patch_size=5, corr_backend='pytorch')
    ref.load_state_dict(tcm.state_dict())
    assert counting_backend['prepare'] == 1  # two modules, one resolution per name
    clone = copy.deepcopy(tcm)  # a copy (or an unpickled module) resolves by name
    assert clone.mtdm.ops is tcm.mtdm.ops and counting_backend['prepare'] == 1
    # forward neither looks the name up nor resolves again
    monkeypatch.delitem(backends.BACKENDS, 'counting')
    monkeypatch.setattr(backends, '_resolved', {})
    x = torch.randn(2 * T, 16, 6, 7)
    for _ in range(3):
        torch.testing.assert_close(tcm(x), ref(x), rtol=0, atol=1e-6)
    assert counting_backend['prepare'] == 1
    assert counting_backend['tempo_match'] == 3 * 2  # fast pairs, then the rest of the slow


def test_functional_ops_resolve_on_first_call_only(counting_backend):
    f1, f2 = unit((2, 4, 5, 6), torch.float32, 0), unit((2, 4, 5, 6), torch.float32, 1)
    for _ in range(3):
        corr = correlation(f1, f2, 3, 2, corr_backend='counting')
        flow, conf = tempo_match(f1, f2, 5, corr_backend='counting')
    assert counting_backend == {'prepare': 1, 'correlation': 3, 'tempo_match': 3}
    torch.testing.assert_close(corr, correlation_torch(f1, f2, 3, 2))
    torch.testing.assert_close(flow, tempo_match_torch(f1, f2, 5)[0])


def test_a_failed_preparation_is_not_remembered(counting_backend, monkeypatch):
    def refuse():
        raise RuntimeError('not today')

    monkeypatch.setitem(backends.BACKENDS, 'refusing',
                        OpBackend('refusing', correlation_torch, tempo_match_torch, refuse))
    for _ in range(2):
        with pytest.raises(RuntimeError, match='not today'):
            TCM(8, 4, corr_backend='refusing')
    assert 'refusing' not in backends._resolved


def test_auto_falls_back_to_pytorch_with_one_warning(monkeypatch):
    monkeypatch.setattr(backends, '_resolved', {})
    monkeypatch.setattr(extension, 'is_available', lambda: False)
    monkeypatch.setattr(extension, 'unavailable_reason', lambda: 'no compiler (test)')
    f1, f2 = unit((1, 4, 5, 5), torch.float32, 2), unit((1, 4, 5, 5), torch.float32, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        tempo_match(f1, f2, 5)
        tempo_match(f1, f2, 5)
        tcm = TCM(8, 4, reduced_channels=4, patch_size=3)
    messages = [str(w.message) for w in caught if 'native correlation ops' in str(w.message)]
    assert len(messages) == 1 and 'no compiler (test)' in messages[0]
    assert tcm.mtdm.ops.name == 'pytorch'
    assert backends.resolve_backend('auto') is backends.BACKENDS['pytorch']


# A fresh process with an empty cache: `cpp_extension.load` (the compiler step) is replaced
# by a copy of the library already built for this checkout, counting its calls.
_FRESH_PROCESS = '''
import shutil, sys, torch
from torch.utils import cpp_extension
calls = []
def fake_compile(name, sources, build_directory, **kwargs):
    calls.append(build_directory)
    shutil.copy(sys.argv[1], build_directory)
cpp_extension.load = fake_compile
import mmaction_tcm
from mmaction_tcm.models import TCM
from mmaction_tcm.ops import extension
print('after import', len(calls), flush=True)
tcm = TCM(16, 4, reduced_channels=8, patch_size=5)
TCM(16, 4, reduced_channels=8, patch_size=3)
print('after construction', len(calls), tcm.mtdm.ops.name, flush=True)
def refuse(*args, **kwargs):
    raise AssertionError('the extension was loaded or built inside forward')
cpp_extension.load = refuse
extension.load = refuse
extension._load_or_build = refuse
x = torch.randn(8, 16, 6, 6, requires_grad=True)
for _ in range(2):
    tcm(x).square().sum().backward()
print('after forward', len(calls), flush=True)
'''


@pytest.mark.parametrize('switch', [None, pytest.param('1', marks=pytest.mark.slow)])
def test_build_happens_at_import_or_construction_never_in_forward(tmp_path, switch):
    if not extension.is_available():
        pytest.skip(f'native ops unavailable: {extension.unavailable_reason()}')
    prebuilt = extension.library_path(with_cuda=extension.has_cuda_kernels())
    env = dict(os.environ, PYTHONPATH=str(REPO), MMACTION_TCM_OPS_CACHE=str(tmp_path))
    env.pop('MMACTION_TCM_BUILD_OPS', None)
    if switch is not None:
        env['MMACTION_TCM_BUILD_OPS'] = switch
    done = subprocess.run([sys.executable, '-c', _FRESH_PROCESS, str(prebuilt)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    at_import = 1 if switch == '1' else 0
    assert f'after import {at_import}' in out
    assert 'after construction 1 native' in out
    assert 'after forward 1' in out
    assert out.count('compiling the native ops') == 1, out
    assert len(list(tmp_path.glob('*/mmaction_tcm_ops.so'))) == 1
