"""Accuracy under changed visual tempo (the paper's Fig. 4 protocol).

    python tools/analysis/tempo_robustness.py CFG1 CKPT1 [CFG2 CKPT2 ...] \
        [--strides 2 3 4 5 6 7 8] [--names TSM TCM] [--out-dir DIR] [--data-root DIR]

Each model is tested with its config's test pipeline, except that its ``SampleFrames``
becomes ``SampleFramesPadEnd(clip_len, frame_interval=tau)``: one clip of frame stride
``tau``, centred when the video is long enough; when it is too short for ``clip_len x tau``
frames the video's last frame is copied until the clip is full, as the paper does.
Writes ``DIR/tempo_robustness.md`` (table), ``DIR/tempo_robustness.json`` and
``DIR/tempo_robustness.png`` (top-1 accuracy vs stride, one curve per model; the training
stride is marked).
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()

import mmaction_tcm  # noqa: E402,F401  (registers TCM; weights_only checkpoint loading)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('pairs', nargs='+', help='CONFIG CHECKPOINT [CONFIG CHECKPOINT ...]')
    p.add_argument('--strides', type=int, nargs='+', default=[2, 3, 4, 5, 6, 7, 8])
    p.add_argument('--names', nargs='+', help='model names (default: config file names)')
    p.add_argument('--out-dir', default='work_dirs/tempo_robustness')
    p.add_argument('--data-root', help='replace the test data folder (holding '
                   'test_list.txt and the videos, as written by generate_tempo_videos.py)')
    p.add_argument('--ann-file', help='replace the test annotation file')
    p.add_argument('--size', type=int, help='resize frames to SIZE x SIZE')
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--device', default='cpu')
    args = p.parse_args(argv)
    if len(args.pairs) % 2:
        p.error(f'pairs must be CONFIG CHECKPOINT pairs, got {len(args.pairs)} paths')
    if any(s < 1 for s in args.strides):
        p.error(f'--strides must be positive, got {args.strides}')
    args.pairs = [tuple(args.pairs[i:i + 2]) for i in range(0, len(args.pairs), 2)]
    if args.names is None:
        args.names = [osp.splitext(osp.basename(c))[0] for c, _ in args.pairs]
    if len(args.names) != len(args.pairs):
        p.error(f'--names needs {len(args.pairs)} names, got {len(args.names)}')
    return args


def strided_test_loader(cfg, stride: int, args):
    """The config's test dataloader with every ``SampleFrames`` set to ``stride``."""
    import copy

    from mmengine.runner import Runner
    loader = copy.deepcopy(cfg.test_dataloader)
    dataset = loader.dataset
    if args.data_root:
        dataset.ann_file = osp.join(args.data_root, 'test_list.txt')
        dataset.data_prefix = dict(video=args.data_root)
    if args.ann_file:
        dataset.ann_file = args.ann_file
    found = False
    for i, step in enumerate(dataset.pipeline):
        if step.type in ('SampleFrames', 'SampleFramesPadEnd'):
            dataset.pipeline[i] = dict(type='SampleFramesPadEnd', clip_len=step.clip_len,
                                       frame_interval=stride)
            found = True
        elif step.type == 'Resize' and args.size:
            step.scale = (args.size, args.size)
    if not found:
        raise ValueError('the test pipeline has no SampleFrames step whose frame_interval '
                         'could be changed')
    loader.batch_size = args.batch_size
    loader.num_workers = 0
    loader.persistent_workers = False
    return Runner.build_dataloader(loader)


def evaluate(model, loader) -> float:
    """Top-1 accuracy of ``model`` over ``loader``."""
    import torch
    correct = total = 0
    with torch.no_grad():
        for data in loader:
            for sample in model.test_step(data):
                correct += int(sample.pred_score.argmax() == sample.gt_label.item())
                total += 1
    if total == 0:
        raise ValueError('the test set is empty')
    return correct / total


def train_stride(cfg):
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.type == 'SampleFrames':
            return step.get('frame_interval', 1)
    return None


def _write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file, then rename)."""
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def _write_json(path: str, obj) -> None:
    _write_text(path, json.dumps(obj, indent=1))


def plot(results: dict, strides, train_strides: dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, accs in results.items():
        line, = ax.plot(strides, [100 * a for a in accs], marker='o', label=name)
        ts = train_strides.get(name)
        if ts in strides:
            ax.plot([ts], [100 * accs[strides.index(ts)]], marker='*', markersize=14,
                    color=line.get_color())
    ax.set_xlabel('frame stride tau (star: training stride)')
    ax.set_ylabel('top-1 accuracy (%)')
    ax.set_title('Robustness to visual tempo')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = f'{path}.tmp{os.getpid()}.png'
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)
    plt.close(fig)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mmengine.config import Config

    from mmaction.apis import init_recognizer
    os.makedirs(args.out_dir, exist_ok=True)
    results, train_strides = {}, {}
    for name, (config, ckpt) in zip(args.names, args.pairs):
        cfg = Config.fromfile(config)
        model = init_recognizer(cfg, ckpt, device=args.device)
        train_strides[name] = train_stride(cfg)
        results[name] = []
        for stride in args.strides:
            acc = evaluate(model, strided_test_loader(cfg, stride, args))
            results[name].append(acc)
            print(f'[{name}] stride {stride}: top-1 {100 * acc:.1f}%', flush=True)
    header = '| model | ' + ' | '.join(f'tau={s}' for s in args.strides) + ' |'
    lines = [header, '| --- ' * (len(args.strides) + 1) + '|']
    for name, accs in results.items():
        lines.append(f'| {name} | ' + ' | '.join(f'{100 * a:.1f}' for a in accs) + ' |')
    table = '\n'.join(lines)
    _write_text(osp.join(args.out_dir, 'tempo_robustness.md'),
                'Top-1 accuracy (%) vs test frame stride tau (last frame repeated when the '
                'video is too short)\n\n' + table + '\n')
    _write_json(osp.join(args.out_dir, 'tempo_robustness.json'),
                dict(strides=args.strides, top1=results, train_stride=train_strides))
    plot(results, list(args.strides), train_strides,
         osp.join(args.out_dir, 'tempo_robustness.png'))
    print(table)
    print(f'written to {args.out_dir}/tempo_robustness.{{md,json,png}}')
    return results


if __name__ == '__main__':
    main()
