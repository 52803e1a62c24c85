"""Compatibility fixes for the pinned OpenMMLab stack, applied on ``import mmaction_tcm``.

Each fix is applied only where the installed packages need it.
"""
from .cpu_dist import install_cpu_dist_fixes
from .drn_placeholder import install_drn_placeholder
from .multimodal_guard import install_multimodal_guard
from .safe_load import allow_mmengine_checkpoint_globals, safe_torch_load

__all__ = ['install_cpu_dist_fixes', 'install_drn_placeholder', 'install_multimodal_guard',
           'allow_mmengine_checkpoint_globals',
           'safe_torch_load', 'apply_all']


def apply_all() -> None:
    """Apply every fix (idempotent)."""
    install_drn_placeholder()
    install_multimodal_guard()
    allow_mmengine_checkpoint_globals()
    install_cpu_dist_fixes()
