"""A ``find_latest_checkpoint`` that survives a kill while ``last_checkpoint`` is written.

mmengine's ``CheckpointHook`` writes the ``last_checkpoint`` pointer with a plain
``open(..., 'w')``; a kill between the truncation and the write leaves it empty, and a
checkpoint it names may have been removed since (``max_keep_ckpts``). ``--resume`` (``resume=True``
without ``load_from``) would then fail or start from scratch. This version returns the
pointer when it names an existing file, and otherwise the newest complete ``epoch_N.pth`` /
``iter_N.pth`` in the work directory (checkpoints are written atomically, see
:mod:`.atomic_io`).
"""
import logging
import os
import os.path as osp
import re
from typing import Optional

from mmengine.logging import print_log

_CKPT_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')
_STALE_TMP = re.compile(r'^\.(epoch|iter)_\d+\.pth\..+\.tmp$')  # see atomic_io


def newest_checkpoint_in(path: str) -> Optional[str]:
    """The ``epoch_N.pth`` / ``iter_N.pth`` in ``path`` with the largest N, or None."""
    if not osp.isdir(path):
        return None
    found = []
    for name in os.listdir(path):
        match = _CKPT_NAME.match(name)
        if match:
            found.append((int(match.group(2)), osp.getmtime(osp.join(path, name)), name))
    return osp.join(path, max(found)[2]) if found else None


def remove_stale_temporaries(path: str) -> None:
    """Delete half-written checkpoint temporaries a killed run left in ``path``."""
    if not osp.isdir(path):
        return
    for name in os.listdir(path):
        if _STALE_TMP.match(name):
            os.unlink(osp.join(path, name))
            print_log(f'removed {name}, a checkpoint left half-written by a killed run',
                      logger='current')


def find_latest_checkpoint(path: str) -> Optional[str]:
    """Path of the checkpoint to resume from in work dir ``path``, or None (also clears
    the temporaries of interrupted saves)."""
    remove_stale_temporaries(path)
    pointer = osp.join(path, 'last_checkpoint')
    named = None
    if osp.exists(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named and osp.isfile(named):
            return named
    fallback = newest_checkpoint_in(path)
    if named is not None:
        print_log(f'{pointer} names {named!r}, which is not a file; resuming from the '
                  f'newest checkpoint in the directory instead: {fallback}',
                  logger='current', level=logging.WARNING)
    elif fallback is None:
        print_log('Did not find last_checkpoint to be resumed.', logger='current')
    return fallback


def install_robust_find_latest_checkpoint() -> None:
    """Point every mmengine module that resolves ``--resume`` at our version (idempotent)."""
    import mmengine.runner as runner_pkg
    import mmengine.runner.checkpoint as checkpoint_mod
    import mmengine.runner.runner as runner_mod
    for module in (runner_pkg, checkpoint_mod, runner_mod):
        module.find_latest_checkpoint = find_latest_checkpoint
    try:
        import mmengine.runner._flexible_runner as flexible_mod
        flexible_mod.find_latest_checkpoint = find_latest_checkpoint
    except ImportError:  # pragma: no cover - optional in older mmengine
        pass
