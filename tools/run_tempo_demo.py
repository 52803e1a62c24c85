"""The main job: appearance pretraining, then TSM-R18 vs TCM-R18 fine-tuned on motion.

    python tools/run_tempo_demo.py [--seeds 0 1 2] [--work-dir work_dirs/tempo_demo]

1. stage 1 (``tools/pretrain_appearance.py``, cached): a 2-D ResNet-18 learns the
   appearance classes of single frames (the stand-in for ImageNet) and is saved as a
   torchvision-format trunk;
2. writes the tempo videos (classes differ only in motion; train / val / test splits;
   reused when ``DATA_ROOT/meta.json`` matches);
3. fine-tunes ``configs/tsm_r18_tempo.py`` and ``configs/tcm_r18_tempo.py`` (= TSM + one
   TCM after res3) from that trunk with the stock mmengine ``Runner``: same trunk, data,
   recipe and seed for both; validates on val, tests the final weights once on test;
4. tests each model at frame strides 2..8 (``tools/analysis/tempo_robustness.py``, the
   paper's Fig. 4 protocol);
5. prints top-1 / top-5 / mean class accuracy, parameters, FLOPs and train time per model
   (mean +/- std over seeds), the per-seed TCM - TSM margins and the robustness table.
   Everything goes to ``WORK_DIR/results.{json,md}`` and ``WORK_DIR/robustness/``.

Other data: ``--data-root DIR`` holding MMAction2 ``VideoDataset`` lists
(``{train,val,test}_list.txt`` or ``--train-list`` ...) and no ``meta.json`` is used as is,
with ``--num-classes`` and ``--size``; stage 1 is the same synthetic appearance pretraining
(or ``--trunk`` a torchvision-format ResNet-18 file of your own).
``--quick`` shrinks everything (tiny data, one epoch) to check the plumbing in a minute.
"""
import argparse
import copy
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()

import mmaction_tcm  # noqa: E402,F401  (registers TCM and the backbones)
from mmaction_tcm.datasets.tempo_videos import APPEARANCE_CLASSES  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODELS = (('TSM-R18', 'configs/tsm_r18_tempo.py'), ('TCM-R18', 'configs/tcm_r18_tempo.py'))
NUM_FRAMES = 32  # frames per generated tempo video


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default=None, help='default work_dirs/tempo_demo[_quick]')
    p.add_argument('--data-root', default=None,
                   help='tempo videos (default data/tempo_videos[_quick]); a folder with '
                   'list files and no meta.json is your own data, used as is')
    p.add_argument('--train-list', help='default DATA_ROOT/train_list.txt')
    p.add_argument('--val-list', help='default DATA_ROOT/val_list.txt')
    p.add_argument('--test-list', help='default DATA_ROOT/test_list.txt')
    p.add_argument('--num-classes', type=int, default=12)
    p.add_argument('--size', type=int, default=64, help='frame size (pixels)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0],
                   help='fine-tuning seeds (data and trunk are the same for all)')
    p.add_argument('--data-seed', type=int, default=0)
    p.add_argument('--train-per-class', type=int, default=128)
    p.add_argument('--val-per-class', type=int, default=8)
    p.add_argument('--test-per-class', type=int, default=16)
    p.add_argument('--epochs', type=int, default=None, help='override the configs')
    p.add_argument('--batch-size', type=int, default=None, help='override the configs')
    p.add_argument('--trunk', help='a torchvision-format ResNet-18 file to fine-tune from '
                   'instead of stage 1')
    p.add_argument('--pretrain-args', default='',
                   help='extra arguments for tools/pretrain_appearance.py, one string')
    p.add_argument('--strides', type=int, nargs='+', default=[2, 3, 4, 5, 6, 7, 8])
    p.add_argument('--no-robustness', action='store_true')
    p.add_argument('--quick', action='store_true',
                   help='tiny data, 1 epoch: checks the plumbing, numbers mean nothing')
    args = p.parse_args(argv)
    if args.quick:
        args.train_per_class, args.val_per_class, args.test_per_class = 2, 1, 1
        args.epochs = args.epochs or 1
        args.batch_size = args.batch_size or 4
        args.strides = [4, 8]
    suffix = '_quick' if args.quick else ''
    args.work_dir = args.work_dir or 'work_dirs/tempo_demo' + suffix
    args.data_root = args.data_root or 'data/tempo_videos' + suffix
    for split in ('train', 'val', 'test'):
        if getattr(args, f'{split}_list') is None:
            setattr(args, f'{split}_list', osp.join(args.data_root, f'{split}_list.txt'))
    return args


def own_data(args) -> bool:
    """A data root with a train list and no generator ``meta.json`` is the user's."""
    return (osp.isfile(args.train_list)
            and not osp.isfile(osp.join(args.data_root, 'meta.json')))


def prepare_data(args) -> None:
    """Generate the tempo videos unless they exist with the requested settings."""
    if own_data(args):
        print(f'[data] using your data: {args.train_list}, {args.val_list}, {args.test_list}',
              flush=True)
        return
    from pretrain_appearance import prepare_videos
    prepare_videos(args.data_root, 'motion', dict(train=args.train_per_class,
                                                   val=args.val_per_class,
                                                   test=args.test_per_class),
                   args.size, NUM_FRAMES, args.data_seed, tag='data')


def set_epochs(cfg, epochs: int) -> None:
    """Shorten / lengthen the schedule: epoch-based schedulers end at ``epochs``."""
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    cfg.default_hooks.checkpoint.interval = epochs
    schedulers = []
    for s in cfg.param_scheduler:
        s = copy.deepcopy(s)
        if s.get('by_epoch', True):  # iteration-based ones (warm-up) are kept as they are
            if s.get('end', 0) > epochs or s.type == 'CosineAnnealingLR':
                s.end = epochs
            if s.type == 'CosineAnnealingLR':
                s.T_max = epochs - s.get('begin', 0)
            if s.end <= s.get('begin', 0):
                continue
        schedulers.append(s)
    cfg.param_scheduler = schedulers


SPLITS = ('train', 'val', 'test')


def point_loaders_at(cfg, lists: dict, data_root: str, batch_size=None, size=None) -> None:
    """Set each split's list file (``lists[split]``), video folder, batch size (when given)
    and square frame size (the pipelines' ``Resize``, when given) in place."""
    for split in SPLITS:
        loader = cfg[f'{split}_dataloader']
        loader.dataset.ann_file = lists[split]
        loader.dataset.data_prefix = dict(video=data_root)
        if batch_size:
            loader.batch_size = batch_size
        for step in loader.dataset.pipeline:
            if size and step.type == 'Resize':
                step.scale = (size, size)


def build_cfg(config: str, args, seed: int, work_dir: str, trunk: str):
    """Load ``config`` and point it at the data, trunk, work dir, seed, size, classes."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.model.backbone.pretrained = trunk
    cfg.model.cls_head.num_classes = args.num_classes
    point_loaders_at(cfg, {split: getattr(args, f'{split}_list') for split in SPLITS},
                     args.data_root, args.batch_size, args.size)
    if args.epochs:
        set_epochs(cfg, args.epochs)
    return cfg


def complexity(model, num_frames: int, size: int) -> dict:
    """Parameters and FLOPs of one ``num_frames``-frame clip, backbone + head
    (``mmengine.analysis.FlopAnalyzer``, one multiply-add = one FLOP; the TCM matching op
    is counted through the handles of ``mmaction_tcm.ops.flops``)."""
    import torch
    from mmengine.analysis import FlopAnalyzer

    from mmaction_tcm.ops.flops import tcm_flop_handles

    class _Clip(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m.cls_head(self.m.backbone(x), num_segs=num_frames)

    model.eval()
    x = torch.zeros(num_frames, 3, size, size)
    analyzer = FlopAnalyzer(_Clip(model), (x, )).set_op_handle(**tcm_flop_handles())
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return dict(params=sum(p.numel() for p in model.parameters()), flops=int(analyzer.total()))


def run_one(name: str, config: str, args, seed: int, trunk: str) -> dict:
    """Fine-tune, validate (val) and test (test, once) one model."""
    from mmengine.runner import Runner
    work_dir = osp.join(args.work_dir, f'{name.lower()}_seed{seed}')
    cfg = build_cfg(config, args, seed, work_dir, trunk)
    print(f'\n[stage 2] {name} seed {seed}: fine-tuning ({cfg.train_cfg.max_epochs} epochs) '
          f'from {trunk}, work dir {work_dir}', flush=True)
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    train_time = time.time() - start
    val_top1 = float(runner.message_hub.get_scalar('val/acc/top1').current())
    start = time.time()
    metrics = runner.test()
    test_time = time.time() - start
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    cost = complexity(model, cfg.model.backbone.num_segments, args.size)
    ckpt = osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    run_config = osp.abspath(osp.join(work_dir, osp.basename(config)))  # dumped by Runner
    return dict(model=name, config=config, run_config=run_config, seed=seed,
                val_top1=val_top1, top1=float(metrics['acc/top1']),
                top5=float(metrics['acc/top5']), mean_class=float(metrics['acc/mean1']),
                params=cost['params'], flops=cost['flops'], train_time=train_time,
                test_time=test_time, checkpoint=ckpt)


def _mean_std(values):
    import numpy as np
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def _fmt(values, scale=100.0, digits=1):
    m, s = _mean_std([x * scale for x in values])
    return f'{m:.{digits}f}' + (f' +/- {s:.{digits}f}' if len(values) > 1 else '')


def summarise(rows: list, stage1: dict = None) -> str:
    """Markdown table: one row per model (mean +/- std over seeds), then the margin."""
    names = [n for n, _ in MODELS]
    seeds = sorted({r['seed'] for r in rows})
    lines = []
    if stage1:
        lines += [f'stage 1 (appearance pretraining, shared): top-1 '
                  f'{100 * stage1["test_top1"]:.1f}% test / {100 * stage1["val_top1"]:.1f}% '
                  f'val over {len(APPEARANCE_CLASSES)} appearance classes', '']
    lines += [f'stage 2 seeds: {seeds}', '',
              '| model | val top-1 (%) | top-1 (%) | top-5 (%) | mean class acc (%) | params '
              '| GFLOPs (8 frames) | train time (s) |',
              '| --- | --- | --- | --- | --- | --- | --- | --- |']
    for name in names:
        rs = [r for r in rows if r['model'] == name]
        if not rs:
            continue
        lines.append(
            f'| {name} | {_fmt([r["val_top1"] for r in rs])} | {_fmt([r["top1"] for r in rs])}'
            f' | {_fmt([r["top5"] for r in rs])} | {_fmt([r["mean_class"] for r in rs])} | '
            f'{rs[0]["params"]:,} | {rs[0]["flops"] / 1e9:.3f} | '
            f'{_fmt([r["train_time"] for r in rs], 1.0, 0)} |')
    by = {(r['model'], r['seed']): r for r in rows}
    paired = [s for s in seeds if (names[0], s) in by and (names[1], s) in by]
    if paired:
        d1 = [by[(names[1], s)]['top1'] - by[(names[0], s)]['top1'] for s in paired]
        dm = [by[(names[1], s)]['mean_class'] - by[(names[0], s)]['mean_class']
              for s in paired]
        lines += ['', f'TCM - TSM top-1 margin: {_fmt(d1)} points '
                  f'(per seed {", ".join(f"{s}: {100 * d:+.1f}" for s, d in zip(paired, d1))})'
                  f'; mean class accuracy margin: {_fmt(dm)} points']
    return '\n'.join(lines)


def robustness_of_seed(rows: list, seed: int, args) -> dict:
    """Top-1 at every stride of the models trained with ``seed``: ``{model: [acc, ...]}``
    (``tools/analysis/tempo_robustness.py``, output in ``WORK_DIR/robustness/seedS/``)."""
    from analysis import tempo_robustness as tr
    pairs, names = [], []
    for r in rows:
        if r['seed'] == seed:
            pairs += [r['run_config'], r['checkpoint']]
            names.append(r['model'])
    print(f'\n[robustness] seed {seed}: strides {args.strides}', flush=True)
    return tr.main(pairs + ['--names', *names, '--strides', *map(str, args.strides),
                            '--data-root', args.data_root, '--ann-file', args.test_list,
                            '--size', str(args.size),
                            '--out-dir', osp.join(args.work_dir, 'robustness', f'seed{seed}')])


def summarise_robustness(per_seed: dict, args) -> str:
    """``per_seed = {seed: {model: [acc per stride]}}`` -> table of mean +/- std over seeds;
    writes ``WORK_DIR/robustness/tempo_robustness.{md,json,png}`` (plot: the means)."""
    from analysis import tempo_robustness as tr
    out_dir = osp.join(args.work_dir, 'robustness')
    seeds = sorted(per_seed)
    lines = [f'Top-1 (%) vs test frame stride tau (trained at tau=4; the last frame is '
             f'repeated when the video is too short), mean +/- std over seeds {seeds}', '',
             '| model | ' + ' | '.join(f'tau={s}' for s in args.strides) + ' |',
             '| --- ' * (len(args.strides) + 1) + '|']
    means = {}
    for name, _ in MODELS:
        curves = [per_seed[s][name] for s in seeds if name in per_seed[s]]
        if not curves:
            continue
        cols = list(zip(*curves))
        means[name] = [_mean_std(c)[0] for c in cols]
        lines.append(f'| {name} | ' + ' | '.join(_fmt(c) for c in cols) + ' |')
    table = '\n'.join(lines)
    os.makedirs(out_dir, exist_ok=True)
    tr._write_text(osp.join(out_dir, 'tempo_robustness.md'), table + '\n')
    tr._write_json(osp.join(out_dir, 'tempo_robustness.json'),
                   dict(strides=args.strides, top1_per_seed=per_seed, top1_mean=means))
    tr.plot(means, list(args.strides), {n: 4 for n in means},
            osp.join(out_dir, 'tempo_robustness.png'))
    return table


def main(argv=None) -> dict:
    """Returns ``dict(stage1=..., rows=[...], robustness=table or None)``."""
    args = parse_args(argv)
    os.chdir(ROOT)
    start = time.time()
    if args.trunk:
        stage1 = None
        trunk = args.trunk
    else:
        import shlex

        import pretrain_appearance
        stage1 = pretrain_appearance.main((['--quick'] if args.quick else [])
                                          + ['--size', str(args.size)]
                                          + shlex.split(args.pretrain_args))
        trunk = stage1['trunk']
    prepare_data(args)
    from analysis import tempo_robustness as tr
    rows, per_seed = [], {}
    os.makedirs(args.work_dir, exist_ok=True)
    runs = len(args.seeds) * len(MODELS)
    for seed in args.seeds:
        for name, config in MODELS:
            print(f'\n[stage 2] run {len(rows) + 1}/{runs} ({time.time() - start:.0f}s so '
                  f'far)', flush=True)
            rows.append(run_one(name, config, args, seed, trunk))
            tr._write_json(osp.join(args.work_dir, 'results.json'),
                           dict(stage1=stage1, rows=rows, robustness=per_seed))
        if not args.no_robustness:
            per_seed[seed] = robustness_of_seed(rows, seed, args)
            tr._write_json(osp.join(args.work_dir, 'results.json'),
                           dict(stage1=stage1, rows=rows, robustness=per_seed))
    table = summarise(rows, stage1)
    rob = summarise_robustness(per_seed, args) if per_seed else None
    tr._write_text(osp.join(args.work_dir, 'results.md'),
                   table + '\n' + ('\n' + rob + '\n' if rob else ''))
    print('\n' + table)
    if rob:
        print('\n' + rob + f'\n(plot: {args.work_dir}/robustness/tempo_robustness.png)')
    print(f'\ntotal time {time.time() - start:.0f}s (data, stage 1, fine-tuning, testing)')
    return dict(stage1=stage1, rows=rows, robustness=rob)


if __name__ == '__main__':
    main()
