"""Test (and evaluate) a checkpoint (MMAction2's ``tools/test.py`` flags and behaviour).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--dump results.pkl]
        [--test-protocol NAME] [--cfg-options k=v ...] [--show-dir DIR] [--show]
        [--interval N] [--wait-time S] [--launcher {none,pytorch,slurm,mpi}]

``--dump`` writes every sample's ``pred_score`` / ``gt_label`` to a pickle (input of
``tools/analysis/ensemble.py``). ``--test-protocol`` picks an entry of the config's
``test_protocols`` (e.g. ``10clip_3crop`` for Sth, ``10clip_3crop`` = 30 views for K400).
"""
import argparse
import os

from _bootstrap import use_checkout_package

use_checkout_package()

import mmaction_tcm  # noqa: E402,F401  (registers TCM and the TCM backbones)
from mmaction_tcm.engine.runner import build_runner, set_work_dir  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402

CROPS = ('CenterCrop', 'ThreeCrop', 'TenCrop')
RESIZES = ('Resize', 'PillowResize')  # PillowResize: Resize computed by Pillow


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test an action recognizer (mmaction_tcm)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for the metrics file and logs')
    parser.add_argument('--dump', type=str,
                        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument('--test-protocol', type=str, default=None,
                        help="an entry of the config's test_protocols (views / resize / crop)")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value (lists: key="[a,b]")')
    parser.add_argument('--show-dir', help='directory for visualisations')
    parser.add_argument('--show', action='store_true', help='display predictions')
    parser.add_argument('--interval', type=int, default=1, help='visualise every N samples')
    parser.add_argument('--wait-time', type=float, default=2, help='display time (s)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def apply_test_protocol(cfg: Config, name: str) -> None:
    """Rewrite the test pipeline's sampler, resize and crop as ``cfg.test_protocols[name]``."""
    protocols = cfg.get('test_protocols') or {}
    if name not in protocols:
        raise SystemExit(f'--test-protocol {name!r} is not defined by this config; '
                         f'available: {sorted(protocols) or "none"}')
    proto = protocols[name]
    pipeline = cfg.test_dataloader.dataset.pipeline
    types = [t['type'] for t in pipeline]
    if 'SampleSegmentViews' not in types:
        raise SystemExit('--test-protocol needs a SampleSegmentViews step in the test pipeline')
    crop_at = [i for i, t in enumerate(types) if t in CROPS]
    resize_at = [i for i, t in enumerate(types) if t in RESIZES and crop_at and i < crop_at[0]]
    if not crop_at or not resize_at:
        raise SystemExit('--test-protocol needs a Resize followed by a crop in the test pipeline')
    pipeline[types.index('SampleSegmentViews')].update(proto['sampler'])
    pipeline[resize_at[-1]] = dict(type=types[resize_at[-1]], **proto['resize'])
    pipeline[crop_at[0]] = dict(proto['crop'])


def merge_args(cfg: Config, args) -> Config:
    if args.show or args.show_dir is not None:
        if 'visualization' not in cfg.default_hooks:
            raise SystemExit('--show / --show-dir need default_hooks.visualization '
                             "(dict(type='VisualizationHook')) in the config")
        vis = cfg.default_hooks.visualization
        vis.enable = True
        vis.show = args.show
        vis.wait_time = args.wait_time
        vis.out_dir = args.show_dir
        vis.interval = args.interval
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise SystemExit(f'--dump must name a .pkl / .pickle file, got {args.dump!r}')
        dump = dict(type='DumpResults', out_file_path=args.dump)
        evaluators = cfg.test_evaluator
        cfg.test_evaluator = (list(evaluators) if isinstance(evaluators, (list, tuple))
                              else [evaluators]) + [dump]
    if args.test_protocol is not None:
        apply_test_protocol(cfg, args.test_protocol)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    set_work_dir(cfg, args.config, args.work_dir)
    cfg.load_from = args.checkpoint
    return cfg


def main(argv=None):
    args = parse_args(argv)
    # with the engine changes: atomic writes, robust --resume, safe loading, CPU launcher
    build_runner(merge_args(Config.fromfile(args.config), args)).test()


if __name__ == '__main__':
    main()
