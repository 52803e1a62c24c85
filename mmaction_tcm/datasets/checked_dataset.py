"""``VideoDataset`` that validates its labels at load time and names bad videos in test mode."""
from typing import List

from mmaction.datasets import VideoDataset
from mmaction.registry import DATASETS

from .checked_video import VideoReadError


@DATASETS.register_module()
class CheckedVideoDataset(VideoDataset):
    """MMAction2's ``VideoDataset`` (``path label`` annotation lines) plus checks.

    - Every label must lie in ``[0, num_classes)``; a bad one raises ``ValueError`` naming
      the annotation file, its line and the label, when the list is loaded (not mid-epoch).
      In test mode ``-1`` (an annotation line without a label) is allowed.
    - In test mode a sample the pipeline skipped (``CheckedDecordInit(on_error='skip')``)
      raises :class:`VideoReadError` naming the file: dropping it would change the metric.

    Args:
        num_classes: number of classes of the classifier; required.
        **kwargs: as ``VideoDataset`` (``ann_file``, ``pipeline``, ``data_prefix``, ...).
    """

    def __init__(self, *args, num_classes: int, **kwargs) -> None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) \
                or num_classes < 1:
            raise ValueError(f'num_classes must be a positive int, got {num_classes!r}')
        super().__init__(*args, num_classes=num_classes, **kwargs)

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        for line_no, info in enumerate(data_list, start=1):
            labels = info['label'] if isinstance(info['label'], list) else [info['label']]
            for label in labels:
                if self.test_mode and label == -1 and not self.multi_class:
                    continue  # inference list without labels
                if not 0 <= label < self.num_classes:
                    raise ValueError(
                        f'{self.ann_file}, line {line_no} ({info["filename"]}): label '
                        f'{label} is outside [0, num_classes={self.num_classes}); check the '
                        f'annotation file or num_classes')
        return data_list

    def prepare_data(self, idx: int):
        data = super().prepare_data(idx)
        if data is None and self.test_mode:
            raise VideoReadError(
                f'test sample {idx} ({self.get_data_info(idx)["filename"]!r}) could not be '
                f'read; bad videos cannot be skipped at test time, fix or remove it')
        return data
