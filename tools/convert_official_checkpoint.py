"""Convert the authors' released TCM checkpoint (e.g. ``sthv1_8f_best.pth``).

Usage: python tools/convert_official_checkpoint.py IN OUT [--num-segments 8]
    [--dataset {sthv1,sthv2}] [--label-order {mmaction2,release}] [--label-map FILE]

The input is read with ``torch.load(weights_only=True)``: nothing in it is executed.
The output is written atomically (nothing is written on an error) and loads strictly into
``configs/tcm_r50_sthv1.py``; its ``meta.dataset_meta.classes`` names the 174 outputs.
"""
import argparse
import io
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()

LABEL_ORDER_HELP = (
    "class numbering of your annotation lists. 'mmaction2' (default): lists made by "
    "MMAction2's tools/data/sthv1 (classes in the order of 20BN's labels csv); the "
    "classifier rows are reordered by class name. 'release': lists made by TSM's "
    "gen_label_sthv1.py (classes numbered by sorted name); rows are kept. For sthv2 both "
    "give the same rows: MMAction2 and the release both number the V2 classes by the "
    "labels JSON, whose indices are the sorted names.")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='released checkpoint (.pth)')
    parser.add_argument('dst', help='output mmengine checkpoint (.pth)')
    parser.add_argument('--num-segments', type=int, default=8,
                        help='frames T of the target model (checked against the '
                             'temporal-attention kernel); default 8')
    parser.add_argument('--dataset', choices=('sthv1', 'sthv2'), default='sthv1',
                        help='data set the checkpoint was trained on; default sthv1')
    parser.add_argument('--label-order', choices=('mmaction2', 'release'),
                        default='mmaction2', help=LABEL_ORDER_HELP)
    parser.add_argument('--label-map',
                        help='one class name per line in the numbering of your lists '
                             '(default: the MMAction2 label map shipped with mmaction_tcm)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import mmaction_tcm  # noqa: F401  (allow-lists mmengine types for weights_only)
    from mmaction_tcm.engine import safe_torch_load
    from mmaction_tcm.engine.atomic_io import atomic_write_bytes
    from mmaction_tcm.utils import convert_official_checkpoint
    try:
        converted = convert_official_checkpoint(
            safe_torch_load(args.src), num_segments=args.num_segments,
            label_order=args.label_order, dataset=args.dataset, label_map=args.label_map)
    except (ValueError, FileNotFoundError) as err:
        print(f'error: {args.src}: {err}', file=sys.stderr)
        return 1
    buffer = io.BytesIO()
    torch.save(converted, buffer)
    atomic_write_bytes(buffer.getvalue(), args.dst)
    meta = converted['meta']
    print(f'wrote {args.dst}: {len(converted["state_dict"])} tensors, '
          f'{meta["num_classes"]} classes in {meta["label_order"]} order ({meta["dataset"]}'
          f'{", classifier rows reordered" if meta["rows_permuted"] else ""})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
