"""The CPU main job: tempo videos -> TSM-R18 vs TCM-R18 -> comparison table.

    python tools/run_tempo_demo.py [--seeds 0 1 2] [--work-dir work_dirs/tempo_demo]

1. writes the synthetic tempo videos (``tools/data/generate_tempo_videos.py``; reused when
   ``DATA_ROOT/meta.json`` matches the requested settings);
2. trains ``configs/tsm_r18_tempo.py`` and ``configs/tcm_r18_tempo.py`` with the stock
   mmengine ``Runner`` (same data, schedule and seed), then tests the final weights;
3. prints top-1 / top-5 / mean class accuracy, parameters, FLOPs (``mmengine.analysis``)
   and train time per model, and with several seeds the mean +/- std and the paired
   TCM - TSM margin. Results also go to ``WORK_DIR/results.json`` and ``results.md``.

``--quick`` shrinks everything (tiny data, one epoch) to check the plumbing in a minute.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()

import mmaction_tcm  # noqa: E402,F401  (registers TCM and the backbones)
from mmaction_tcm.datasets.tempo_videos import CLASSES, generate_dataset  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODELS = (('TSM-R18', 'configs/tsm_r18_tempo.py'), ('TCM-R18', 'configs/tcm_r18_tempo.py'))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default='work_dirs/tempo_demo')
    p.add_argument('--data-root', default='data/tempo_videos')
    p.add_argument('--seeds', type=int, nargs='+', default=[0],
                   help='training seeds (the data set is the same for all)')
    p.add_argument('--data-seed', type=int, default=0)
    p.add_argument('--train-per-class', type=int, default=160)
    p.add_argument('--val-per-class', type=int, default=5)
    p.add_argument('--test-per-class', type=int, default=30)
    p.add_argument('--size', type=int, default=64, help='video frame size (pixels)')
    p.add_argument('--epochs', type=int, default=None, help='override the configs')
    p.add_argument('--batch-size', type=int, default=None, help='override the configs')
    p.add_argument('--robustness', action='store_true',
                   help='also run tools/analysis/tempo_robustness.py on the seed-0 models')
    p.add_argument('--quick', action='store_true',
                   help='tiny data, 1 epoch: checks the plumbing, numbers mean nothing')
    args = p.parse_args(argv)
    if args.quick:
        args.train_per_class, args.val_per_class, args.test_per_class = 2, 1, 1
        args.epochs = args.epochs or 1
        args.batch_size = args.batch_size or 4
    return args


def prepare_data(args) -> None:
    """Generate the videos unless ``meta.json`` says they already match ``args``."""
    meta = dict(classes=list(CLASSES), seed=args.data_seed, size=args.size, num_frames=32,
                per_class=dict(train=args.train_per_class, val=args.val_per_class,
                               test=args.test_per_class))
    meta_file = osp.join(args.data_root, 'meta.json')
    if osp.isfile(meta_file):
        with open(meta_file) as f:
            if json.load(f) == meta:
                print(f'[data] reusing {args.data_root} ({meta_file} matches)')
                return
    print(f'[data] writing {sum(meta["per_class"].values()) * len(CLASSES)} videos '
          f'to {args.data_root}')
    start = time.time()

    def progress(split, done, total):
        if done == total or done % 100 == 0:
            print(f'[data] {split}: {done}/{total} ({time.time() - start:.0f}s)', flush=True)

    generate_dataset(args.data_root, meta['per_class'], size=args.size, num_frames=32,
                     seed=args.data_seed, workers=2, progress=progress)
    with open(meta_file, 'w') as f:
        json.dump(meta, f)


def _set_epochs(cfg, epochs: int) -> None:
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


def build_cfg(config: str, args, seed: int, work_dir: str):
    """Load ``config`` and point it at the demo data, work dir, seed and size."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed, deterministic=False)
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.dataset.ann_file = osp.join(args.data_root, f'{split}_list.txt')
        loader.dataset.data_prefix = dict(video=args.data_root)
        if args.batch_size:
            loader.batch_size = args.batch_size
        for step in loader.dataset.pipeline:
            if step.type == 'Resize':
                step.scale = (args.size, args.size)
    if args.epochs:
        _set_epochs(cfg, args.epochs)
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


def run_one(name: str, config: str, args, seed: int) -> dict:
    from mmengine.runner import Runner
    work_dir = osp.join(args.work_dir, f'{name.lower()}_seed{seed}')
    cfg = build_cfg(config, args, seed, work_dir)
    print(f'\n[{name}] seed {seed}: training ({cfg.train_cfg.max_epochs} epochs), '
          f'work dir {work_dir}', flush=True)
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    train_time = time.time() - start
    start = time.time()
    metrics = runner.test()
    test_time = time.time() - start
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    cost = complexity(model, cfg.model.backbone.num_segments, args.size)
    ckpt = osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    return dict(model=name, config=config, seed=seed, top1=float(metrics['acc/top1']),
                top5=float(metrics['acc/top5']), mean_class=float(metrics['acc/mean1']),
                params=cost['params'], flops=cost['flops'], train_time=train_time,
                test_time=test_time, checkpoint=ckpt)


def _mean_std(values):
    import numpy as np
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def summarise(rows: list) -> str:
    """Markdown table: one row per model (mean +/- std over seeds), then the margin."""
    def fmt(values, scale=100.0, digits=1):
        m, s = _mean_std([x * scale for x in values])
        return f'{m:.{digits}f}' + (f' +/- {s:.{digits}f}' if len(values) > 1 else '')

    names = [n for n, _ in MODELS]
    seeds = sorted({r['seed'] for r in rows})
    lines = [f'seeds: {seeds}', '',
             '| model | top-1 (%) | top-5 (%) | mean class acc (%) | params | GFLOPs '
             '(8 frames) | train time (s) |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    for name in names:
        rs = [r for r in rows if r['model'] == name]
        if not rs:
            continue
        lines.append(
            f'| {name} | {fmt([r["top1"] for r in rs])} | {fmt([r["top5"] for r in rs])} | '
            f'{fmt([r["mean_class"] for r in rs])} | {rs[0]["params"]:,} | '
            f'{rs[0]["flops"] / 1e9:.3f} | {fmt([r["train_time"] for r in rs], 1.0, 0)} |')
    by = {(r['model'], r['seed']): r for r in rows}
    paired = [s for s in seeds if (names[0], s) in by and (names[1], s) in by]
    if paired:
        d1 = [by[(names[1], s)]['top1'] - by[(names[0], s)]['top1'] for s in paired]
        dm = [by[(names[1], s)]['mean_class'] - by[(names[0], s)]['mean_class']
              for s in paired]
        lines += ['', f'TCM - TSM top-1 margin: {fmt(d1)} points '
                  f'(per seed: {", ".join(f"{100 * d:+.1f}" for d in d1)}); '
                  f'mean class accuracy margin: {fmt(dm)} points']
    return '\n'.join(lines)


def main(argv=None) -> list:
    args = parse_args(argv)
    os.chdir(ROOT)
    start = time.time()
    prepare_data(args)
    rows = []
    for seed in args.seeds:
        for name, config in MODELS:
            rows.append(run_one(name, config, args, seed))
            os.makedirs(args.work_dir, exist_ok=True)
            with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
                json.dump(rows, f, indent=1)
    table = summarise(rows)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    print('\n' + table)
    if args.robustness:
        from analysis.tempo_robustness import main as robustness
        pairs = []
        for r in rows:
            if r['seed'] == args.seeds[0]:
                pairs += [r['config'], r['checkpoint']]
        robustness(pairs + ['--data-root', args.data_root, '--size', str(args.size),
                            '--out-dir', osp.join(args.work_dir, 'robustness')])
    print(f'\ntotal time {time.time() - start:.0f}s (data + training + testing)')
    return rows


if __name__ == '__main__':
    main()
