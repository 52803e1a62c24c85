"""TCM on a GPU: op anchors and TCM-R50 / TSM-R50 steps, timed with CUDA events.

Two parts, both printing Markdown tables (medians over ``--steps`` after ``--warmup``,
every model / implementation timed in interleaved rounds in one process):

- ``ops``: ``correlation`` and ``tempo_match`` on the TCM-R50 shape (``clips * (2T - 3)``
  frame pairs of ``(64, 28, 28)``, patch 15), forward and forward + backward, for our native
  op, the PyTorch path and, when it is installed, the released code's
  ``spatial_correlation_sampler`` (its correlation followed by the PyTorch kernel-softmax,
  which is what the released TCM computes); peak memory of each.
- ``models``: TSM-R50 and TCM-R50 (one per correlation backend) built from
  ``configs/tcm_r50_sthv1.py``, training step (forward + cross-entropy backward + SGD step)
  in fp32 / bf16 / fp16 autocast (fp16 with a ``GradScaler``) and inference; ratios to
  TSM-R50 and peak memory. ``--channels-last``, ``--compile`` (inductor) and
  ``--cuda-graphs`` (inference, ``mode='reduce-overhead'``) switch the optimisations on.

    python tools/analysis/benchmark_gpu.py --part all --device cuda
    python tools/analysis/benchmark_gpu.py --part models --precisions fp32 bf16 --compile
    python tools/analysis/benchmark_gpu.py --device cpu --tiny   # plumbing check, no GPU

On a CPU (``--device cpu``) wall-clock time replaces CUDA events and peak memory is not
reported; the numbers are then only a check that every path runs.
"""
import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import mmaction_tcm  # noqa: E402,F401
from mmaction_tcm.ops import correlation, tempo_match  # noqa: E402

SAMPLER = 'spatial_correlation_sampler'
AUTOCAST = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


def sampler_available() -> bool:
    try:
        import spatial_correlation_sampler  # noqa: F401
    except ImportError:
        return False
    return True


class Timer:
    """Milliseconds of ``fn()``: CUDA events on a GPU, wall clock on a CPU."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == 'cuda'

    def __call__(self, fn: Callable[[], None]) -> float:
        if self.cuda:
            start, end = torch.cuda.Event(True), torch.cuda.Event(True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end)
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3


def peak_memory_mib(fn: Callable[[], None], device: torch.device) -> Optional[float]:
    """Peak allocated memory of one call above what was allocated before it (MiB)."""
    if device.type != 'cuda':
        return None
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - before) / 2 ** 20


def interleaved(steps: Dict[str, Callable[[], None]], rounds: int, warmup: int,
                timer: Timer) -> Dict[str, List[float]]:
    for _ in range(warmup):
        for fn in steps.values():
            fn()
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, fn in steps.items():
            times[name].append(timer(fn))
    return times


def print_table(title: str, times: Dict[str, List[float]], baseline: str,
                memory: Dict[str, Optional[float]]) -> None:
    print(f'\n{title}')
    print('| what | median ms | ratio to baseline (medians) | median of per-round ratios '
          '| peak MiB |')
    print('| --- | ---: | ---: | ---: | ---: |')
    base = times[baseline]
    for name, ts in times.items():
        ratios = [t / b for t, b in zip(ts, base)]
        mem = memory.get(name)
        print(f'| {name} | {statistics.median(ts):.3f} | '
              f'{statistics.median(ts) / statistics.median(base):.3f} | '
              f'{statistics.median(ratios):.3f} | '
              f'{"-" if mem is None else f"{mem:.0f}"} |')


# ----------------------------------------------------------------------------- ops
def op_implementations(device: torch.device) -> Dict[str, Dict[str, Callable]]:
    """Name -> ``dict(corr=fn, match=fn)`` with ``fn(f1, f2, patch_size)``."""
    def backend(name):
        return dict(corr=lambda a, b, p: correlation(a, b, p, corr_backend=name),
                    match=lambda a, b, p: tempo_match(a, b, p, corr_backend=name))
    impls = {'ours (native)': backend('native'), 'PyTorch path': backend('pytorch')}
    if device.type == 'cuda' and sampler_available():
        impls['spatial-correlation-sampler (released)'] = backend(SAMPLER)
    return impls


def bench_ops(args, device, timer) -> None:
    T, P, C, S = args.frames, 15, 64, args.op_size
    pairs = 2 * T - 3
    impls = op_implementations(device)
    for clips in args.op_clips:
        B = clips * pairs
        g = torch.Generator(device='cpu').manual_seed(0)
        feats = [F.normalize(torch.rand(B, C, S, S, generator=g), dim=1).to(device)
                 for _ in range(2)]
        for op in ('corr', 'match'):
            for backward in (False, True):
                steps, memory = {}, {}
                for name, impl in impls.items():
                    a, b = (f.clone().requires_grad_(backward) for f in feats)

                    def step(impl=impl, a=a, b=b):
                        out = impl[op](a, b, P)
                        if backward:
                            outs = out if isinstance(out, tuple) else (out, )
                            sum(o.float().sum() for o in outs).backward()
                    steps[name] = step
                    memory[name] = peak_memory_mib(step, device)
                kind = 'forward + backward' if backward else 'forward'
                title = (f'{"correlation" if op == "corr" else "tempo_match"} {kind}, '
                         f'{clips} clips = {B} pairs x ({C}, {S}, {S}), patch {P}')
                print_table(title, interleaved(steps, args.steps, args.warmup, timer),
                            'ours (native)', memory)


# -------------------------------------------------------------------------- models
def build_recognizer(tcm_backend: Optional[str], args) -> torch.nn.Module:
    from mmengine.config import Config
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(str(REPO / 'configs' / 'tcm_r50_sthv1.py')).model
    cfg.backbone.pretrained = None
    cfg.backbone.depth = args.depth
    cfg.backbone.num_segments = args.frames
    cfg.cls_head.num_segments = args.frames
    cfg.cls_head.in_channels = 512 if args.depth < 50 else 2048
    if tcm_backend is None:
        cfg.backbone.tcm_stages = ()
    else:
        cfg.backbone.tcm_cfg = dict(cfg.backbone.get('tcm_cfg') or {},
                                    corr_backend=tcm_backend)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


class ClipScores(torch.nn.Module):
    """``(N, T, 3, H, W)`` clips -> ``(N, num_classes)`` scores after the consensus."""

    def __init__(self, recognizer):
        super().__init__()
        self.recognizer = recognizer

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        feats, kwargs = self.recognizer.extract_feat(clips)
        return self.recognizer.cls_head(feats, **kwargs)


def model_backends(device: torch.device) -> List[str]:
    backends = ['native', 'pytorch']
    if device.type == 'cuda' and sampler_available():
        backends.append(SAMPLER)
    return backends


def bench_models(args, device, timer) -> None:
    names = {'TSM-R50' if args.depth == 50 else f'TSM-R{args.depth}': None}
    for backend in model_backends(device):
        names[f'TCM ({backend})'] = backend
    models = {}
    for name, backend in names.items():
        net = ClipScores(build_recognizer(backend, args)).to(device)
        if args.channels_last:
            net = net.to(memory_format=torch.channels_last)
        models[name] = net
    baseline = next(iter(models))
    S, T = args.size, args.frames
    batch = torch.randn(args.clips, T, 3, S, S, device=device)
    labels = torch.randint(0, 174, (args.clips, ), device=device)
    infer_clip = batch[:args.infer_clips]
    for precision in args.precisions:
        dtype = AUTOCAST[precision]
        autocast = (lambda: torch.autocast(device.type, dtype=dtype)) if dtype else \
            contextlib.nullcontext
        train_steps, infer_steps, memory_t, memory_i = {}, {}, {}, {}
        for name, net in models.items():
            run = torch.compile(net) if args.compile else net
            opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9)
            scaler = torch.amp.GradScaler(device.type, enabled=precision == 'fp16')

            def train(net=net, run=run, opt=opt, scaler=scaler):
                net.train()
                opt.zero_grad(set_to_none=True)
                with autocast():
                    loss = F.cross_entropy(run(batch).float(), labels)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            train_steps[name] = train
            memory_t[name] = peak_memory_mib(train, device)

            infer_run = (torch.compile(net, mode='reduce-overhead') if args.cuda_graphs
                         else run)

            def infer(net=net, run=infer_run):
                net.eval()
                with torch.no_grad(), autocast():
                    run(infer_clip)
            infer_steps[name] = infer
            memory_i[name] = peak_memory_mib(infer, device)
        opts = ', '.join(o for o, on in (('channels_last', args.channels_last),
                                         ('compiled', args.compile),
                                         ('CUDA graphs', args.cuda_graphs)) if on) or 'eager'
        print_table(f'training step, {args.clips} clips x {T} x {S}^2, {precision}, {opts}',
                    interleaved(train_steps, args.steps, args.warmup, timer), baseline,
                    memory_t)
        print_table(f'inference, {args.infer_clips} clips x {T} x {S}^2, {precision}, '
                    f'{opts}', interleaved(infer_steps, args.steps, args.warmup, timer),
                    baseline, memory_i)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--part', choices=('ops', 'models', 'all'), default='all')
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--depth', type=int, default=50)
    parser.add_argument('--clips', type=int, default=8, help='training batch (clips)')
    parser.add_argument('--infer-clips', type=int, default=8)
    parser.add_argument('--op-clips', type=int, nargs='+', default=[2, 8])
    parser.add_argument('--op-size', type=int, default=28)
    parser.add_argument('--precisions', nargs='+', choices=tuple(AUTOCAST),
                        default=['fp32', 'bf16', 'fp16'])
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--compile', action='store_true', help='torch.compile (inductor)')
    parser.add_argument('--cuda-graphs', action='store_true',
                        help="inference through torch.compile(mode='reduce-overhead')")
    parser.add_argument('--tiny', action='store_true',
                        help='R18 at 8 x 32^2, 1 clip, 1 step: checks that every path runs')
    args = parser.parse_args(argv)
    if args.tiny:
        args.depth, args.size, args.clips, args.infer_clips = 18, 32, 1, 1
        args.op_clips, args.op_size, args.steps, args.warmup = [1], 16, 1, 0
    device = torch.device(args.device)
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        print(f'{torch.cuda.get_device_name(device)}, torch {torch.__version__}, '
              f'TF32 off, spatial-correlation-sampler '
              f'{"installed" if sampler_available() else "not installed"}')
    timer = Timer(device)
    if args.part in ('ops', 'all'):
        bench_ops(args, device, timer)
    if args.part in ('models', 'all'):
        bench_models(args, device, timer)


if __name__ == '__main__':
    main()
