"""Keep ``import mmaction.models`` working next to transformers 5.

MMAction2 1.2.0 imports its VindLU multimodal models whenever ``transformers>=4.28`` is
installed, and their ``modeling_bert.py`` imports helpers (``apply_chunking_to_forward``,
...) from ``transformers.modeling_utils`` that transformers 5 no longer re-exports there, so
the whole of ``mmaction.models`` fails to import. With transformers 5 or later we mark the
multimodal models unavailable before ``mmaction.models`` is first imported; MMAction2 then
registers its own placeholders for them (building one explains what is missing).
"""
import sys
import warnings
from importlib import metadata

INCOMPATIBLE_MAJOR = 5


def transformers_major() -> int:
    """Major version of the installed transformers, or -1 when it is not installed."""
    try:
        version = metadata.version('transformers')
    except metadata.PackageNotFoundError:
        return -1
    head = version.split('.', 1)[0]
    return int(head) if head.isdigit() else -1


def install_multimodal_guard() -> bool:
    """Disable MMAction2's multimodal models if transformers would break their import.

    Returns True when they were disabled by this call.
    """
    if 'mmaction.models' in sys.modules or transformers_major() < INCOMPATIBLE_MAJOR:
        return False
    from mmaction.utils import dependency
    if not dependency.WITH_MULTIMODAL:
        return False
    dependency.WITH_MULTIMODAL = False
    warnings.warn(f'mmaction_tcm: transformers {metadata.version("transformers")} is not '
                  'compatible with the VindLU models of mmaction2 1.2.0 (it needs '
                  'transformers<5); they are disabled so that mmaction.models imports. '
                  'Install "transformers>=4.28,<5" to use them.', stacklevel=2)
    return True
