"""The CUDA sources compile with nvcc alone; on a GPU, CUDA kernels equal the CPU ones."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

OPS = Path(__file__).resolve().parents[1] / 'ops'
NVCC = shutil.which('nvcc')


@pytest.mark.skipif(NVCC is None, reason='nvcc not on PATH')
def test_cuda_kernels_compile_with_nvcc(tmp_path):
    obj = tmp_path / 'tcm_cuda.o'
    cmd = [NVCC, '-c', '-std=c++17', '-O2', '-gencode', 'arch=compute_80,code=sm_80',
           '-I', str(OPS / 'include'), str(OPS / 'cuda' / 'tcm_cuda.cu'), '-o', str(obj)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert obj.stat().st_size > 0
    symbols = subprocess.run(['nm', '-C', str(obj)], capture_output=True, text=True).stdout
    for name in ('correlation_forward', 'correlation_backward', 'tempo_match_forward',
                 'tempo_match_backward'):
        assert f'tcm_cuda::{name}(' in symbols, name


@pytest.mark.skipif(shutil.which('c++') is None, reason='no host C++ compiler')
def test_shared_headers_are_self_contained(tmp_path):
    """The per-pixel header and the kernel API compile without torch or CUDA."""
    src = tmp_path / 'use.cpp'
    src.write_text('#include "tcm_kernels.h"\n#include "tcm_pixel.h"\n'
                   'float probe(const float* c, const float* g, float* e, float* x) {\n'
                   '  tcm::MatchLanes<float, 4> r;\n'
                   '  tcm::match_lanes<float, 4>(c, 5, g, 100.f, e, x, r);\n'
                   '  return r.u[0] + tcm::exp_acc(-1.0f);\n}\n')
    done = subprocess.run(['c++', '-std=c++17', '-Wall', '-Werror', '-fsyntax-only',
                           '-I', str(OPS / 'include'), str(src)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _cuda_include():
    """The CUDA toolkit's include folder (asked from nvcc: a CPU torch knows no CUDA_HOME)."""
    if NVCC is None:
        return None
    done = subprocess.run([NVCC, '--dryrun', '-x', 'cu', '-c', os.devnull, '-o', os.devnull],
                          capture_output=True, text=True, timeout=60)
    found = re.search(r'INCLUDES="-I([^"]+)"', done.stdout + done.stderr)
    return found.group(1).strip() if found else None


@pytest.mark.slow
@pytest.mark.skipif(shutil.which('c++') is None or _cuda_include() is None,
                    reason='needs a host C++ compiler and the CUDA toolkit headers')
def test_cuda_binding_compiles_against_torch_headers(tmp_path):
    """Syntax check of ops/csrc/tcm_cuda_binding.cpp with torch's and the toolkit's headers.

    A CPU-only torch wheel ships the c10/cuda headers but not the configuration header that
    CUDA builds generate; it is written here with the value CUDA builds use."""
    import sysconfig
    from torch.utils.cpp_extension import include_paths
    includes = include_paths() + [sysconfig.get_paths()['include'],
                                  _cuda_include(),
                                  str(OPS / 'include'), str(OPS / 'csrc')]
    if not any((Path(p) / 'c10/cuda/impl/cuda_cmake_macros.h').is_file() for p in includes):
        generated = tmp_path / 'c10' / 'cuda' / 'impl' / 'cuda_cmake_macros.h'
        generated.parent.mkdir(parents=True)
        generated.write_text('#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n')
        includes.append(str(tmp_path))
    cmd = ['c++', '-std=c++17', '-fsyntax-only', '-DTCM_WITH_CUDA']
    cmd += [f'-I{p}' for p in includes] + [str(OPS / 'csrc' / 'tcm_cuda_binding.cpp')]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]


cuda_ready = torch.cuda.is_available()


@pytest.mark.skipif(not cuda_ready, reason='no CUDA device')
@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_cuda_kernels_equal_cpu(dtype, tol):
    from mmaction_tcm.ops import extension, native
    assert extension.is_available(), extension.unavailable_reason()
    assert extension.has_cuda_kernels(), 'extension built without CUDA kernels'
    g = torch.Generator().manual_seed(0)
    f1 = torch.nn.functional.normalize(torch.randn(3, 16, 11, 19, generator=g), dim=1)
    f2 = torch.nn.functional.normalize(torch.randn(3, 16, 11, 19, generator=g), dim=1)
    f1, f2 = f1.to(dtype), f2.to(dtype)
    outs = {}
    for device in ('cpu', 'cuda'):
        a = f1.to(device).contiguous(memory_format=torch.channels_last).requires_grad_()
        b = f2.to(device, copy=True).requires_grad_()  # a fresh leaf on every device
        flow, conf = native.tempo_match_native(a, b, 15)
        corr = native.correlation_native(a, b, 7, 2)
        loss = flow.square().sum() + conf.sum() + corr.square().sum()
        loss.backward()
        outs[device] = [t.detach().cpu() for t in (flow, conf, corr, a.grad, b.grad)]
    for x, y in zip(outs['cpu'], outs['cuda']):
        torch.testing.assert_close(y, x, rtol=0, atol=tol * max(1.0, x.abs().max().item()))
