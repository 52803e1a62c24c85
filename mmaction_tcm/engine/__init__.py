"""Training-engine pieces: registered modules, and changes to mmengine switched on explicitly.

Registered on ``import mmaction_tcm`` (nothing else happens on import):

- :mod:`.rng_state_hook`: ``RNGStateHook`` makes a resumed run bit-identical.
- :mod:`.amp`: ``CPUAutocastOptimWrapper`` (and ``amp_optim_wrapper`` for ``--amp``).

Changes to mmengine's behaviour, switched on by :func:`enable_engine_changes` (our
``tools/train.py`` / ``tools/test.py`` build their Runner with
:func:`.runner.build_runner`, which calls it; configs switch them on by importing
:mod:`mmaction_tcm.engine.runtime` through ``custom_imports``, as
``configs/_base_/default_runtime.py`` does):

- :mod:`.atomic_io`: checkpoints and result dumps are written atomically.
- :mod:`.latest_checkpoint`: ``--resume`` finds the newest intact checkpoint even when the
  ``last_checkpoint`` pointer is damaged.
- :mod:`.safe_loading`: ``load_from`` / ``resume`` / ``load_checkpoint`` read local files
  with ``weights_only=True``; also ``safe_torch_load`` and ``safe_pickle_load`` (``--dump``
  result pickles), usable without switching anything on.
- :mod:`.cpu_dist`: ``--launcher pytorch`` on machines without CUDA (gloo).
"""
from .amp import CPUAutocastOptimWrapper, amp_optim_wrapper
from .atomic_io import atomic_write_bytes, atomic_write_text, install_atomic_local_writes
from .cpu_dist import install_cpu_dist_fixes
from .latest_checkpoint import find_latest_checkpoint, install_robust_find_latest_checkpoint
from .rng_state_hook import RNGStateHook, get_rng_state, set_rng_state
from .safe_loading import (install_safe_local_loader, load_from_local_safely,
                           safe_pickle_load, safe_torch_load)

__all__ = ['CPUAutocastOptimWrapper', 'amp_optim_wrapper', 'atomic_write_bytes',
           'atomic_write_text', 'find_latest_checkpoint', 'RNGStateHook', 'get_rng_state',
           'set_rng_state', 'load_from_local_safely', 'safe_pickle_load', 'safe_torch_load',
           'enable_engine_changes']


def enable_engine_changes() -> None:
    """Switch on atomic local writes, the robust ``--resume`` lookup, the weights-only local
    checkpoint loader and the CPU multi-process fixes (idempotent)."""
    install_atomic_local_writes()
    install_robust_find_latest_checkpoint()
    install_safe_local_loader()
    install_cpu_dist_fixes()
