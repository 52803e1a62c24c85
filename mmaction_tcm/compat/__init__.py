"""Fixes for the pinned OpenMMLab stack that must run before ``mmaction.models`` is imported.

``import mmaction_tcm`` applies them (:func:`apply_before_mmaction_models`); each acts only
where the installed packages need it.
"""
from .drn_placeholder import install_drn_placeholder
from .multimodal_guard import install_multimodal_guard

__all__ = ['install_drn_placeholder', 'install_multimodal_guard',
           'apply_before_mmaction_models']


def apply_before_mmaction_models() -> None:
    """The DRN placeholder and the transformers-5 guard (idempotent)."""
    install_drn_placeholder()
    install_multimodal_guard()
