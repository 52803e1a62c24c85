"""Build hook: ship configs/, tools/ and ops/ inside the package as ``.mim``.

``mim train mmaction_tcm CFG`` runs ``<pkg>/.mim/tools/train.py`` and looks for
configs under ``<pkg>/.mim/configs``; the native ops compile from
``<pkg>/.mim/ops`` when the package is installed (not run from a checkout).
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

MIM_DIRS = ('configs', 'tools', 'ops', 'model-index.yml', 'metafile.yml')


class BuildPyWithMim(build_py):

    def run(self):
        super().run()
        here = os.path.dirname(os.path.abspath(__file__))
        mim_root = os.path.join(self.build_lib, 'mmaction_tcm', '.mim')
        os.makedirs(mim_root, exist_ok=True)
        for name in MIM_DIRS:
            src = os.path.join(here, name)
            dst = os.path.join(mim_root, name)
            if not os.path.exists(src):
                continue
            if os.path.isdir(dst):
                shutil.rmtree(dst)
            if os.path.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
                    '__pycache__', '*.pyc', 'work_dirs', '*.so', 'build'))
            else:
                shutil.copy2(src, dst)


setup(cmdclass={'build_py': BuildPyWithMim})
