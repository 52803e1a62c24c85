from .convert_checkpoint import checkpoint_class_names, convert_official_checkpoint
from .video_io import write_mp4

__all__ = ['checkpoint_class_names', 'convert_official_checkpoint', 'write_mp4']
