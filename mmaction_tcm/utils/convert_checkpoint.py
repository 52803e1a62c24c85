"""Convert the authors' released TCM checkpoint to this package's layout.

Released layout (``sthv1_8f_best.pth``, docs/design.md §4): ``{'epoch', 'arch', 'best_prec1',
'state_dict'}`` whose keys carry ``module.``:

- ``module.base_model.<torchvision ResNet names>`` (temporal shift is functional),
- ``module.base_model.tcm_layer.{mtdm.chnl_reduction, tam.conv1..4, tam.ETA.conv}.*``,
- ``module.new_fc.{weight (K, 2048, 1), bias}`` (a Conv1d).

Output: ``{'state_dict': ..., 'meta': {...}}`` loading strictly into ``Recognizer2D`` +
``ResNetTSMTCM`` (``tcm_stages=(1,)``) + ``TSMHead`` as in ``configs/tcm_r50_sthv1.py``.

Class numbering: the release numbers the Sth-V1 classes by sorted name, MMAction2's
``tools/data/sthv1`` in the order of 20BN's csv. ``label_order='mmaction2'`` (default)
reorders the classifier rows so that output ``i`` is MMAction2's class ``i``;
``label_order='release'`` keeps the release's rows (lists built with TSM's scripts). For
Sth-V2 both numberings are the labels JSON's, so no row moves.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

from ..datasets import class_names
from ..models.backbones.tcm_placement import tcm_name
from ..models.tcm.tam import eca_kernel_size

BACKBONE_PREFIX = 'module.base_model.'
TCM_PREFIX = BACKBONE_PREFIX + 'tcm_layer.'
HEAD_PREFIX = 'module.new_fc.'
# ResNetTSM wraps the first conv of shifted blocks; with >= 23 blocks in layer3
# (ResNet-101/152) only every second block is shifted (TSM's ``n_round = 2``).
_BLOCK_RE = re.compile(r'^layer(\d)\.(\d+)\.(conv|bn)(\d)\.(.+)$')
_DOWNSAMPLE_RE = re.compile(r'^layer(\d)\.(\d+)\.downsample\.([01])\.(.+)$')
_TCM_RENAMES = (('mtdm.chnl_reduction.', 'mtdm.channel_reduction.'),
                ('tam.ETA.', 'tam.temporal_attention.'))
LABEL_ORDERS = ('mmaction2', 'release')


def _check_released(ckpt) -> Dict[str, torch.Tensor]:
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        raise ValueError('not a released TCM checkpoint: expected a dict with a '
                         "'state_dict' entry (keys 'epoch', 'arch', 'best_prec1', "
                         "'state_dict')")
    state = ckpt['state_dict']
    if not isinstance(state, dict) or not state:
        raise ValueError("not a released TCM checkpoint: 'state_dict' is empty or not a dict")
    bad = [k for k in state if not isinstance(state[k], torch.Tensor)]
    if bad:
        raise ValueError(f'not a released TCM checkpoint: non-tensor entries {bad[:3]}')
    if not any(k.startswith(TCM_PREFIX) for k in state):
        raise ValueError("not a released TCM checkpoint: no 'module.base_model.tcm_layer.*' "
                         'keys (is this a plain TSM or an mmengine checkpoint?)')
    if HEAD_PREFIX + 'weight' not in state:
        raise ValueError("not a released TCM checkpoint: no 'module.new_fc.weight' key")
    unknown = [k for k in state
               if not (k.startswith(BACKBONE_PREFIX) or k.startswith(HEAD_PREFIX))]
    if unknown:
        raise ValueError(f'not a released TCM checkpoint: unexpected keys {unknown[:3]}')
    return state


def _backbone_key(name: str, shifted_every: int) -> str:
    """torchvision ResNet name -> MMAction2 ``ResNetTSM`` name."""
    if name.startswith('conv1.'):
        return 'conv1.conv.' + name[len('conv1.'):]
    if name.startswith('bn1.'):
        return 'conv1.bn.' + name[len('bn1.'):]
    m = _BLOCK_RE.match(name)
    if m:
        stage, block, kind, idx, param = m.groups()
        if kind == 'bn':
            return f'layer{stage}.{block}.conv{idx}.bn.{param}'
        shift = idx == '1' and int(block) % shifted_every == 0
        return f'layer{stage}.{block}.conv{idx}.conv.{"net." if shift else ""}{param}'
    m = _DOWNSAMPLE_RE.match(name)
    if m:
        stage, block, which, param = m.groups()
        return f'layer{stage}.{block}.downsample.{"conv" if which == "0" else "bn"}.{param}'
    raise ValueError(f'not a released TCM checkpoint: unknown backbone key {name!r}')


def _class_order(label_order: str, dataset: str, label_map: Optional[str],
                 num_classes: int) -> Tuple[List[str], List[int]]:
    """Class names of the output rows and, per output row, the release's row."""
    if label_order not in LABEL_ORDERS:
        raise ValueError(f'label_order must be one of {LABEL_ORDERS}, got {label_order!r}')
    class_names.check_dataset(dataset)
    if num_classes != class_names.NUM_CLASSES:
        raise ValueError(
            f'the checkpoint head has {num_classes} classes, but dataset={dataset!r} has '
            f'{class_names.NUM_CLASSES}: this is not a Something-Something checkpoint')
    if label_order == 'release':
        names = class_names.release_class_names(dataset)
        if label_map is not None:  # validated, though the rows stay the release's
            class_names.read_label_map(label_map, dataset)
    elif label_map is not None:
        names = class_names.read_label_map(label_map, dataset)
    else:
        names = class_names.mmaction2_class_names(dataset)
    return names, class_names.release_rows(names, dataset)


def convert_official_checkpoint(ckpt: dict, num_segments: Optional[int] = None,
                                label_order: str = 'mmaction2', dataset: str = 'sthv1',
                                label_map: Optional[str] = None) -> dict:
    """Released TCM checkpoint dict -> mmengine checkpoint dict.

    Args:
        ckpt: the loaded released file (``torch.load(..., weights_only=True)``).
        num_segments: if given, the ``T`` of the target model; a checkpoint whose
            temporal-attention kernel was trained for another ``T`` is refused.
        label_order: ``'mmaction2'``: row ``i`` of the classifier (weight ``(174, 2048)``
            and bias) is the release's row of the class named on line ``i`` of the label
            map; ``'release'``: the release's rows, sorted-name order for Sth-V1.
        dataset: ``'sthv1'`` or ``'sthv2'``; the head must have its 174 classes.
        label_map: a label map (one name per line) in the order of your annotation
            lists; default: the shipped MMAction2 map of ``dataset``.
    Returns:
        ``{'state_dict': OrderedDict, 'meta': {...}}``; ``meta`` holds ``label_order``,
        ``dataset`` and ``dataset_meta={'classes': [174 names in output order]}``.
    """
    state = _check_released(ckpt)
    num_classes = int(state[HEAD_PREFIX + 'weight'].shape[0])
    names, rows = _class_order(label_order, dataset, label_map, num_classes)
    rows = torch.tensor(rows, dtype=torch.long)
    layer3_blocks = {int(m.group(1)) for k in state
                     for m in [re.match(re.escape(BACKBONE_PREFIX) + r'layer3\.(\d+)\.', k)] if m}
    shifted_every = 2 if len(layer3_blocks) >= 23 else 1
    eca_key = TCM_PREFIX + 'tam.ETA.conv.weight'
    if eca_key not in state:
        raise ValueError(f'not a released TCM checkpoint: missing {eca_key!r}')
    kernel = state[eca_key].shape[-1]
    if num_segments is not None and eca_kernel_size(num_segments) != kernel:
        raise ValueError(
            f'checkpoint temporal-attention kernel size is {kernel}, but num_segments='
            f'{num_segments} needs {eca_kernel_size(num_segments)}: the checkpoint was '
            f'trained for a different number of frames')
    out = OrderedDict()
    tcm = tcm_name(1)
    for key, value in state.items():
        if key.startswith(TCM_PREFIX):
            name = key[len(TCM_PREFIX):]
            for old, new in _TCM_RENAMES:
                name = name.replace(old, new)
            out[f'backbone.{tcm}.{name}'] = value
        elif key.startswith(BACKBONE_PREFIX):
            out['backbone.' + _backbone_key(key[len(BACKBONE_PREFIX):], shifted_every)] = value
        elif key == HEAD_PREFIX + 'weight':
            out['cls_head.fc_cls.weight'] = value.reshape(value.shape[0], -1)[rows].clone()
        elif key == HEAD_PREFIX + 'bias':
            out['cls_head.fc_cls.bias'] = value[rows].clone()
        else:
            raise ValueError(f'not a released TCM checkpoint: unexpected key {key!r}')
    meta = dict(source='official TCM release', eca_kernel_size=int(kernel),
                num_classes=num_classes, dataset=dataset, label_order=label_order,
                rows_permuted=bool((rows != torch.arange(num_classes)).any()),
                dataset_meta=dict(classes=list(names)))
    for field in ('epoch', 'arch', 'best_prec1'):
        if field in ckpt:
            value = ckpt[field]
            meta[field] = value.item() if isinstance(value, torch.Tensor) else value
    return {'state_dict': out, 'meta': meta}


def checkpoint_class_names(path: str) -> Optional[List[str]]:
    """``meta['dataset_meta']['classes']`` of a checkpoint file (weights-only load), or None."""
    from ..engine.safe_loading import safe_torch_load
    ckpt = safe_torch_load(path)
    meta = (ckpt.get('meta') if isinstance(ckpt, dict) else None) or {}
    classes = (meta.get('dataset_meta') or {}).get('classes')
    return list(classes) if classes else None
