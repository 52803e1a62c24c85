"""TCM-R50 vs TSM-R50 cost on this machine (medians, all models in one process).

Inference: one clip of ``T`` frames (``T x 224^2``), eval mode, no grad. Training step:
``--train-clips`` clips forward + backward (mean of the output as the loss). Models are
timed in interleaved rounds (TSM, TCM native, TCM pytorch, TSM, ...) so that load changes
hit all of them alike; the tables give medians and the median of per-round ratios.

    python tools/analysis/benchmark_tcm.py                       # inference + training
    python tools/analysis/benchmark_tcm.py --skip-train --flops  # + FLOPs / params
    python tools/analysis/benchmark_tcm.py --device cuda --infer-clips 8 --train-clips 8
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import mmaction_tcm  # noqa: E402,F401
from mmaction_tcm.models.backbones.resnet_tsm_tcm import ResNetTSMTCM  # noqa: E402
from mmaction_tcm.ops import native  # noqa: E402


def build_models(T, backends):
    torch.manual_seed(0)
    models = {'TSM-R50': ResNetTSMTCM(50, T, tcm_stages=())}
    for backend in backends:
        models[f'TCM-R50 ({backend})'] = ResNetTSMTCM(50, T,
                                                       tcm_cfg=dict(corr_backend=backend))
    trunk = models['TSM-R50'].state_dict()
    for name, model in models.items():
        if name != 'TSM-R50':
            model.load_state_dict(trunk, strict=False)  # same trunk weights everywhere
    return models


def timed(fn, device):
    """(wall ms, process CPU ms) of one call (CUDA work waited for)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


def interleaved(models, step, rounds, warmup, device):
    for _ in range(warmup):
        for model in models.values():
            step(model)
    times = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            times[name].append(timed(lambda: step(model), device))
    return times


def report(title, times, baseline='TSM-R50'):
    """Wall-clock medians and ratios, best-of-rounds ratio, and CPU time (robust to other
    processes' load when run with 1 thread)."""
    print(f'\n{title}')
    print('| model | median wall ms | ratio of medians | median of per-round ratios | '
          'ratio of minima | median CPU ms | CPU ratio |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    base_wall = [t[0] for t in times[baseline]]
    base_cpu = [t[1] for t in times[baseline]]
    for name, ts in times.items():
        wall, cpu = [t[0] for t in ts], [t[1] for t in ts]
        ratios = [t / b for t, b in zip(wall, base_wall)]
        print(f'| {name} | {statistics.median(wall):.0f} | '
              f'{statistics.median(wall) / statistics.median(base_wall):.3f} | '
              f'{statistics.median(ratios):.3f} | {min(wall) / min(base_wall):.3f} | '
              f'{statistics.median(cpu):.0f} | '
              f'{statistics.median(cpu) / statistics.median(base_cpu):.3f} |')


def flops_and_params(T):
    from mmengine.analysis import FlopAnalyzer, parameter_count
    from mmaction_tcm.ops.flops import tcm_flop_handles
    print(f'\nFLOPs (multiply-adds, mmengine FlopAnalyzer + TCM handles) at 1 x {T} x 224^2')
    print('| model | GFLOPs | params |')
    print('| --- | ---: | ---: |')
    x = torch.randn(T, 3, 224, 224)
    for backend in (None, 'native'):
        name = 'TSM-R50' if backend is None else 'TCM-R50'
        model = (ResNetTSMTCM(50, T, tcm_stages=()) if backend is None else
                 ResNetTSMTCM(50, T, tcm_cfg=dict(corr_backend=backend)))
        model.eval()
        analyzer = FlopAnalyzer(model, (x, )).set_op_handle(**tcm_flop_handles())
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        print(f'| {name} | {analyzer.total() / 1e9:.3f} | {parameter_count(model)[""]:,} |')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--infer-clips', type=int, default=1)
    parser.add_argument('--train-clips', type=int, default=2)
    parser.add_argument('--device', default='cpu', help='cpu or cuda[:N]')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--train-rounds', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--skip-pytorch-tcm', action='store_true',
                        help='leave out TCM with the PyTorch correlation path')
    parser.add_argument('--skip-train', action='store_true')
    parser.add_argument('--flops', action='store_true')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads (default: torch default); with 1 the CPU-time '
                        'ratio is little affected by other processes')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not native.is_available():
        sys.exit(f'native ops unavailable: {native.unavailable_reason()}')
    T, S = args.frames, args.size
    backends = ['native'] + ([] if args.skip_pytorch_tcm else ['pytorch'])
    device = torch.device(args.device)
    models = {name: m.to(device) for name, m in build_models(T, backends).items()}
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' else \
        f'{torch.get_num_threads()} threads'
    print(f'{where}, load average {os.getloadavg()}')

    clip = torch.randn(args.infer_clips * T, 3, S, S, device=device)
    for model in models.values():
        model.eval()

    def infer(model):
        with torch.no_grad():
            model(clip)

    report(f'inference, {args.infer_clips} clip(s) x {T} x {S}^2 ({args.rounds} rounds)',
           interleaved(models, infer, args.rounds, args.warmup, device))

    if not args.skip_train:
        batch = torch.randn(args.train_clips * T, 3, S, S, device=device)
        for model in models.values():
            model.train()

        def train_step(model):
            model.zero_grad(set_to_none=True)
            model(batch).mean().backward()

        report(f'training step, {args.train_clips} clips x {T} x {S}^2, forward + backward '
               f'({args.train_rounds} rounds)',
               interleaved(models, train_step, args.train_rounds, args.warmup, device))
    if args.flops:
        flops_and_params(T)
    print(f'\nload average after: {os.getloadavg()}')


if __name__ == '__main__':
    main()
