"""Where the native ops can be built, they must be: a failed build fails the suite.

Without this test a broken C++ build would only skip ``tests/test_native_ops.py`` and the
native cases elsewhere (the backend silently leaves the list) and CI would stay green with
no native op at all. The ops are optional only where the platform lacks the toolchain or
the user turned the build off (``MMACTION_TCM_BUILD_OPS=0``); then this test is skipped
with that reason, and the terminal summary (tests/conftest.py) names it.
"""
import os
import shutil

import pytest
import torch

from mmaction_tcm.ops import extension


def _why_optional():
    """The reason the native ops may be missing here, or None if they must build."""
    if os.environ.get(extension.ENV_SWITCH, '') == '0':
        return f'{extension.ENV_SWITCH}=0: the native build is turned off'
    compiler = os.environ.get('CXX', 'c++')
    if shutil.which(compiler) is None:
        return f'no C++ compiler ({compiler!r}) on PATH'
    return None


def test_native_ops_build_where_a_compiler_exists():
    reason = _why_optional()
    if reason is not None:
        pytest.skip(f'native ops optional on this platform: {reason}')
    assert extension.is_available(), (
        f'a C++ compiler exists and {extension.ENV_SWITCH} is not 0, but the native ops did '
        f'not build or load: {extension.unavailable_reason()}')
    # the library really registered CPU kernels for all four ops
    for op in ('correlation', 'correlation_backward', 'tempo_match', 'tempo_match_backward'):
        assert torch._C._dispatch_has_kernel_for_dispatch_key(f'mmaction_tcm::{op}', 'CPU'), op


def test_cuda_kernels_built_where_a_gpu_and_toolkit_exist():
    if _why_optional() is not None:
        pytest.skip(f'native ops optional on this platform: {_why_optional()}')
    if not extension.cuda_build_possible():
        pytest.skip('no CUDA device, CUDA torch or CUDA toolkit: CUDA kernels not expected')
    assert extension.has_cuda_kernels(), (
        'a GPU and the CUDA toolkit exist, but the extension has no CUDA kernels: '
        f'{extension.unavailable_reason()}')
