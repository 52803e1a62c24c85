"""Train a recognizer from a config (MMAction2's ``tools/train.py`` flags and behaviour).

    python tools/train.py configs/tcm_r50_sthv1.py [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--no-validate] [--auto-scale-lr] [--seed N] [--diff-rank-seed] [--deterministic]
        [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]

Multi-process: ``tools/dist_train.sh CONFIG NUM_PROCS`` (NCCL on GPUs; gloo without CUDA).
"""
import argparse
import os

from _bootstrap import use_checkout_package

use_checkout_package()

import mmaction_tcm  # noqa: E402,F401  (registers TCM and the TCM backbones)
from mmaction_tcm.engine.runner import build_runner, set_work_dir  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train an action recognizer (mmaction_tcm)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or (no value) from the latest checkpoint '
                        'in the work directory')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision: fp16 AmpOptimWrapper on CUDA, '
                        'bf16 CPUAutocastOptimWrapper without CUDA')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale lr by real batch / auto_scale_lr.base_batch_size (our '
                        'configs enable this already)')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--diff-rank-seed', action='store_true',
                        help='a different seed on every rank')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic CUDNN options')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value (lists: key="[a,b]")')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    """Apply the command-line flags to ``cfg`` (``--cfg-options`` last, so they win)."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.config, args.work_dir)
    if args.amp:  # fp16 + dynamic loss scaling on CUDA, bf16 autocast on CPU
        from mmaction_tcm.engine import amp_optim_wrapper
        try:
            cfg.optim_wrapper = amp_optim_wrapper(cfg.optim_wrapper)
        except ValueError as err:
            raise SystemExit(str(err))
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if cfg.get('randomness', None) is None:
        cfg.randomness = dict(seed=args.seed, diff_rank_seed=args.diff_rank_seed,
                              deterministic=args.deterministic)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    # with the engine changes: atomic writes, robust --resume, safe loading, CPU launcher
    build_runner(merge_args(Config.fromfile(args.config), args)).train()


if __name__ == '__main__':
    main()
