"""The compiled extension ``ops/`` (``torch.ops.mmaction_tcm.*``): find, build, load, availability.

Sources are found in ``<checkout>/ops``, else ``mmaction_tcm/.mim/ops`` of an installed
package, and compiled with ``torch.utils.cpp_extension`` into a cache folder named after a
hash of the sources, the flags, the torch / Python versions and the CPU's instruction-set
flags (the CPU code is built with ``-march=native``): ``$MMACTION_TCM_OPS_CACHE``, else
``$TORCH_EXTENSIONS_DIR/mmaction_tcm``, else ``~/.cache/mmaction_tcm/ops``. Later processes
only load the cached library. Loading also adds the Python registrations (autograd, fake
kernels: :mod:`.registrations`).

When a compile may happen (never inside a forward pass; every compile logs one line):

- ``python -m mmaction_tcm.ops.build``: ahead of time;
- ``MMACTION_TCM_BUILD_OPS=1``: at ``import mmaction_tcm``;
- unset (default): when a backend is resolved (``TCM(corr_backend=...)`` construction, or
  the first call of :func:`mmaction_tcm.ops.correlation` / ``tempo_match`` with a name);
- ``MMACTION_TCM_BUILD_OPS=0``: never; a cached build is used if present, else the ops
  are unavailable (``corr_backend='auto'`` then runs the PyTorch path).
"""
import fcntl
import hashlib
import os
import platform
import shutil
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import List, Optional

import torch

ENV_SWITCH = 'MMACTION_TCM_BUILD_OPS'
ENV_CACHE = 'MMACTION_TCM_OPS_CACHE'
LIB_NAME = 'mmaction_tcm_ops'
CPU_FLAGS = ['-O3', '-march=native', '-fopenmp', '-DNDEBUG']
CUDA_FLAGS = ['-O3', '--use_fast_math', '-DNDEBUG']


class NativeBuildError(RuntimeError):
    """The native ops could not be compiled or loaded."""


# ----------------------------------------------------------------------------- find

def sources_root() -> Path:
    """``<repo>/ops`` in a checkout, else ``mmaction_tcm/.mim/ops`` of an installed package."""
    pkg = Path(__file__).resolve().parents[1]
    for root in (pkg.parent / 'ops', pkg / '.mim' / 'ops'):
        if (root / 'include' / 'tcm_pixel.h').is_file():
            return root
    raise NativeBuildError(f'ops sources not found next to {pkg} (looked for ops/ and '
                           '.mim/ops/ with include/tcm_pixel.h)')


def source_files(root: Path, with_cuda: bool) -> List[Path]:
    """Translation units: the CPU binding + kernels, plus the CUDA pair when asked."""
    files = [root / 'csrc' / 'tcm_ops.cpp', root / 'cpu' / 'tcm_cpu.cpp']
    if with_cuda:
        files += [root / 'csrc' / 'tcm_cuda_binding.cpp', root / 'cuda' / 'tcm_cuda.cu']
    return files


def cuda_build_possible() -> bool:
    """A CUDA build needs a CUDA torch, a visible GPU and the CUDA toolkit."""
    from torch.utils.cpp_extension import CUDA_HOME
    return bool(torch.version.cuda) and torch.cuda.is_available() and CUDA_HOME is not None


def _cpu_signature() -> str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('flags'):
                return line
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cache_root() -> Path:
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE])
    if os.environ.get('TORCH_EXTENSIONS_DIR'):
        return Path(os.environ['TORCH_EXTENSIONS_DIR']) / 'mmaction_tcm'
    return Path.home() / '.cache' / 'mmaction_tcm' / 'ops'


def build_dir(with_cuda: bool) -> Path:
    """Cache folder for this source version, toolchain and CPU."""
    root = sources_root()
    digest = hashlib.sha256()
    headers = [p for p in root.rglob('*') if p.is_file() and p.suffix in ('.h', '.cuh')]
    for path in sorted(headers) + source_files(root, with_cuda):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    for item in (torch.__version__, sys.version, platform.machine(), _cpu_signature(),
                 ' '.join(CPU_FLAGS), ' '.join(CUDA_FLAGS), str(with_cuda)):
        digest.update(item.encode())
    tag = 'cuda' if with_cuda else 'cpu'
    return cache_root() / f'{LIB_NAME}_{tag}_{digest.hexdigest()[:16]}'


def library_path(with_cuda: bool) -> Path:
    return build_dir(with_cuda) / f'{LIB_NAME}.so'


# ----------------------------------------------------------------------------- build

def compile_library(out_dir: Path, with_cuda: bool, verbose: bool = False) -> None:
    """Compile the extension into ``out_dir`` (the caller holds the build lock).

    The only place that runs the compiler; it logs one line first.
    """
    from mmengine.logging import print_log
    from torch.utils import cpp_extension
    compiler = os.environ.get('CXX', 'c++')
    if shutil.which(compiler) is None:
        raise NativeBuildError(f'no C++ compiler ({compiler!r}) on PATH')
    if not cpp_extension.is_ninja_available():
        raise NativeBuildError('ninja is not installed (pip install ninja)')
    root = sources_root()
    print_log(f'mmaction_tcm: compiling the native ops ({"CPU+CUDA" if with_cuda else "CPU"}) '
              f'into {out_dir}, once per machine and source version (ahead of time: '
              f'python -m mmaction_tcm.ops.build; never: {ENV_SWITCH}=0)', logger='current')
    start = time.perf_counter()
    try:
        cpp_extension.load(
            name=LIB_NAME,
            sources=[str(p) for p in source_files(root, with_cuda)],
            extra_cflags=CPU_FLAGS + (['-DTCM_WITH_CUDA'] if with_cuda else []),
            extra_cuda_cflags=CUDA_FLAGS,
            extra_ldflags=['-fopenmp'],
            extra_include_paths=[str(root / 'include'), str(root / 'csrc')],
            build_directory=str(out_dir),
            verbose=verbose,
            with_cuda=with_cuda,
            is_python_module=False)
    except Exception as exc:  # compiler errors arrive as RuntimeError / OSError
        raise NativeBuildError(f'building the native ops in {out_dir} failed: {exc}') from exc
    (out_dir / 'build_seconds.txt').write_text(f'{time.perf_counter() - start:.1f}\n')


def _load_or_build(with_cuda: bool, verbose: bool, allow_compile: bool) -> Path:
    """Load the cached library, compiling it first when needed and allowed.

    Raises:
        NativeBuildError: no compiler / ninja, compilation failure, or a missing build
        with ``allow_compile=False``.
    """
    out_dir = build_dir(with_cuda)
    lib = out_dir / f'{LIB_NAME}.so'
    if lib.is_file():
        try:
            torch.ops.load_library(str(lib))
            return lib
        except OSError as exc:  # being written by another process, or truncated
            if not allow_compile:
                raise NativeBuildError(f'cannot load {lib}: {exc}') from exc
    if not allow_compile:
        raise NativeBuildError(f'no cached build at {lib} and {ENV_SWITCH}=0 forbids compiling')
    out_dir.mkdir(parents=True, exist_ok=True)
    # An flock is released by the kernel if a builder dies, unlike torch's own lock file,
    # which we clear while holding ours (every builder goes through this lock).
    with open(out_dir / 'build.flock', 'w') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if lib.is_file():  # built meanwhile by another process, or left broken by a killed one
            try:
                torch.ops.load_library(str(lib))
                return lib
            except OSError:
                lib.unlink()
        stale = out_dir / 'lock'
        if stale.exists():
            stale.unlink()
        compile_library(out_dir, with_cuda, verbose)
    torch.ops.load_library(str(lib))
    return lib


# ----------------------------------------------------------------------------- load

_lock = threading.Lock()
_state = {'loaded': None, 'error': None}  # loaded: the library's path


def load(verbose: bool = False, allow_compile: Optional[bool] = None) -> Path:
    """Load (compiling if needed and allowed) the ops and their Python registrations.

    ``allow_compile=None`` follows ``MMACTION_TCM_BUILD_OPS`` (everything but ``0`` allows).
    Returns the loaded library's path; raises ``NativeBuildError`` on failure.
    """
    from .registrations import register_autograd_and_fake_kernels
    with _lock:
        if _state['loaded'] is None:
            if allow_compile is None:
                allow_compile = os.environ.get(ENV_SWITCH, '') != '0'
            lib = _load_or_build(cuda_build_possible(), verbose, allow_compile)
            register_autograd_and_fake_kernels()
            _state['loaded'] = lib
            _state['error'] = None
        return _state['loaded']


def is_available() -> bool:
    """True when the ops are loaded, or load / build now (first call only; failures stick)."""
    if _state['loaded'] is not None:
        return True
    if _state['error'] is not None:
        return False
    try:
        load()
    except NativeBuildError as exc:
        _state['error'] = str(exc)
        return False
    return True


def unavailable_reason() -> Optional[str]:
    """Why the last load attempt failed (None when loaded or not tried)."""
    return _state['error']


def has_cuda_kernels() -> bool:
    """True when the loaded library registered CUDA kernels."""
    if not is_available():
        return False
    return torch._C._dispatch_has_kernel_for_dispatch_key('mmaction_tcm::tempo_match', 'CUDA')


def build_ahead_if_requested() -> None:
    """Called at package import: ``MMACTION_TCM_BUILD_OPS=1`` builds now (warns on failure)."""
    if os.environ.get(ENV_SWITCH, '') != '1':
        return
    if not is_available():
        warnings.warn(f'{ENV_SWITCH}=1 but the native ops did not build: '
                      f'{unavailable_reason()}', stacklevel=2)
