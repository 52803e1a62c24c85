"""Make the tools import the checkout's ``mmaction_tcm`` when run from a source tree.

``tools/`` sits next to ``mmaction_tcm/`` in a checkout; in an installed package (used by
``mim``) it sits in ``mmaction_tcm/.mim/tools`` and the installed package is used as is.
"""
import os
import sys


def use_checkout_package() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.isfile(os.path.join(root, 'mmaction_tcm', '__init__.py')) and root not in sys.path:
        sys.path.insert(0, root)
