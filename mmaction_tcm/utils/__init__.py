from .convert_checkpoint import convert_official_checkpoint
from .video_io import write_mp4

__all__ = ['convert_official_checkpoint', 'write_mp4']
