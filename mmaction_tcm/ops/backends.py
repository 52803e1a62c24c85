"""The one table of implementations behind ``correlation`` / ``tempo_match``.

:data:`BACKENDS` maps a ``corr_backend`` name to an :class:`OpBackend`, a pair of functions
with the signatures of the public ops plus a ``prepare`` step that makes them runnable.
``'auto'`` is not an implementation: it resolves to ``'native'`` when the compiled ops load
(or build), else to ``'pytorch'`` with one warning.

:func:`resolve_backend` runs ``prepare`` (for ``'native'``: load, or build with one log line,
the extension) and remembers the result per name, so a backend is resolved once per process:
``TCM`` / ``MTDM`` resolve in ``__init__``, the functional ops on their first call. A forward
pass only calls the resolved functions.

Adding a backend: write ``correlation(f1, f2, P, d) -> (B, P, P, H, W)`` and
``tempo_match(f1, f2, P, sigma, temperature) -> ((B, 2, H, W), (B, 1, H, W))`` for
``(B, C, H, W)`` inputs, and add an entry here.
"""
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, Tuple

from . import extension
from .mmcv_backend import correlation_mmcv, tempo_match_mmcv
from .native import correlation_native, tempo_match_native
from .sampler_backend import check_sampler, correlation_sampler, tempo_match_sampler
from .torch_impl import correlation_torch, tempo_match_torch

AUTO = 'auto'


def _nothing_to_prepare() -> None:
    pass


def _load_extension() -> None:
    if not extension.is_available():
        raise RuntimeError('mmaction_tcm native ops are not available: '
                           f'{extension.unavailable_reason()}. Use corr_backend="pytorch", or '
                           f'install a C++ compiler and ninja (see {extension.ENV_SWITCH}).')


@dataclass(frozen=True)
class OpBackend:
    """One implementation of both ops.

    Attributes:
        name: its key in :data:`BACKENDS`.
        correlation: ``(f1, f2, patch_size, dilation_patch) -> (B, P, P, H, W)``.
        tempo_match: ``(f1, f2, patch_size, sigma, temperature) -> (flow, confidence)``.
        prepare: makes the functions runnable or raises ``RuntimeError`` saying why.
    """
    name: str
    correlation: Callable
    tempo_match: Callable
    prepare: Callable[[], None] = _nothing_to_prepare

    def __reduce__(self):
        # pickled / deep-copied modules resolve the backend again by name (in a new
        # process that loads the extension)
        return resolve_backend, (self.name, )


BACKENDS: Dict[str, OpBackend] = {
    'native': OpBackend('native', correlation_native, tempo_match_native, _load_extension),
    'pytorch': OpBackend('pytorch', correlation_torch, tempo_match_torch),
    # checked at the call: a model configured for mmcv can be built (and exported with
    # another backend) where mmcv's compiled ops are missing
    'mmcv': OpBackend('mmcv', correlation_mmcv, tempo_match_mmcv),
    'spatial_correlation_sampler': OpBackend('spatial_correlation_sampler',
                                             correlation_sampler, tempo_match_sampler,
                                             check_sampler),
}

_resolved: Dict[str, OpBackend] = {}


def backend_names() -> Tuple[str, ...]:
    """Every valid ``corr_backend``: ``'auto'`` and the keys of :data:`BACKENDS`."""
    return (AUTO, ) + tuple(BACKENDS)


def check_backend_name(corr_backend) -> None:
    """``ValueError`` listing the valid names unless ``corr_backend`` is one of them."""
    if not isinstance(corr_backend, str) or corr_backend not in backend_names():
        raise ValueError(f'corr_backend must be one of {backend_names()}, '
                         f'got {corr_backend!r}')


def _auto() -> OpBackend:
    if extension.is_available():
        return BACKENDS['native']
    warnings.warn('mmaction_tcm: native correlation ops are not available '
                  f'({extension.unavailable_reason()}); TCM uses the PyTorch implementation '
                  '(slower, same results). Build them with `python -m mmaction_tcm.ops.build`.',
                  stacklevel=4)
    return BACKENDS['pytorch']


def resolve_backend(corr_backend: str) -> OpBackend:
    """The :class:`OpBackend` that runs for ``corr_backend``, prepared (once per name)."""
    resolved = _resolved.get(corr_backend) if isinstance(corr_backend, str) else None
    if resolved is not None:
        return resolved
    check_backend_name(corr_backend)
    if corr_backend == AUTO:
        resolved = _auto()
    else:
        resolved = BACKENDS[corr_backend]
        resolved.prepare()
    _resolved[corr_backend] = resolved
    return resolved
