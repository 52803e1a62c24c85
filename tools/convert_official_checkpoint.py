"""Convert the authors' released TCM checkpoint (e.g. ``sthv1_8f_best.pth``).

Usage: python tools/convert_official_checkpoint.py IN OUT [--num-segments 8]

The input is read with ``torch.load(weights_only=True)``: nothing in it is executed.
The output is written atomically and loads strictly into ``configs/tcm_r50_sthv1.py``.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='released checkpoint (.pth)')
    parser.add_argument('dst', help='output mmengine checkpoint (.pth)')
    parser.add_argument('--num-segments', type=int, default=8,
                        help='frames T of the target model (checked against the '
                             'temporal-attention kernel); default 8')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import mmaction_tcm  # noqa: F401  (allow-lists mmengine types for weights_only)
    from mmaction_tcm.compat import safe_torch_load
    from mmaction_tcm.utils import convert_official_checkpoint
    try:
        converted = convert_official_checkpoint(safe_torch_load(args.src),
                                                num_segments=args.num_segments)
    except (ValueError, FileNotFoundError) as err:
        print(f'error: {args.src}: {err}', file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    tmp = f'{args.dst}.tmp{os.getpid()}'
    torch.save(converted, tmp)
    os.replace(tmp, args.dst)
    print(f'wrote {args.dst}: {len(converted["state_dict"])} tensors, '
          f'{converted["meta"].get("num_classes")} classes')
    return 0


if __name__ == '__main__':
    sys.exit(main())
