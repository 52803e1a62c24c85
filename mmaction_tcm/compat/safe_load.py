"""Load mmengine checkpoints with ``torch.load(weights_only=True)``.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch 2.6 that means
``weights_only=True`` and its own checkpoints (``HistoryBuffer`` objects and numpy scalars
in ``message_hub`` / ``meta``) refuse to load. We allow-list exactly those types instead of
turning the safety off, so a pickle that would run code is still refused.
"""
import pickle
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


def _mmengine_globals() -> list:
    from mmengine.logging.history_buffer import HistoryBuffer
    from mmengine.config.config import ConfigDict
    return [HistoryBuffer, ConfigDict]


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
        raise ValueError(
            f'refusing to load {path!r}: it contains objects that are not plain tensors, '
            f'containers or allow-listed mmengine/numpy types (loading it would execute '
            f'arbitrary code). Details: {str(err).splitlines()[0]}') from err
    except (RuntimeError, EOFError) as err:
        raise ValueError(f'{path!r} is not a readable torch checkpoint: {err}') from err
