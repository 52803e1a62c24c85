"""Training-engine reliability pieces, applied on ``import mmaction_tcm``.

- :mod:`.atomic_io`: checkpoints and result dumps are written atomically.
- :mod:`.latest_checkpoint`: ``--resume`` survives a damaged ``last_checkpoint`` pointer.
- :mod:`.safe_checkpoint_loader`: ``load_from`` / ``resume`` use ``weights_only=True``.
- :mod:`.safe_pickle`: ``safe_pickle_load`` for ``--dump`` result pickles.
- :mod:`.rng_state_hook`: ``RNGStateHook`` makes a resumed run bit-identical.
- :mod:`.amp`: ``CPUAutocastOptimWrapper`` and ``amp_optim_wrapper`` for ``--amp``.
"""
from .amp import CPUAutocastOptimWrapper, amp_optim_wrapper
from .atomic_io import atomic_write_bytes, atomic_write_text, install_atomic_local_writes
from .latest_checkpoint import find_latest_checkpoint, install_robust_find_latest_checkpoint
from .rng_state_hook import RNGStateHook, get_rng_state, set_rng_state
from .safe_checkpoint_loader import install_safe_local_loader, load_from_local_safely
from .safe_pickle import safe_pickle_load

__all__ = ['CPUAutocastOptimWrapper', 'amp_optim_wrapper', 'atomic_write_bytes',
           'atomic_write_text', 'find_latest_checkpoint', 'RNGStateHook', 'get_rng_state',
           'set_rng_state', 'load_from_local_safely', 'safe_pickle_load',
           'apply_engine_patches']


def apply_engine_patches() -> None:
    """Install the atomic writes, robust resume lookup and safe loader (idempotent)."""
    install_atomic_local_writes()
    install_robust_find_latest_checkpoint()
    install_safe_local_loader()
