"""The Runner our tools build: engine changes on, then the Runner the config asks for."""
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner

from mmaction.registry import RUNNERS


def build_runner(cfg: Config) -> Runner:
    """Switch on :func:`mmaction_tcm.engine.enable_engine_changes`, then build ``cfg``'s
    Runner: mmengine's ``Runner`` or, when the config names a ``runner_type``, that one
    (what MMAction2's ``tools/train.py`` / ``tools/test.py`` build)."""
    from . import enable_engine_changes
    enable_engine_changes()
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)


def set_work_dir(cfg: Config, config_path: str, work_dir: str = None) -> None:
    """``--work-dir`` when given, else the config's ``work_dir``, else
    ``./work_dirs/<config name>`` (MMAction2's tools' rule)."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
