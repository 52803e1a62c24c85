"""Bit-exact resume: keep the random number generators' state in every checkpoint.

mmengine restores model, optimiser, schedulers and the seed on ``resume``, but not the
state of the Python, NumPy and torch generators, so dropout and random augmentations after
a resume differ from an uninterrupted run. This hook

- stores the generators' state in each checkpoint (``checkpoint['rng_state']``, plain
  ints / lists / tensors, so it loads with ``weights_only=True``);
- restores it when training starts after a resume (``before_train``, i.e. after mmengine's
  own re-seeding);
- runs validation on a copy of the generators' state, so evaluating during training
  (``val_interval``) never changes what training draws.
"""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook

from mmaction.registry import HOOKS


def get_rng_state() -> dict:
    """The state of Python's, NumPy's and torch's (CPU and CUDA) global generators."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        'python': random.getstate(),
        'numpy': {'kind': kind, 'keys': keys.tolist(), 'pos': int(pos),
                  'has_gauss': int(has_gauss), 'cached_gaussian': float(cached)},
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`get_rng_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    n = state['numpy']
    np.random.set_state((n['kind'], np.asarray(n['keys'], dtype=np.uint32), n['pos'],
                         n['has_gauss'], n['cached_gaussian']))
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        cuda_states = state['cuda']
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda_states])


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save / restore generator states for bit-exact ``--resume`` (see module doc).

    Enabled in ``configs/_base_/default_runtime.py`` through ``custom_hooks``.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None
        self._before_val: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Only a resume continues a run; `load_from` alone starts a new one.
        if not getattr(runner, '_resume', False) or 'rng_state' not in checkpoint:
            return
        # Only rank 0 saves. Without diff_rank_seed every rank draws the same stream, so
        # rank 0's state is every rank's; with it, the ranks keep their re-seeded streams.
        if runner.world_size > 1 and runner._randomness_cfg.get('diff_rank_seed', False):
            runner.logger.warning('RNGStateHook: diff_rank_seed=True in a multi-process '
                                  'run; the random state is not restored on resume')
            return
        self._pending = checkpoint['rng_state']

    def before_train(self, runner) -> None:
        if self._pending is not None:
            set_rng_state(self._pending)
            self._pending = None

    def before_val(self, runner) -> None:
        self._before_val = get_rng_state()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            set_rng_state(self._before_val)
            self._before_val = None
