"""Placeholder for ``mmaction.models.localizers.drn`` (missing from the PyPI build of 1.2.0).

``mmaction/models/localizers/__init__.py`` imports ``.drn.drn.DRN``, which the wheel and sdist
of mmaction2 1.2.0 do not ship (upstream issue #2714), so ``import mmaction.models`` fails.
We put a module in ``sys.modules`` before the first import of ``mmaction.models``; building
``DRN`` from it raises a clear error. Nothing is done when the real module exists.
"""
import importlib.util
import os
import sys
import types

_DRN_MODULE = 'mmaction.models.localizers.drn'
_MESSAGE = ('DRN is not available: the installed mmaction2 build lacks '
            '`mmaction/models/localizers/drn` (mmaction2 issue #2714). Install mmaction2 '
            'from source to use the DRN localizer.')


def _real_drn_exists() -> bool:
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return True  # no mmaction at all: nothing to patch
    root = list(spec.submodule_search_locations)[0]
    return os.path.exists(os.path.join(root, 'models', 'localizers', 'drn', 'drn.py'))


class DRN:
    """Stand-in for the missing DRN localizer; constructing it raises ``ImportError``."""

    def __init__(self, *args, **kwargs):
        raise ImportError(_MESSAGE)


def install_drn_placeholder() -> bool:
    """Insert the placeholder if needed. Returns True when a placeholder is in place."""
    if _DRN_MODULE in sys.modules:
        return getattr(sys.modules[_DRN_MODULE], '_mmaction_tcm_placeholder', False)
    if _real_drn_exists():
        return False
    if 'mmaction.models' in sys.modules and 'mmaction.models.localizers' in sys.modules:
        return False  # already imported successfully some other way
    package = types.ModuleType(_DRN_MODULE)
    package.__path__ = []  # a package, so `.drn.drn` resolves
    package._mmaction_tcm_placeholder = True
    module = types.ModuleType(_DRN_MODULE + '.drn')
    module.DRN = DRN
    module._mmaction_tcm_placeholder = True
    package.drn = module
    package.DRN = DRN
    sys.modules[_DRN_MODULE] = package
    sys.modules[_DRN_MODULE + '.drn'] = module
    from mmaction.registry import MODELS
    if 'DRN' not in MODELS.module_dict:
        MODELS.register_module(name='DRN', module=DRN)
    return True
