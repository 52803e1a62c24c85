"""mmaction_tcm: the Temporal Correlation Module for MMAction2 1.x.

``import mmaction_tcm`` (or ``custom_imports = dict(imports=['mmaction_tcm'])`` in a config)

1. applies the two fixes that must precede ``import mmaction.models`` on the pinned stack
   (:mod:`mmaction_tcm.compat`);
2. registers our modules into MMAction2's registries: ``TCM`` and the TCM backbones,
   the datasets' transforms, ``RNGStateHook`` and ``CPUAutocastOptimWrapper``;
3. adds the types mmengine writes into checkpoints to torch's ``weights_only`` allow-list
   (without them torch >= 2.6 refuses mmengine 0.10.7's own checkpoints);
4. builds the native ops, with ``MMACTION_TCM_BUILD_OPS=1`` only (:mod:`mmaction_tcm.ops`).

It replaces no mmengine function. The engine changes (atomic checkpoint writes, resuming
from the newest intact checkpoint, weights-only checkpoint loading, CPU multi-process runs)
are switched on explicitly: :func:`mmaction_tcm.engine.enable_engine_changes`, or
``'mmaction_tcm.engine.runtime'`` in a config's ``custom_imports``.
"""
from .compat import apply_before_mmaction_models as _apply_before_mmaction_models

_apply_before_mmaction_models()

from . import models, ops, datasets, engine  # noqa: E402,F401  (registration)
from .engine.safe_loading import allow_mmengine_checkpoint_globals  # noqa: E402
from .version import __version__  # noqa: E402

allow_mmengine_checkpoint_globals()

__all__ = ['models', 'ops', '__version__']
