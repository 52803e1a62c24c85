"""Route mmengine's local checkpoint loading through :func:`safe_torch_load`.

``load_from``, ``resume`` and ``mmengine.runner.load_checkpoint`` read local files through
``CheckpointLoader``'s default scheme, which calls ``torch.load``. We register a loader for
that scheme which uses ``weights_only=True`` with the allow-list of
:mod:`mmaction_tcm.compat.safe_load`, so a pickle that would run code is refused with a
message naming the file, whatever ``torch.load``'s default is.
"""
import os.path as osp

from mmengine.runner.checkpoint import CheckpointLoader

from ..compat.safe_load import safe_torch_load


def load_from_local_safely(filename: str, map_location=None):
    """Load a local checkpoint with ``weights_only=True`` (mmengine loader signature)."""
    return safe_torch_load(osp.expanduser(filename), map_location=map_location)


def install_safe_local_loader() -> None:
    """Replace the default (local path) scheme of ``CheckpointLoader`` (idempotent)."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_safely,
                                     force=True)
