"""Choice of the implementation behind ``correlation`` / ``tempo_match``.

``'pytorch'``: :mod:`.torch_impl` (always available). ``'native'`` and ``'mmcv'`` are added
by the native-op module when present. ``'auto'`` picks the best available one.
"""
import warnings

BACKENDS = ('auto', 'native', 'pytorch', 'mmcv')


def native_available() -> bool:
    """True when the compiled ops can be used (built, or buildable on first use)."""
    try:
        from . import native
    except ImportError:
        return False
    return native.is_available()


_warned_fallback = False


def resolve_backend(backend: str) -> str:
    """Map a requested backend to the one that will run."""
    global _warned_fallback
    if backend not in BACKENDS:
        raise ValueError(f'corr_backend must be one of {BACKENDS}, got {backend!r}')
    if backend != 'auto':
        return backend
    if native_available():
        return 'native'
    if not _warned_fallback:
        try:
            from .native import unavailable_reason
            reason = unavailable_reason()
        except ImportError as exc:
            reason = str(exc)
        warnings.warn('mmaction_tcm: native correlation ops are not available '
                      f'({reason}); TCM uses the PyTorch implementation (slower, same '
                      'results). Build them with `python -m mmaction_tcm.ops.build`.',
                      stacklevel=3)
        _warned_fallback = True
    return 'pytorch'
