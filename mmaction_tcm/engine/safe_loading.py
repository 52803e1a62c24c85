"""Loading checkpoints and result dumps without executing code from them.

Three pieces share one allow-list of the non-tensor types our files hold:

* :func:`safe_torch_load`: ``torch.load(weights_only=True)`` for checkpoints, with the types
  mmengine's Runner writes into them (``HistoryBuffer`` and numpy scalars in
  ``message_hub`` / ``meta``, ``ConfigDict``) allowed, and a clear ``ValueError`` naming the
  file for anything else. mmengine 0.10.7 calls ``torch.load`` without ``weights_only``,
  which since torch 2.6 means ``True``; :func:`allow_mmengine_checkpoint_globals` (run by
  ``import mmaction_tcm``) lets such calls read mmengine's own checkpoints too.
* :func:`install_safe_local_loader`: mmengine's ``CheckpointLoader`` reads local files
  (``load_from``, ``resume``, ``load_checkpoint``, ``init_recognizer``) through
  :func:`safe_torch_load`, whatever ``torch.load``'s default. One of the engine changes
  (:func:`mmaction_tcm.engine.enable_engine_changes`).
* :func:`safe_pickle_load`: result dumps (``tools/test.py --dump`` pickles: lists of dicts of
  tensors, numpy arrays and Python scalars) through an unpickler that resolves only the
  globals such dumps need and rebuilds tensor storages with ``weights_only=True``.
"""
import io
import os
import os.path as osp
import pickle
import re
from typing import Any, Dict, Tuple

import numpy as np
import torch

# numpy's pickles name the array / scalar reconstructors after numpy's private core package,
# spelled `numpy.core` by numpy 1 and `numpy._core` by numpy 2; files of either are accepted.
_NUMPY_CORE = ('numpy.core.multiarray', 'numpy._core.multiarray')
# dtype classes stored with numpy scalars (numeric and bool only)
_NUMPY_DTYPE_CLASSES = ('Float64DType', 'Float32DType', 'Float16DType', 'Int64DType',
                        'Int32DType', 'Int16DType', 'Int8DType', 'UInt8DType', 'BoolDType',
                        'UInt64DType', 'UInt32DType', 'UInt16DType')


def numpy_globals() -> Dict[Tuple[str, str], Any]:
    """The numpy globals our files may reference: ``{(module, name): object}``."""
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    found = {('numpy', 'ndarray'): np.ndarray, ('numpy', 'dtype'): np.dtype}
    for core in _NUMPY_CORE:
        found[(core, '_reconstruct')] = _reconstruct
        found[(core, 'scalar')] = scalar
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25
    for name in _NUMPY_DTYPE_CLASSES:
        if dtypes is not None and hasattr(dtypes, name):
            found[('numpy.dtypes', name)] = getattr(dtypes, name)
    return found


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


def allowed_globals() -> list:
    """The entries added to torch's ``weights_only`` allow-list (numpy + mmengine types)."""
    from mmengine.config.config import ConfigDict
    from mmengine.logging.history_buffer import HistoryBuffer
    unique = list(dict.fromkeys(numpy_globals().values()))  # both core spellings: one object
    return unique + [HistoryBuffer, ConfigDict, (history_buffer_method, 'builtins.getattr')]


def allow_mmengine_checkpoint_globals() -> None:
    """Add :func:`allowed_globals` to torch's ``weights_only`` allow-list (idempotent)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(allowed_globals())


# ------------------------------------------------------------------------- checkpoints

def safe_torch_load(path: str, map_location: Any = 'cpu') -> Any:
    """``torch.load(path, weights_only=True)`` with a clear error for unsafe or bad files.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a torch checkpoint, or it holds objects outside the
            allow-list (a pickle that would execute code); nothing from it is executed.
    """
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


def load_from_local_safely(filename: str, map_location=None):
    """Load a local checkpoint with ``weights_only=True`` (mmengine loader signature)."""
    return safe_torch_load(osp.expanduser(filename), map_location=map_location)


def install_safe_local_loader() -> None:
    """Make :func:`load_from_local_safely` the default (local path) scheme of mmengine's
    ``CheckpointLoader`` (idempotent)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_safely, force=True)


# ------------------------------------------------------------------------ result dumps

# (module, name) pairs a result dump may reference besides numpy's; everything else is refused.
_DUMP_GLOBALS = {
    ('collections', 'OrderedDict'),
    ('builtins', 'set'), ('builtins', 'frozenset'), ('builtins', 'slice'),
    ('builtins', 'complex'),
    ('_codecs', 'encode'),  # how protocol 2 (mmengine's dump) stores bytes
    ('torch._utils', '_rebuild_tensor_v2'),
    ('torch', 'Size'),
}


def _load_storage_weights_only(data: bytes):
    """Replacement for ``torch.storage._load_from_bytes`` (which uses weights_only=False)."""
    return torch.load(io.BytesIO(data), weights_only=True)


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` resolving only the globals of result dumps (see module doc)."""

    def find_class(self, module: str, name: str):
        if (module, name) == ('torch.storage', '_load_from_bytes'):
            return _load_storage_weights_only
        numpy_global = numpy_globals().get((module, name))
        if numpy_global is not None:
            return numpy_global
        if (module, name) in _DUMP_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f'it references {module}.{name}, which a result dump '
                                     f'does not contain')


def safe_pickle_load(path: str) -> Any:
    """Unpickle a result dump; raise ``ValueError`` naming the file for anything else.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file references other callables (unpickling it could execute
            code; nothing from it was run) or is not a readable pickle.
    """
    with open(path, 'rb') as f:
        try:
            return RestrictedUnpickler(f).load()
        except pickle.UnpicklingError as err:
            raise ValueError(f'refusing to load {path!r}: {err}; unpickling it could execute '
                             f'arbitrary code, so nothing from it was run') from err
        except (EOFError, RuntimeError) as err:
            raise ValueError(f'{path!r} is not a readable result dump: {err}') from err
