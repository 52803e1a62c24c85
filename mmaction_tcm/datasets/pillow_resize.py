"""MMAction2's ``Resize`` computed by Pillow, as the released TCM / TSM loaders resize."""
import mmcv

from mmaction.datasets.transforms import Resize
from mmaction.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PillowResize(Resize):
    """``Resize`` (same arguments and keys) whose images are resized by Pillow.

    MMAction2's ``Resize`` always resizes with OpenCV: ``RawFrameDecode(decoding_backend=
    'pillow')`` switches mmcv's decoding backend only (``mmcv.imresize`` reads the backend
    it was imported with). The release resizes its PIL frames with
    ``Image.resize((w, h), BILINEAR)``; with ``interpolation='bilinear'`` this transform
    gives the same ``uint8`` pixels (Pillow's bilinear filter widens with the scale factor
    when shrinking, OpenCV's does not). Images must be ``uint8`` ``(H, W, C)``.
    """

    PILLOW_FILTERS = ('nearest', 'bilinear', 'bicubic', 'box', 'lanczos', 'hamming')

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.interpolation not in self.PILLOW_FILTERS:
            raise ValueError(f'PillowResize: interpolation must be one of '
                             f'{self.PILLOW_FILTERS}, got {self.interpolation!r}')
        if self.lazy:
            raise ValueError('PillowResize: lazy=True is not supported (Fuse resizes with '
                             'OpenCV)')

    def _resize_imgs(self, imgs, new_w, new_h):
        return [mmcv.imresize(img, (new_w, new_h), interpolation=self.interpolation,
                              backend='pillow') for img in imgs]
