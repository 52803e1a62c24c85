"""Importing this module switches on mmaction_tcm's engine changes.

mmengine configs can only run code by importing modules, so a config opts in with

    custom_imports = dict(imports=['mmaction_tcm', 'mmaction_tcm.engine.runtime'],
                          allow_failed_imports=False)

(``configs/_base_/default_runtime.py`` does). What is switched on:
:func:`mmaction_tcm.engine.enable_engine_changes`.
"""
from . import enable_engine_changes

enable_engine_changes()
