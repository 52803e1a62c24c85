"""Video / frame-folder data sets that validate labels at load time and name bad videos."""
from typing import List

from mmaction.datasets import RawframeDataset, VideoDataset
from mmaction.registry import DATASETS

from ..ops.validation import check_int
from .checked_video import VideoReadError


class CheckedDatasetMixin:
    """Checks shared by :class:`CheckedVideoDataset` and :class:`CheckedRawframeDataset`.

    - Every label must lie in ``[0, num_classes)``; a bad one raises ``ValueError`` naming
      the annotation file, its line and the label, when the list is loaded (not mid-epoch).
      In test mode ``-1`` (an annotation line without a label) is allowed.
    - In test mode a sample the pipeline skipped (``CheckedDecordInit(on_error='skip')``)
      raises :class:`VideoReadError` naming the file: dropping it would change the metric.
    """

    def __init__(self, *args, num_classes: int, **kwargs) -> None:
        check_int('num_classes', num_classes, minimum=1)
        super().__init__(*args, num_classes=num_classes, **kwargs)

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        for line_no, info in enumerate(data_list, start=1):
            labels = info['label'] if isinstance(info['label'], list) else [info['label']]
            for label in labels:
                if self.test_mode and label == -1 and not self.multi_class:
                    continue  # inference list without labels
                if not 0 <= label < self.num_classes:
                    name = info.get('filename', info.get('frame_dir'))
                    raise ValueError(
                        f'{self.ann_file}, line {line_no} ({name}): label {label} is '
                        f'outside [0, num_classes={self.num_classes}); check the '
                        f'annotation file or num_classes')
        return data_list

    def prepare_data(self, idx: int):
        data = super().prepare_data(idx)
        if data is None and self.test_mode:
            info = self.get_data_info(idx)
            name = info.get('filename', info.get('frame_dir'))
            raise VideoReadError(
                f'test sample {idx} ({name!r}) could not be read; bad videos cannot be '
                f'skipped at test time, fix or remove it')
        return data


@DATASETS.register_module()
class CheckedVideoDataset(CheckedDatasetMixin, VideoDataset):
    """MMAction2's ``VideoDataset`` (``path label`` lines) with :class:`CheckedDatasetMixin`.

    Args:
        num_classes: number of classes of the classifier; required.
        **kwargs: as ``VideoDataset`` (``ann_file``, ``pipeline``, ``data_prefix``, ...).
    """


@DATASETS.register_module()
class CheckedRawframeDataset(CheckedDatasetMixin, RawframeDataset):
    """MMAction2's ``RawframeDataset`` (``frame_dir total_frames label`` lines) with
    :class:`CheckedDatasetMixin`.

    Args:
        num_classes: number of classes of the classifier; required.
        **kwargs: as ``RawframeDataset`` (``ann_file``, ``pipeline``, ``filename_tmpl``, ...).
    """
