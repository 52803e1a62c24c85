"""Grad-CAM per-frame overlays for a video (the paper's Fig. 5).

    python tools/visualizations/gradcam.py CONFIG CHECKPOINT VIDEO \
        [--target-layers backbone.tcm_after_layer1 backbone.layer4] [--label-map FILE] \
        [--target-class N] [--out gradcam.png]

Uses MMAction2's :class:`mmaction.utils.GradCAM` (hooks on the target layer, gradient-
weighted activations, normalised per clip) on the config's test pipeline. Any module of
the model can be a target layer (dotted or ``/``-separated names), e.g. the TCM output
``backbone.tcm_after_layer2`` or a backbone stage ``backbone.layer2``; by default every TCM of
the backbone (``backbone.tcm_after_layer*``), else ``backbone.layer4``. The PNG grid has the
input frames on the first row and one row of overlays per target layer, one column per
frame (T0 ... T7).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import use_checkout_package  # noqa: E402

use_checkout_package()

import mmaction_tcm  # noqa: E402,F401  (registers TCM; weights_only checkpoint loading)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('video')
    p.add_argument('--target-layers', nargs='+', default=None,
                   help='modules to visualise (dotted or /-separated names); default: every '
                        'backbone.tcm_after_layer* of the model, else backbone.layer4')
    p.add_argument('--target-class', type=int, default=None,
                   help='class whose score is explained (default: the predicted class)')
    p.add_argument('--label-map', help='text file, one class name per line')
    p.add_argument('--alpha', type=float, default=0.5, help='heat-map opacity')
    p.add_argument('--out', default='gradcam.png')
    p.add_argument('--device', default='cpu')
    return p.parse_args(argv)


def resolve_layer(model, name: str) -> str:
    """``name`` in GradCAM's ``/`` form, with a clear error listing close candidates."""
    parts = name.replace('/', '.').split('.')
    module = model
    for i, part in enumerate(parts):
        children = dict(module.named_children())
        if part not in children:
            prefix = '.'.join(parts[:i])
            options = ', '.join(sorted(children)) or '(no submodules)'
            raise ValueError(f'target layer {name!r}: {prefix or "the model"} has no '
                             f'submodule {part!r}; it has: {options}')
        module = children[part]
    return '/'.join(parts)


def default_layers(model) -> list:
    """Every TCM of the backbone (``backbone.tcm_after_layerK``), else the last stage."""
    from mmaction_tcm.models import TCM
    tcms = [f'backbone.{name}' for name, module in model.backbone.named_children()
            if isinstance(module, TCM)]
    return tcms or ['backbone.layer4']


def load_video_batch(model, video: str, label: int):
    """Run the config's test pipeline on ``video``; returns the collated batch."""
    from mmengine.dataset import Compose, pseudo_collate
    data = dict(filename=video, label=label, start_index=0, modality='RGB')
    return pseudo_collate([Compose(model.cfg.test_pipeline)(data)])


def gradcam_rows(model, data, layers, target_class, alpha):
    """Overlays ``(T, H, W, 3)`` in [0, 1] per layer and the clip's class scores."""
    from mmaction.utils import GradCAM
    rows, preds = [], None
    for layer in layers:
        cam = GradCAM(model, layer)
        blended, preds = cam(data, use_labels=target_class is not None, alpha=alpha)
        rows.append(blended[0].numpy())
    return rows, preds[0].detach()


def save_grid(frames, rows, row_names, title, path) -> None:
    """Frames ``(T, H, W, 3)`` uint8 on top, one row of overlays per layer below."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    t = frames.shape[0]
    fig, axes = plt.subplots(1 + len(rows), t, figsize=(1.3 * t, 1.4 * (1 + len(rows))),
                             squeeze=False)
    for r, (images, name) in enumerate(zip([frames / 255.0] + rows, ['input'] + row_names)):
        for i in range(t):
            ax = axes[r][i]
            ax.imshow(images[i].clip(0, 1), interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f'T{i}', fontsize=8)
            if i == 0:
                ax.set_ylabel(name, fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mmaction.apis import init_recognizer
    if not osp.isfile(args.video):
        raise FileNotFoundError(f'video not found: {args.video!r}')
    model = init_recognizer(args.config, args.checkpoint, device=args.device)
    layers = [resolve_layer(model, name)
              for name in args.target_layers or default_layers(model)]
    label = -1 if args.target_class is None else args.target_class
    data = load_video_batch(model, args.video, label)
    rows, scores = gradcam_rows(model, data, layers, args.target_class, args.alpha)
    names = None
    if args.label_map:
        with open(args.label_map) as f:
            names = [line.strip() for line in f if line.strip()]
    pred = int(scores.argmax())
    explained = pred if args.target_class is None else args.target_class
    name_of = (lambda i: names[i] if names and i < len(names) else str(i))
    title = f'predicted: {name_of(pred)}; explained class: {name_of(explained)}'
    frames = data['inputs'][0].permute(0, 2, 3, 1).numpy()  # (T, H, W, 3) RGB
    save_grid(frames, rows, [n.replace('/', '.') for n in layers], title, args.out)
    print(f'{title}\nwritten to {args.out}')
    return dict(pred=pred, explained=explained, layers=layers, out=args.out)


if __name__ == '__main__':
    main()
