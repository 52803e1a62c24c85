"""Native (C++ / CUDA) ops ``mmaction_tcm::correlation`` and ``mmaction_tcm::tempo_match``.

The schemas and device kernels are defined in ``ops/csrc`` (compiled on first use, see
:mod:`.native_build`); this module adds what torch.library needs from Python:

- autograd: both ops save only their inputs; ``tempo_match``'s backward recomputes the
  per-pixel cost volume instead of storing ``(B, P*P, H, W)``;
- fake (meta) kernels, so ``torch.compile`` can trace through the ops.

The hard argmax that centres the Gaussian is the *first* maximum over the ``P*P``
displacements (row-major ``k = dy * P + dx``), like ``torch.max`` on CPU; it carries no
gradient. float16 / bfloat16 inputs are computed in float32 and cast back.
"""
import os
import threading
import warnings
from typing import Optional, Tuple

import torch

from . import native_build

_lock = threading.Lock()
_state = {'loaded': False, 'error': None, 'registered': False}


def _register_python_parts() -> None:
    """Autograd formulas and fake kernels for the four ops (once per process)."""
    if _state['registered']:
        return
    lib = torch.library

    @lib.register_fake('mmaction_tcm::correlation')
    def _corr_fake(f1, f2, patch_size, dilation_patch=1):
        B, _, H, W = f1.shape
        dtype = torch.promote_types(f1.dtype, f2.dtype)
        return f1.new_empty((B, patch_size, patch_size, H, W), dtype=dtype)

    @lib.register_fake('mmaction_tcm::correlation_backward')
    def _corr_bwd_fake(grad, f1, f2, patch_size, dilation_patch):
        return (torch.empty_like(f1, memory_format=_format(f1)),
                torch.empty_like(f2, memory_format=_format(f2)))

    @lib.register_fake('mmaction_tcm::tempo_match')
    def _match_fake(f1, f2, patch_size=15, sigma=5.0, temperature=100.0):
        B, _, H, W = f1.shape
        dtype = torch.promote_types(f1.dtype, f2.dtype)
        return (f1.new_empty((B, 2, H, W), dtype=dtype),
                f1.new_empty((B, 1, H, W), dtype=dtype))

    @lib.register_fake('mmaction_tcm::tempo_match_backward')
    def _match_bwd_fake(grad_flow, grad_confidence, f1, f2, patch_size, sigma, temperature):
        return (torch.empty_like(f1, memory_format=_format(f1)),
                torch.empty_like(f2, memory_format=_format(f2)))

    def _corr_setup(ctx, inputs, output):
        f1, f2, patch_size, dilation_patch = inputs
        ctx.save_for_backward(f1, f2)
        ctx.args = (patch_size, dilation_patch)

    def _corr_backward(ctx, grad):
        f1, f2 = ctx.saved_tensors
        g1, g2 = torch.ops.mmaction_tcm.correlation_backward(grad, f1, f2, *ctx.args)
        return g1, g2, None, None

    lib.register_autograd('mmaction_tcm::correlation', _corr_backward,
                          setup_context=_corr_setup)

    def _match_setup(ctx, inputs, output):
        f1, f2, patch_size, sigma, temperature = inputs
        ctx.save_for_backward(f1, f2)
        ctx.args = (patch_size, sigma, temperature)

    def _match_backward(ctx, grad_flow, grad_conf):
        f1, f2 = ctx.saved_tensors
        B, _, H, W = f1.shape
        dtype = torch.promote_types(f1.dtype, f2.dtype)
        if grad_flow is None:
            grad_flow = f1.new_zeros((B, 2, H, W), dtype=dtype)
        if grad_conf is None:
            grad_conf = f1.new_zeros((B, 1, H, W), dtype=dtype)
        g1, g2 = torch.ops.mmaction_tcm.tempo_match_backward(
            grad_flow, grad_conf, f1, f2, *ctx.args)
        return g1, g2, None, None, None

    lib.register_autograd('mmaction_tcm::tempo_match', _match_backward,
                          setup_context=_match_setup)
    _state['registered'] = True


def _format(t: torch.Tensor) -> torch.memory_format:
    """Layout of an input's gradient; the C++ ``grad_format`` (tcm_binding_common.h) agrees."""
    if t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(
            memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def load(verbose: bool = False, allow_compile: Optional[bool] = None) -> None:
    """Load (compiling if needed) the native ops; raises ``NativeBuildError`` on failure."""
    with _lock:
        if _state['loaded']:
            return
        if allow_compile is None:
            allow_compile = os.environ.get(native_build.ENV_SWITCH, '') != '0'
        native_build.compile_and_load(verbose=verbose, allow_compile=allow_compile)
        _register_python_parts()
        _state['loaded'] = True
        _state['error'] = None


def is_available() -> bool:
    """True when the native ops are loaded, or load / build now (first call only)."""
    if _state['loaded']:
        return True
    if _state['error'] is not None:
        return False
    try:
        load()
    except native_build.NativeBuildError as exc:
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


def _require() -> None:
    if not is_available():
        raise RuntimeError('mmaction_tcm native ops are not available: '
                           f'{unavailable_reason()}. Use backend="pytorch", or install a C++ '
                           f'compiler and ninja (see {native_build.ENV_SWITCH}).')


def correlation_native(f1: torch.Tensor, f2: torch.Tensor, patch_size: int,
                       dilation_patch: int = 1) -> torch.Tensor:
    """``(B, C, H, W)`` x2 -> ``(B, P, P, H, W)`` via ``mmaction_tcm::correlation``."""
    _require()
    return torch.ops.mmaction_tcm.correlation(f1, f2, patch_size, dilation_patch)


def tempo_match_native(f1: torch.Tensor, f2: torch.Tensor, patch_size: int = 15,
                       sigma: float = 5.0, temperature: float = 100.0
                       ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Fused matching via ``mmaction_tcm::tempo_match``: flow ``(B,2,H,W)``, conf ``(B,1,H,W)``."""
    _require()
    return torch.ops.mmaction_tcm.tempo_match(f1, f2, patch_size, float(sigma),
                                              float(temperature))


def build_ahead_if_requested() -> None:
    """Called at package import: ``MMACTION_TCM_BUILD_OPS=1`` builds now (warns on failure)."""
    if os.environ.get(native_build.ENV_SWITCH, '') != '1':
        return
    if not is_available():
        warnings.warn(f'{native_build.ENV_SWITCH}=1 but the native ops did not build: '
                      f'{unavailable_reason()}', stacklevel=2)
