"""Classify one video file and print the top-5 classes, with PyTorch or an exported model.

    python tools/demo.py VIDEO CONFIG MODEL [--backend pytorch|onnxruntime|pt2]
        [--label-map FILE] [--device cpu] [--window N [--stride S]]

``MODEL`` is the checkpoint (``--backend pytorch``, the default), or the ``.onnx`` /
``.pt2`` file from ``tools/deployment/export.py`` of that checkpoint. Every backend runs the
config's ``test_pipeline`` on the video through ``inference_recognizer`` (the PyTorch model
is built with ``mmaction.apis.init_recognizer``, checkpoints loaded with
``weights_only=True`` once ``mmaction_tcm`` is imported), so all print the same top-5.
``--window`` scores a long video window by window (``mmaction_tcm.apis``) and prints the
average.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()

import mmaction_tcm  # noqa: E402,F401  (registers TCM; weights_only checkpoint loading)

BACKENDS = ('pytorch', 'onnxruntime', 'pt2')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('video', help='video file')
    p.add_argument('config', help='model config')
    p.add_argument('checkpoint', metavar='model',
                   help='checkpoint (pytorch) or exported .onnx / .pt2 file')
    p.add_argument('--backend', choices=BACKENDS, default='pytorch')
    p.add_argument('--label-map', help='text file, one class name per line (line i = class i); '
                   "default: the checkpoint's meta.dataset_meta.classes, if any")
    p.add_argument('--top-k', type=int, default=5)
    p.add_argument('--device', default='cpu', help='device of the pytorch backend')
    p.add_argument('--window', type=int, help='score windows of this many frames')
    p.add_argument('--stride', type=int, help='frames between window starts (default: window)')
    return p.parse_args(argv)


def read_label_map(path: str) -> list:
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def build_model(backend: str, config: str, model_file: str, device: str = 'cpu'):
    """A recognizer for ``inference_recognizer``: PyTorch, or an exported file's runtime."""
    expected = {'onnxruntime': '.onnx', 'pt2': '.pt2'}.get(backend)
    if expected and not model_file.endswith(expected):
        raise ValueError(f'--backend {backend} needs a {expected} file, got {model_file!r}')
    if backend == 'pytorch':
        from mmaction.apis import init_recognizer
        return init_recognizer(config, model_file, device=device)
    from mmaction_tcm.deploy import ExportedRecognizer
    return ExportedRecognizer(model_file, config)


def main(argv=None) -> list:
    """Prints and returns ``[(class_index, class_name, score), ...]`` (best first)."""
    args = parse_args(argv)
    from mmaction_tcm.apis import inference_recognizer, inference_sliding_window
    if not osp.isfile(args.video):
        raise FileNotFoundError(f'video not found: {args.video!r}')
    model = build_model(args.backend, args.config, args.checkpoint, args.device)
    if args.window:
        result = inference_sliding_window(model, args.video, args.window, args.stride)
        for w in result['windows']:
            best = int(w['scores'].argmax())
            print(f'frames {w["start"]}-{w["stop"] - 1}: class {best} '
                  f'({float(w["scores"][best]):.4f})')
        scores = result['scores']
    else:
        scores = inference_recognizer(model, args.video).pred_score.cpu()
    from mmaction_tcm.utils import checkpoint_class_names  # converted: meta.dataset_meta
    names = (read_label_map(args.label_map) if args.label_map else
             checkpoint_class_names(args.checkpoint) if args.backend == 'pytorch' else None)
    if names is not None and len(names) != scores.numel():
        raise ValueError(f'--label-map has {len(names)} names but the model predicts '
                         f'{scores.numel()} classes')
    k = min(args.top_k, scores.numel())
    values, indices = scores.topk(k)
    top = [(int(i), names[i] if names else str(int(i)), float(v))
           for v, i in zip(values, indices)]
    print(f'top-{k} for {args.video} ({args.backend}):')
    for rank, (i, name, score) in enumerate(top, 1):
        print(f'{rank}. {name} (class {i}): {score:.4f}')
    return top


if __name__ == '__main__':
    main()
