from .video_io import write_mp4

__all__ = ['write_mp4']
