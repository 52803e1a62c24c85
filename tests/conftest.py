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


def pytest_terminal_summary(terminalreporter):
    """Name every group of skipped tests and why (a skip must say which platform feature is
    missing; tests/test_native_build_required.py fails where the native ops could build)."""
    groups = {}
    for report in terminalreporter.stats.get('skipped', []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        module = report.nodeid.split('::')[0]
        groups.setdefault((module, reason.replace('Skipped: ', '')), []).append(report.nodeid)
    if groups:
        terminalreporter.section('skipped tests by file and reason')
        for (module, reason), ids in sorted(groups.items()):
            terminalreporter.write_line(f'{module}: {len(ids)} skipped: {reason}')
