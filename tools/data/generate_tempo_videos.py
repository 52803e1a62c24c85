"""Write the synthetic tempo-video data set (mp4 + MMAction2 VideoDataset lists).

Example::

    python tools/data/generate_tempo_videos.py data/tempo_videos \
        --train-per-class 128 --val-per-class 8 --test-per-class 16 --size 64 --seed 0
    python tools/data/generate_tempo_videos.py data/tempo_appearance --task appearance \
        --train-per-class 200 --val-per-class 10 --test-per-class 10 --size 64 --num-frames 8

``--task motion``: classes differ only in motion; ``--task appearance``: the same world
labelled by the objects' shape x hue family only (see ``mmaction_tcm.datasets.tempo_videos``).
Output:
``OUT/videos/{train,val,test}/*.mp4``, ``OUT/{train,val,test}_list.txt`` and
``OUT/label_map.txt``.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()

from mmaction_tcm.datasets.tempo_videos import TASKS, generate_dataset  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('out_dir', help='output folder (created)')
    p.add_argument('--task', choices=tuple(TASKS), default='motion',
                   help='label by motion (the tempo classes) or by appearance')
    p.add_argument('--train-per-class', type=int, default=64)
    p.add_argument('--val-per-class', type=int, default=8)
    p.add_argument('--test-per-class', type=int, default=16)
    p.add_argument('--size', type=int, default=112, help='frame height = width in pixels')
    p.add_argument('--num-frames', type=int, default=32, help='frames per video')
    p.add_argument('--fps', type=float, default=16.0)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--workers', type=int, default=2, help='parallel processes')
    p.add_argument('--quiet', action='store_true', help='no progress bar')
    return p.parse_args(argv)


class _Progress:
    """One progress line per split, redrawn in place."""

    def __init__(self, stream=sys.stdout):
        self.stream = stream
        self.start = time.time()

    def __call__(self, split: str, done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            width = 30
            filled = width * done // total
            self.stream.write(f'\r{split:>5} [{"#" * filled}{"." * (width - filled)}] '
                              f'{done}/{total} {time.time() - self.start:.0f}s')
            if done == total:
                self.stream.write('\n')
            self.stream.flush()


def main(argv=None) -> dict:
    args = parse_args(argv)
    per_class = {'train': args.train_per_class, 'val': args.val_per_class,
                 'test': args.test_per_class}
    progress = None if args.quiet else _Progress()
    ann = generate_dataset(args.out_dir, per_class, size=args.size,
                           num_frames=args.num_frames, seed=args.seed, fps=args.fps,
                           workers=args.workers, progress=progress, task=args.task)
    if not args.quiet:
        n = len(TASKS[args.task][0])
        print(f'{n} {args.task} classes, {sum(per_class.values()) * n} videos of '
              f'{args.num_frames} frames at {args.size}x{args.size} in {args.out_dir}')
    return ann


if __name__ == '__main__':
    main()
