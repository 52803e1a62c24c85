"""Export a recognizer (config + checkpoint) to ONNX or an AOTInductor package.

    python tools/deployment/export.py CONFIG CKPT --format onnx --out model.onnx \
        [--shape T 3 H W] [--dynamic-clips] [--corr-backend native|pytorch] [--check]

The exported model maps a batch of clips -- ``(N, T, 3, H, W)`` for 2-D recognizers,
``(N, 3, T, H, W)`` for 3-D ones, float32 RGB in [0, 255] -- to class scores after the
head's consensus ``(N, num_classes)``; mean / std normalisation is inside the graph. The
clip size defaults to the config's test clip; ``T`` is fixed, ``N`` too unless
``--dynamic-clips``. ``--check`` compares the file with PyTorch eager on random clips.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()

import mmaction_tcm  # noqa: E402,F401


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='model config')
    p.add_argument('checkpoint', help='checkpoint of that config')
    p.add_argument('--format', choices=('onnx', 'pt2'), required=True)
    p.add_argument('--out', required=True, help='output file (.onnx / .pt2)')
    p.add_argument('--shape', type=int, nargs=4, metavar=('T', 'C', 'H', 'W'),
                   help='one clip: frames, 3, height, width (default: the config\'s test clip)')
    p.add_argument('--dynamic-clips', action='store_true',
                   help='let the number of clips N vary at run time')
    p.add_argument('--batch', type=int, default=1, help='N of a static export (default 1)')
    p.add_argument('--corr-backend', choices=('native', 'pytorch', 'auto'),
                   help='override corr_backend of every TCM (same function and weights)')
    p.add_argument('--opset', type=int, default=18)
    p.add_argument('--check', action='store_true',
                   help='compare the exported file with PyTorch eager on random clips')
    return p.parse_args(argv)


def main(argv=None) -> dict:
    """Returns the metadata written with the model (and ``max_abs_diff`` with --check)."""
    args = parse_args(argv)
    from mmaction_tcm.deploy import default_clip_size, export_model, load_recognizer
    expected = '.onnx' if args.format == 'onnx' else '.pt2'
    if not args.out.endswith(expected):
        raise SystemExit(f'--out must end with {expected} for --format {args.format}, got '
                         f'{args.out!r}')
    if args.batch < 1:
        raise SystemExit(f'--batch must be >= 1, got {args.batch}')
    model = load_recognizer(args.config, args.checkpoint, corr_backend=args.corr_backend)
    shape = args.shape or (lambda t, h, w: (t, 3, h, w))(*default_clip_size(model.cfg))
    meta = export_model(model, args.format, args.out, shape, args.dynamic_clips, args.batch,
                        args.opset, extra_metadata=dict(config=osp.basename(args.config)))
    print(f'wrote {args.out} ({args.format}, clip {tuple(shape)}, '
          f'{"dynamic" if args.dynamic_clips else args.batch} clip(s))')
    if args.check:
        meta = dict(meta, max_abs_diff=check(model, args.out))
    return meta


def check(model, path: str) -> float:
    """Max abs difference of the exported file vs eager on random clips (printed)."""
    import torch
    from mmaction_tcm.deploy import ClipClassifier, load_exported
    exported = load_exported(path)
    n = 2 if exported.dynamic_clips else exported.batch
    clips = torch.rand((n,) + exported.clip_shape, generator=torch.Generator().manual_seed(1))
    clips = clips * 255
    with torch.no_grad():
        ref = ClipClassifier(model).eval()(clips)
    got = exported(clips)
    diff = float((got - ref).abs().max())
    scale = float(ref.abs().max())
    same = bool((got.argmax(1) == ref.argmax(1)).all())
    print(f'check: max |exported - eager| = {diff:.3g} (logit scale {scale:.3g}), '
          f'same top-1: {same}')
    return diff


if __name__ == '__main__':
    main()
