"""Stage 1 of the tempo demo: appearance pretraining, the stand-in for ImageNet.

    python tools/pretrain_appearance.py [--data-root data/tempo_appearance] \
        [--cache-dir work_dirs/appearance_pretrain] [--epochs N] [--quick]

1. writes the appearance videos (``generate_tempo_videos.py --task appearance``: frames of
   the tempo world labelled by shape x hue family only; reused when ``meta.json`` matches);
2. trains ``configs/demo/appearance_r18_pretrain.py`` (a 2-D ResNet-18 on single frames)
   with the stock mmengine ``Runner`` and tests it;
3. saves the trunk as a torchvision-format ResNet-18 state dict (``conv1.weight``,
   ``bn1.*``, ``layerX.Y.convN.weight``, ``layerX.Y.bnN.*``, ``downsample.{0,1}.*``,
   ``fc.*``), the format ``ResNetTSMTCM(pretrained=...)`` loads.

The result is cached under ``CACHE_DIR/<key>/`` where the key hashes everything it depends
on: the generator settings, the full training config (seed included), the source of the
generator and of this file, and the package version. A second call with the same inputs
reuses it; any change trains again. ``CACHE_DIR/resnet18_appearance.pth`` is a copy of the
latest trunk (the path ``configs/tsm_r18_tempo.py`` names).
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import shutil
import sys
import time
from collections import OrderedDict

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()

import mmaction_tcm  # noqa: E402,F401  (registers the package's modules)
from mmaction_tcm.datasets import tempo_videos  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/demo/appearance_r18_pretrain.py'
TRUNK_NAME = 'resnet18_appearance.pth'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default=None,
                   help='appearance videos (default data/tempo_appearance[_quick])')
    p.add_argument('--cache-dir', default='work_dirs/appearance_pretrain')
    p.add_argument('--data-seed', type=int, default=0)
    p.add_argument('--seed', type=int, default=0, help='training seed')
    p.add_argument('--train-per-class', type=int, default=200)
    p.add_argument('--val-per-class', type=int, default=10)
    p.add_argument('--test-per-class', type=int, default=10)
    p.add_argument('--size', type=int, default=64, help='frame size (pixels)')
    p.add_argument('--epochs', type=int, default=None, help='override the config')
    p.add_argument('--batch-size', type=int, default=None, help='override the config')
    p.add_argument('--quick', action='store_true', help='tiny data, 1 epoch (plumbing)')
    args = p.parse_args(argv)
    if args.quick:
        args.train_per_class, args.val_per_class, args.test_per_class = 2, 1, 1
        args.epochs = args.epochs or 1
        args.batch_size = args.batch_size or 8
    if args.data_root is None:
        args.data_root = 'data/tempo_appearance' + ('_quick' if args.quick else '')
    return args


def prepare_videos(data_root: str, task: str, per_class: dict, size: int, num_frames: int,
                   seed: int, tag: str = 'data') -> dict:
    """Generate ``task`` videos into ``data_root`` unless its ``meta.json`` matches; return
    the generator settings (the meta)."""
    meta = dict(task=task, classes=list(tempo_videos.TASKS[task][0]), seed=seed, size=size,
                num_frames=num_frames, per_class=per_class)
    meta_file = osp.join(data_root, 'meta.json')
    if osp.isfile(meta_file):
        with open(meta_file) as f:
            if json.load(f) == meta:
                print(f'[{tag}] reusing {data_root} ({meta_file} matches)', flush=True)
                return meta
    total = sum(per_class.values()) * len(meta['classes'])
    print(f'[{tag}] writing {total} {task} videos ({num_frames} x {size}^2) to {data_root}',
          flush=True)
    start = time.time()

    def progress(split, done, n):
        if done == n or done % 200 == 0:
            print(f'[{tag}] {split}: {done}/{n} ({time.time() - start:.0f}s)', flush=True)

    tempo_videos.generate_dataset(data_root, per_class, size=size, num_frames=num_frames,
                                  seed=seed, workers=2, progress=progress, task=task)
    _write_json(meta_file, meta)
    return meta


def _write_json(path: str, obj) -> None:
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def torchvision_resnet_state(state_dict: dict) -> OrderedDict:
    """An MMAction2 ``Recognizer2D`` (``ResNet`` backbone, ``TSNHead``) state dict ->
    torchvision ResNet names.

    ``backbone.conv1.{conv,bn}`` -> ``conv1`` / ``bn1``; ``backbone.layerX.Y.convN.conv`` ->
    ``layerX.Y.convN``; ``...convN.bn`` -> ``layerX.Y.bnN``; ``...downsample.{conv,bn}`` ->
    ``downsample.{0,1}``; ``cls_head.fc_cls`` -> ``fc``; BN ``num_batches_tracked`` dropped.
    """
    out = OrderedDict()
    for key, value in state_dict.items():
        if key.endswith('.num_batches_tracked'):
            continue  # not in torchvision's files; unused with a BN momentum
        if key.startswith('cls_head.fc_cls.'):
            out['fc.' + key.rsplit('.', 1)[1]] = value
            continue
        if not key.startswith('backbone.'):
            raise KeyError(f'unexpected key {key!r}: expected backbone.* or cls_head.fc_cls.*')
        *module, kind, param = key[len('backbone.'):].split('.')
        if kind not in ('conv', 'bn'):
            raise KeyError(f'unexpected backbone key {key!r}: expected ConvModule '
                           f'conv / bn parameters')
        if module[-1] == 'downsample':
            name = module + ['0' if kind == 'conv' else '1']
        elif kind == 'bn':
            name = module[:-1] + [module[-1].replace('conv', 'bn')]
        else:
            name = module
        out['.'.join(name + [param])] = value
    return out


def cache_key(meta: dict, cfg_text: str) -> str:
    """Hash of everything the trunk depends on (data, config, code, version)."""
    h = hashlib.sha256()
    h.update(json.dumps(meta, sort_keys=True).encode())
    h.update(cfg_text.encode())
    for path in (tempo_videos.__file__, osp.abspath(__file__)):
        with open(path, 'rb') as f:
            h.update(f.read())
    h.update(mmaction_tcm.__version__.encode())
    return h.hexdigest()[:16]


def build_cfg(args):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    from run_tempo_demo import SPLITS, point_loaders_at, set_epochs
    point_loaders_at(cfg, {split: osp.join(args.data_root, f'{split}_list.txt')
                           for split in SPLITS}, args.data_root, args.batch_size, args.size)
    if args.epochs:
        set_epochs(cfg, args.epochs)
    return cfg


def main(argv=None) -> dict:
    """Returns ``dict(trunk=path, key, reused, val_top1, test_top1, test_mean_class,
    train_time)``."""
    args = parse_args(argv)
    os.chdir(ROOT)
    per_class = dict(train=args.train_per_class, val=args.val_per_class,
                     test=args.test_per_class)
    meta = prepare_videos(args.data_root, 'appearance', per_class, args.size, 8,
                          args.data_seed, tag='stage 1 data')
    cfg = build_cfg(args)
    key = cache_key(meta, cfg.pretty_text)
    work_dir = osp.join(args.cache_dir, key)
    trunk = osp.join(work_dir, TRUNK_NAME)
    result_file = osp.join(work_dir, 'result.json')
    if osp.isfile(trunk) and osp.isfile(result_file):
        with open(result_file) as f:
            result = dict(json.load(f), reused=True)
        print(f'[stage 1] reusing the cached trunk {trunk} (key {key}): appearance top-1 '
              f'{100 * result["test_top1"]:.1f}% (test), {100 * result["val_top1"]:.1f}% '
              f'(val)', flush=True)
    else:
        import torch
        from mmengine.runner import Runner
        cfg.work_dir = work_dir
        print(f'[stage 1] appearance pretraining: ResNet-18 on single frames, '
              f'{len(meta["classes"])} appearance classes, {cfg.train_cfg.max_epochs} epochs, '
              f'work dir {work_dir}', flush=True)
        runner = Runner.from_cfg(cfg)
        start = time.time()
        runner.train()
        train_time = time.time() - start
        val_top1 = float(runner.message_hub.get_scalar('val/acc/top1').current())
        metrics = runner.test()
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        state = torchvision_resnet_state(model.state_dict())
        tmp = f'{trunk}.tmp{os.getpid()}'
        torch.save(state, tmp)
        os.replace(tmp, trunk)
        result = dict(trunk=trunk, key=key, val_top1=val_top1,
                      test_top1=float(metrics['acc/top1']),
                      test_mean_class=float(metrics['acc/mean1']), train_time=train_time)
        _write_json(result_file, result)
        result['reused'] = False
        print(f'[stage 1] appearance top-1 {100 * result["test_top1"]:.1f}% (test), '
              f'{100 * val_top1:.1f}% (val), trained in {train_time:.0f}s; trunk {trunk}',
              flush=True)
    latest = osp.join(args.cache_dir, TRUNK_NAME)
    tmp = f'{latest}.tmp{os.getpid()}'
    shutil.copyfile(trunk, tmp)
    os.replace(tmp, latest)
    return result


if __name__ == '__main__':
    main()
