"""The released Something-Something flip rule: flip at random, never the left/right classes."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.datasets.transforms import Flip
from mmaction.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SelectiveFlip(BaseTransform):
    """Horizontal flip with probability ``flip_ratio``, except for ``no_flip_labels``.

    Clips whose label is in ``no_flip_labels`` (e.g. "pushing something from left to
    right") are never flipped and keep their label; every other clip is flipped with
    probability ``flip_ratio`` by MMAction2's ``Flip``. This is the released TCM / TSM
    training rule; MMAction2's alternative, flipping every clip and swapping the labels of
    left/right pairs, is ``Flip(flip_label_map=...)``. One random number is drawn per clip
    whatever its label, so the random stream does not depend on the labels.

    Required keys: ``label`` (an int, or an array / tensor holding one), ``imgs``,
    ``img_shape``, ``modality``. Added keys: ``flip``, ``flip_direction``.
    """

    def __init__(self, flip_ratio: float = 0.5, no_flip_labels: Sequence[int] = (),
                 direction: str = 'horizontal'):
        if isinstance(no_flip_labels, (str, bytes)) or not all(
                isinstance(c, (int, np.integer)) and not isinstance(c, bool) and c >= 0
                for c in no_flip_labels):
            raise ValueError('no_flip_labels must be a sequence of class indices >= 0, '
                             f'got {no_flip_labels!r}')
        self.no_flip_labels = frozenset(int(c) for c in no_flip_labels)
        self.flip_ratio = flip_ratio
        self._flip = Flip(flip_ratio=flip_ratio, direction=direction)
        self._keep = Flip(flip_ratio=0., direction=direction)

    @staticmethod
    def _label(results: dict) -> int:
        label = np.asarray(results['label'])
        if label.size != 1:
            raise ValueError('SelectiveFlip needs one class label per clip, got '
                             f'{results["label"]!r}')
        return int(label.reshape(-1)[0])

    def transform(self, results: dict) -> dict:
        keep = self._label(results) in self.no_flip_labels
        return (self._keep if keep else self._flip).transform(results)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(flip_ratio={self.flip_ratio}, '
                f'no_flip_labels={sorted(self.no_flip_labels)}, '
                f'direction={self._flip.direction!r})')
