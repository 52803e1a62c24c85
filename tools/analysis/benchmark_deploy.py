"""CPU inference of deployed TSM-R50 / TCM-R50: PyTorch eager, torch.compile (inductor),
onnxruntime and AOTInductor in one process, one clip, medians and ratios to eager.

    python tools/analysis/benchmark_deploy.py [--models tsm_r50 tcm_r50] [--repeats 10]
        [--shape 8 3 224 224] [--backends eager compile onnxruntime aoti] [--out FILE.json]

Random weights (the configs' own init; no checkpoint is downloaded). Each backend runs the
same ``ClipClassifier`` (mean / std inside); ``onnxruntime`` uses as many intra-op threads
as torch. For TCM it also times the ONNX graph traced through the PyTorch path of the
matching op (``onnxruntime (pytorch-path graph)``) against the standard-operator
translation of the native op used by ``tools/deployment/export.py``. Prints a markdown
table: median ms, ratio to eager, max |scores - eager|, file size, export / compile time.
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()

import torch  # noqa: E402

import mmaction_tcm  # noqa: E402,F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODELS = {'tsm_r50': 'configs/tsm_r50_sthv1.py', 'tcm_r50': 'configs/tcm_r50_sthv1.py'}
BACKENDS = ('eager', 'compile', 'onnxruntime', 'aoti')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--models', nargs='+', choices=sorted(MODELS), default=list(MODELS))
    p.add_argument('--backends', nargs='+', choices=BACKENDS, default=list(BACKENDS))
    p.add_argument('--shape', type=int, nargs=4, default=(8, 3, 224, 224),
                   metavar=('T', 'C', 'H', 'W'))
    p.add_argument('--repeats', type=int, default=10)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--out', help='also write the rows as JSON here')
    p.add_argument('--op-only', action='store_true',
                   help='only compare the two ONNX forms of tempo_match at TCM-R50 res3 '
                        'size (13 frame pairs of 64 x 28 x 28, patch 15)')
    return p.parse_args(argv)


class _TempoMatch(torch.nn.Module):
    def __init__(self, backend: str):
        super().__init__()
        self.backend = backend

    def forward(self, f1, f2):
        from mmaction_tcm.ops import tempo_match
        return tempo_match(f1, f2, 15, 5.0, 100.0, corr_backend=self.backend)


def bench_op(args) -> list:
    """tempo_match alone: native / PyTorch eager, and onnxruntime on the translation of
    the native op vs on the traced PyTorch path (ms, ONNX nodes, max |flow - native|)."""
    import onnxruntime as ort
    from mmaction_tcm.deploy.onnx_ops import translation_table
    gen = torch.Generator().manual_seed(0)
    f1, f2 = (torch.nn.functional.normalize(torch.randn(13, 64, 28, 28, generator=gen), dim=1)
              for _ in range(2))
    with torch.no_grad():
        ref = _TempoMatch('native')(f1, f2)[0]
    rows = []
    for backend in ('native', 'pytorch'):
        ms = median_ms(lambda x: _TempoMatch(backend)(x, f2), f1, args.repeats, args.warmup)
        rows.append(dict(form=f'eager {backend}', median_ms=ms, nodes=None, max_abs_diff=None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    for label, backend in (('onnxruntime, translation', 'native'),
                           ('onnxruntime, pytorch-path graph', 'pytorch')):
        program = torch.export.export(_TempoMatch(backend), (f1, f2))
        proto = torch.onnx.export(program, (f1, f2), dynamo=True, verbose=False,
                                  custom_translation_table=translation_table()).model_proto
        session = ort.InferenceSession(proto.SerializeToString(), options,
                                       providers=['CPUExecutionProvider'])
        names = [i.name for i in session.get_inputs()]
        feed = dict(zip(names, (f1.numpy(), f2.numpy())))
        flow = torch.from_numpy(session.run(None, feed)[0])
        ms = median_ms(lambda _: session.run(None, feed), f1, args.repeats, args.warmup)
        rows.append(dict(form=label, median_ms=ms, nodes=len(proto.graph.node),
                         max_abs_diff=float((flow - ref).abs().max())))
    print('| tempo_match (13 x 64 x 28 x 28, P 15) | median ms | ONNX nodes | '
          'max abs diff vs native |\n|---|---:|---:|---:|')
    for r in rows:
        nodes = '' if r['nodes'] is None else r['nodes']
        diff = '' if r['max_abs_diff'] is None else f'{r["max_abs_diff"]:.1e}'
        print(f'| {r["form"]} | {r["median_ms"]:.2f} | {nodes} | {diff} |')
    return rows


def median_ms(fn, clips, repeats: int, warmup: int) -> float:
    with torch.no_grad():
        for _ in range(warmup):
            fn(clips)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(clips)
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def bench_model(name: str, args, workdir: str, done: list) -> list:
    from mmaction_tcm.deploy import ClipClassifier, load_recognizer
    model = load_recognizer(osp.join(ROOT, MODELS[name]), None)
    classifier = ClipClassifier(model).eval()
    t, _, h, w = args.shape
    clips = torch.rand(1, t, 3, h, w, generator=torch.Generator().manual_seed(0)) * 255
    with torch.no_grad():
        ref = classifier(clips)
    rows = []

    def add(backend, fn, prepare_s=None, size=None):
        with torch.no_grad():
            out = fn(clips)
            diff = float((out - ref).abs().max()) if out.shape == ref.shape else float('nan')
        ms = median_ms(fn, clips, args.repeats, args.warmup)
        rows.append(dict(model=name, backend=backend, median_ms=ms, max_abs_diff=diff,
                         file_mb=size, prepare_s=prepare_s))
        print(f'  {name} {backend}: {ms:.1f} ms', flush=True)
        if args.out:  # partial results survive an interrupted run
            from mmaction_tcm.engine import atomic_write_text
            atomic_write_text(json.dumps(done + rows, indent=1), args.out)

    for backend in args.backends:
        try:
            run_backend(backend, name, model, classifier, clips, args, workdir, rows, add)
        except Exception as exc:  # report and go on with the other backends
            print(f'  {name} {backend} FAILED: {type(exc).__name__}: {exc}', flush=True)
            rows.append(dict(model=name, backend=f'{backend} (failed)', median_ms=float('nan'),
                             max_abs_diff=float('nan'), file_mb=None, prepare_s=None))
    eager = next((r['median_ms'] for r in rows if r['backend'] == 'eager'), None)
    for r in rows:
        r['ratio_to_eager'] = r['median_ms'] / eager if eager else None
    return rows


def run_backend(backend, name, model, classifier, clips, args, workdir, rows, add):
    """Time one backend of one model; ``add`` records a row."""
    from mmaction_tcm.deploy import export_model, load_exported
    from mmaction_tcm.deploy.clip_model import set_corr_backend
    if backend == 'eager':
        add('eager', classifier)
        # the mean / std normalisation the exported graphs contain, on its own
        add('(normalisation alone, eager)', lambda x: (x - classifier.mean) / classifier.std)
    elif backend == 'compile':
        compiled = torch.compile(classifier, backend='inductor')
        start = time.perf_counter()
        with torch.no_grad():
            compiled(clips)
        add('torch.compile', compiled, time.perf_counter() - start)
    elif backend == 'onnxruntime':
        variants = [('onnxruntime', model)]
        if name.startswith('tcm'):
            swapped = copy.deepcopy(model)
            set_corr_backend(swapped, 'pytorch')
            variants.append(('onnxruntime (pytorch-path graph)', swapped))
        for label, source in variants:
            path = osp.join(workdir, f'{name}_{len(rows)}.onnx')
            start = time.perf_counter()
            export_model(source, 'onnx', path, args.shape)
            prepare = time.perf_counter() - start
            runner = load_exported(path, threads=torch.get_num_threads())
            add(label, runner, prepare, os.path.getsize(path) / 2**20)
    elif backend == 'aoti':
        path = osp.join(workdir, f'{name}.pt2')
        start = time.perf_counter()
        export_model(model, 'pt2', path, args.shape)
        prepare = time.perf_counter() - start
        add('AOTInductor', load_exported(path), prepare, os.path.getsize(path) / 2**20)


def format_table(rows: list, args) -> str:
    t, _, h, w = args.shape
    lines = [f'one clip of {t} x {h}x{w}, CPU, {torch.get_num_threads()} threads, median of '
             f'{args.repeats} runs (torch {torch.__version__})', '',
             '| model | backend | median ms | x eager | max abs diff | file MB | '
             'export/compile s |', '|---|---|---:|---:|---:|---:|---:|']
    for r in rows:
        ratio = '' if r.get('ratio_to_eager') is None else f'{r["ratio_to_eager"]:.2f}'
        size = '' if r['file_mb'] is None else f'{r["file_mb"]:.1f}'
        prep = '' if r['prepare_s'] is None else f'{r["prepare_s"]:.0f}'
        lines.append(f'| {r["model"]} | {r["backend"]} | {r["median_ms"]:.1f} | {ratio} | '
                     f'{r["max_abs_diff"]:.1e} | {size} | {prep} |')
    return '\n'.join(lines)


def main(argv=None) -> list:
    args = parse_args(argv)
    if args.op_only:
        return bench_op(args)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.models:
            rows += bench_model(name, args, workdir, rows)
    print(format_table(rows, args))
    if args.out:
        from mmaction_tcm.engine import atomic_write_text
        atomic_write_text(json.dumps(rows, indent=1), args.out)
    return rows


if __name__ == '__main__':
    main()
