"""mmaction_tcm: the Temporal Correlation Module for MMAction2 1.x.

Importing this package applies the compatibility fixes for the pinned stack
(:mod:`mmaction_tcm.compat`) and registers ``TCM`` and the TCM backbones into
``mmaction.registry.MODELS``.
"""
from .compat import apply_all as _apply_compat

_apply_compat()

from . import models, ops  # noqa: E402,F401  (registers into mmaction's registries)
from . import datasets  # noqa: E402,F401  (SampleSegmentViews test-time sampler)
from .engine import apply_engine_patches as _apply_engine_patches  # noqa: E402

_apply_engine_patches()  # atomic checkpoint writes, safe load_from/resume
from .version import __version__  # noqa: E402

__all__ = ['models', 'ops', '__version__']
