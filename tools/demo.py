"""Classify one video file and print the top-5 classes (MMAction2 inference API).

    python tools/demo.py VIDEO CONFIG CHECKPOINT [--label-map FILE] [--device cpu]

The model is built with ``mmaction.apis.init_recognizer`` (checkpoint loaded with
``weights_only=True`` once ``mmaction_tcm`` is imported) and run with
``inference_recognizer`` on the config's ``test_pipeline``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()

import mmaction_tcm  # noqa: E402,F401  (registers TCM; weights_only checkpoint loading)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('video', help='video file')
    p.add_argument('config', help='model config')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--label-map', help='text file, one class name per line (line i = class i)')
    p.add_argument('--top-k', type=int, default=5)
    p.add_argument('--device', default='cpu')
    return p.parse_args(argv)


def read_label_map(path: str) -> list:
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def main(argv=None) -> list:
    """Prints and returns ``[(class_index, class_name, score), ...]`` (best first)."""
    args = parse_args(argv)
    from mmaction.apis import inference_recognizer, init_recognizer
    if not osp.isfile(args.video):
        raise FileNotFoundError(f'video not found: {args.video!r}')
    model = init_recognizer(args.config, args.checkpoint, device=args.device)
    scores = inference_recognizer(model, args.video).pred_score.cpu()
    names = read_label_map(args.label_map) if args.label_map else None
    if names is not None and len(names) != scores.numel():
        raise ValueError(f'--label-map has {len(names)} names but the model predicts '
                         f'{scores.numel()} classes')
    k = min(args.top_k, scores.numel())
    values, indices = scores.topk(k)
    top = [(int(i), names[i] if names else str(int(i)), float(v))
           for v, i in zip(values, indices)]
    print(f'top-{k} for {args.video}:')
    for rank, (i, name, score) in enumerate(top, 1):
        print(f'{rank}. {name} (class {i}): {score:.4f}')
    return top


if __name__ == '__main__':
    main()
