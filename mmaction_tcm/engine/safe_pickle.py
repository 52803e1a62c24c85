"""Loading result dumps (``tools/test.py --dump`` pickles) without executing code.

``DumpResults`` writes plain pickles: lists of dicts holding tensors, numpy arrays and
Python scalars. ``pickle.load`` on such a file runs whatever callable the file names, and
the tensors inside are rebuilt by ``torch.storage._load_from_bytes``, which itself calls
``torch.load(weights_only=False)``. :func:`safe_pickle_load` uses an unpickler that only
resolves the few globals these dumps need, and rebuilds tensor storages with
``torch.load(weights_only=True)``.
"""
import io
import pickle
from typing import Any

import torch

# (module, name) pairs a result dump may reference; everything else is refused.
_ALLOWED = {
    ('collections', 'OrderedDict'),
    ('builtins', 'set'), ('builtins', 'frozenset'), ('builtins', 'slice'),
    ('builtins', 'complex'),
    ('_codecs', 'encode'),  # how protocol 2 (mmengine's dump) stores bytes
    ('torch._utils', '_rebuild_tensor_v2'),
    ('torch', 'Size'),
    ('numpy', 'ndarray'), ('numpy', 'dtype'),
    ('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar'),
}


def _load_storage_weights_only(data: bytes):
    """Replacement for ``torch.storage._load_from_bytes`` (which uses weights_only=False)."""
    return torch.load(io.BytesIO(data), weights_only=True)


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` resolving only the globals of result dumps (see module doc)."""

    def find_class(self, module: str, name: str):
        if (module, name) == ('torch.storage', '_load_from_bytes'):
            return _load_storage_weights_only
        if (module, name) in _ALLOWED or (module == 'numpy.dtypes' and name.endswith('DType')):
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
