"""Load mmengine checkpoints with ``torch.load(weights_only=True)``.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch 2.6 that means
``weights_only=True`` and its own checkpoints (``HistoryBuffer`` objects and numpy scalars
in ``message_hub`` / ``meta``) refuse to load. We allow-list exactly those types instead of
turning the safety off, so a pickle that would run code is still refused.
"""
import pickle
import re
from typing import Any

import numpy as np
import torch


def _numpy_globals() -> list:
    types_ = [np.dtype, np.ndarray]
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    types_ += [scalar, _reconstruct]
    # dtype classes pickled with numpy scalars (np.dtypes exists from numpy 1.25)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in ('Float64DType', 'Float32DType', 'Float16DType', 'Int64DType',
                     'Int32DType', 'Int16DType', 'Int8DType', 'UInt8DType', 'BoolDType',
                     'UInt64DType', 'UInt32DType', 'UInt16DType'):
            if hasattr(dtypes, name):
                types_.append(getattr(dtypes, name))
    return types_


def history_buffer_method(owner, name: str):
    """Restricted stand-in for ``builtins.getattr`` while unpickling.

    ``HistoryBuffer.__getstate__`` stores its statistics methods (``HistoryBuffer.mean``
    ...), which protocol-2 pickles spell ``getattr(HistoryBuffer, 'mean')``. Only that
    form resolves; any other ``getattr`` in a file is refused.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    value = HistoryBuffer.__dict__.get(name) if owner is HistoryBuffer else None
    if owner is not HistoryBuffer or name.startswith('_') or not callable(value):
        raise pickle.UnpicklingError(
            f'Unsupported global: GLOBAL builtins.getattr on {owner!r}.{name} (only '
            f'HistoryBuffer statistics methods are allowed)')
    return value


def _mmengine_globals() -> list:
    from mmengine.logging.history_buffer import HistoryBuffer
    from mmengine.config.config import ConfigDict
    return [HistoryBuffer, ConfigDict, (history_buffer_method, 'builtins.getattr')]


_ALLOWED = None


def allowed_globals() -> list:
    """The types added to torch's ``weights_only`` allow-list."""
    global _ALLOWED
    if _ALLOWED is None:
        _ALLOWED = _numpy_globals() + _mmengine_globals()
    return list(_ALLOWED)


def allow_mmengine_checkpoint_globals() -> None:
    """Add the types mmengine's Runner writes into checkpoints to the allow-list."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(allowed_globals())


def safe_torch_load(path: str, map_location: Any = 'cpu') -> Any:
    """``torch.load(path, weights_only=True)`` with a clear error for unsafe or bad files.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a torch checkpoint, or it holds objects outside the
            allow-list (a pickle that would execute code); nothing from it is executed.
    """
    import os
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path!r}')
    allow_mmengine_checkpoint_globals()
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        detail = str(err)
        found = re.search(r'Unsupported global: GLOBAL (\S+( on \S+)?)', detail)
        if found is None:
            raise ValueError(f'{path!r} is not a readable torch checkpoint '
                             f'(weights-only unpickler: {_last_line(detail)})') from err
        raise ValueError(
            f'refusing to load {path!r}: it references {found.group(1)}, which is not a '
            f'tensor, a container or an allow-listed mmengine/numpy type; unpickling it '
            f'could execute arbitrary code, so nothing from it was run') from err
    except (RuntimeError, EOFError) as err:
        raise ValueError(f'{path!r} is not a readable torch checkpoint: {err}') from err


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if 'WeightsUnpickler error' in ln or 'Unsupported' in ln:
            return ln
    return lines[-1] if lines else text
