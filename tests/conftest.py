"""Shared test set-up: import the plugin and make `mmaction` the default registry scope."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # the checkout, also for `pytest` run without `python -m`
    sys.path.insert(0, ROOT)

import mmaction_tcm  # noqa: E402,F401


@pytest.fixture(autouse=True, scope='session')
def _mmaction_scope():
    from mmaction.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    yield
