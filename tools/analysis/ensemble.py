"""Average the class scores dumped by ``tools/test.py --dump`` and print top-1 / top-5.

    python tools/analysis/ensemble.py work_dirs/tcm_r50_sthv1.pkl work_dirs/tcm_r50_16f_sthv1.pkl
        [--weights 1 1] [--out ensemble.pkl]

The paper's "En" rows (Tables IV, V) average the 8- and 16-frame models' scores. Every dump
must list the same samples in the same order (same annotation file); the labels are checked.
Scores are averaged as dumped (``average_clips='prob'`` in our configs: softmax scores).
"""
import argparse
import os
import pickle
import sys
from typing import List, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()  # the checkout's mmaction_tcm (safe_pickle_load) when run from source


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Ensemble dumped test scores')
    parser.add_argument('dumps', nargs='+', help='pickles written by tools/test.py --dump')
    parser.add_argument('--weights', type=float, nargs='+', default=None,
                        help='one weight per dump (default: equal)')
    parser.add_argument('--out', default=None, help='write the averaged scores (.pkl)')
    return parser.parse_args(argv)


def _to_numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, 'detach') else np.asarray(x)


def load_dump(path: str):
    """Return ``(scores (N, K) float64, labels (N,) int64)`` from a ``--dump`` pickle."""
    from mmaction_tcm.engine import safe_pickle_load
    try:  # a restricted unpickler: a dump that would run code is refused
        samples = safe_pickle_load(path)
    except ValueError as err:
        raise SystemExit(f'error: {err}')
    if not isinstance(samples, list) or not samples or 'pred_score' not in samples[0]:
        raise SystemExit(f'{path}: not a tools/test.py --dump file (a list of samples with '
                         "'pred_score')")
    scores = np.stack([_to_numpy(s['pred_score']).astype(np.float64).reshape(-1)
                       for s in samples])
    labels = np.array([int(_to_numpy(s['gt_label']).reshape(-1)[0]) for s in samples])
    return scores, labels


def ensemble(score_list: Sequence[np.ndarray], weights: Sequence[float] = None) -> np.ndarray:
    """Weighted mean of ``(N, K)`` score arrays."""
    weights = np.ones(len(score_list)) if weights is None else np.asarray(weights, float)
    if len(weights) != len(score_list):
        raise SystemExit(f'--weights needs {len(score_list)} values, got {len(weights)}')
    shapes = {s.shape for s in score_list}
    if len(shapes) != 1:
        raise SystemExit(f'dumps disagree in shape (samples, classes): {sorted(shapes)}')
    return sum(w * s for w, s in zip(weights, score_list)) / weights.sum()


def top_k(scores: np.ndarray, labels: np.ndarray, ks=(1, 5)) -> List[float]:
    """Fraction of samples whose label is among the ``k`` highest scores (ties: by index)."""
    order = np.argsort(-scores, axis=1, kind='stable')
    return [float(np.mean([labels[i] in order[i, :k] for i in range(len(labels))]))
            for k in ks]


def main(argv=None):
    args = parse_args(argv)
    loaded = [load_dump(p) for p in args.dumps]
    labels = loaded[0][1]
    for path, (_, lab) in zip(args.dumps[1:], loaded[1:]):
        if lab.shape != labels.shape or not np.array_equal(lab, labels):
            raise SystemExit(f'{path}: labels differ from {args.dumps[0]} (not the same '
                             'samples in the same order)')
    for path, (scores, _) in zip(args.dumps, loaded):
        t1, t5 = top_k(scores, labels)
        print(f'{path}: top1 {100 * t1:.2f}  top5 {100 * t5:.2f}')
    mean = ensemble([s for s, _ in loaded], args.weights)
    t1, t5 = top_k(mean, labels)
    print(f'ensemble of {len(loaded)}: top1 {100 * t1:.2f}  top5 {100 * t5:.2f}')
    if args.out:  # written atomically: a kill never leaves a truncated dump
        from mmaction_tcm.engine import atomic_write_bytes
        atomic_write_bytes(pickle.dumps(dict(scores=mean, labels=labels)), args.out)
    return t1, t5


if __name__ == '__main__':
    main()
