"""FLOPs (multiply-adds, fvcore / mmengine convention) and parameters of a config's model.

    python tools/analysis/get_flops.py configs/tcm_r50_sthv1.py --shape 8 3 224 224

``--shape``: ``H W`` or ``T C H W`` (one clip of a 2-D recognizer, e.g. ``8 3 224 224``), or
``C T H W`` / ``N C T H W`` (3-D recognizers, e.g. ``3 16 112 112``). Counts ``extract_feat``
(backbone + neck), as MMAction2's ``get_flops.py``. TCM is counted fully: its convolutions and matmuls by mmengine's handles,
the native correlation / tempo-match ops by the handles of ``mmaction_tcm.ops.flops`` (the
PyTorch correlation is a matmul, counted directly). Ops still without a handle are listed,
so a missing count is never silent.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()

import mmaction_tcm  # noqa: E402,F401
import torch  # noqa: E402
from mmengine.analysis import FlopAnalyzer, parameter_count  # noqa: E402
from mmengine.analysis.print_helper import complexity_stats_table  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mmaction.registry import MODELS  # noqa: E402
from mmaction_tcm.ops.flops import tcm_flop_handles  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Model FLOPs and parameters')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs='+', default=[224, 224],
                        help='H W | T C H W (2-D recognizer clip) | [N] C T H W (3-D)')
    parser.add_argument('--max-depth', type=int, default=3, help='table depth')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    return parser.parse_args(argv)


def input_shape(shape, model) -> tuple:
    """The tensor shape ``extract_feat`` receives (batch of one clip).

    2-D recognizers: ``(1, T, C, H, W)``; 3-D recognizers: ``(N, 1, C, T, H, W)``
    (``Recognizer3D.extract_feat`` folds the clip dimension into the batch).
    """
    is_2d = type(model).__name__ == 'Recognizer2D'
    shape = tuple(shape)
    if len(shape) == 1:
        shape = (shape[0], shape[0])
    if is_2d:
        if len(shape) == 2:
            return (1, model.backbone.num_segments, 3) + shape
        if len(shape) == 4:
            return (1, ) + shape
        raise SystemExit(f'--shape for a 2-D recognizer takes H W or T C H W, got {shape}')
    if len(shape) == 4:
        return (1, 1) + shape
    if len(shape) == 5:
        return (shape[0], 1) + shape[1:]
    raise SystemExit(f'--shape for a 3-D recognizer takes C T H W or N C T H W, got {shape}')


def analyse(model: torch.nn.Module, shape: tuple):
    """Return ``(FlopAnalyzer, params)`` for ``model.extract_feat`` on a zero input."""
    model.eval()
    model.forward = model.extract_feat
    analyzer = FlopAnalyzer(model, torch.zeros(shape)).set_op_handle(**tcm_flop_handles())
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return analyzer, parameter_count(model)['']


def tcm_total(analyzer) -> int:
    """FLOPs inside the TCM blocks (modules named ``*tcm*``, outermost only)."""
    names = [n for n in analyzer.by_module() if n and 'tcm' in n.split('.')[-1]]
    outer = [n for n in names if not any(n != o and n.startswith(o + '.') for o in names)]
    return sum(analyzer.by_module()[n] for n in outer)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    shape = input_shape(args.shape, model)
    with torch.no_grad():
        analyzer, params = analyse(model, shape)
        total = analyzer.total()
        print(complexity_stats_table(analyzer, max_depth=args.max_depth,
                                     show_param_shapes=False))
    line = '=' * 40
    print(f'\n{line}\nInput shape: {shape}\nFlops: {total / 1e9:.3f} G (multiply-adds)')
    tcm = tcm_total(analyzer)
    if tcm:
        print(f'  of which TCM: {tcm / 1e9:.3f} G')
    print(f'Params: {params / 1e6:.3f} M ({params:,})')
    skipped = analyzer.unsupported_ops()
    if skipped:
        print('Ops without a FLOP handle (counted as 0): '
              + ', '.join(f'{k} x{v}' for k, v in sorted(skipped.items())))
    print(line)
    return total, params


if __name__ == '__main__':
    main()
