"""Atomic file writes for everything mmengine saves to local disk.

mmengine's ``LocalBackend.put`` / ``put_text`` open the target with ``'wb'`` / ``'w'`` and
write into it, so a process killed mid-write leaves a truncated checkpoint (``epoch_N.pth``)
or result dump behind. Every checkpoint (``save_checkpoint``) and every ``mmengine.dump`` to
a local path (``DumpResults``, ``--dump``) goes through these two methods; we replace them by
versions that write a hidden temporary file in the same directory, ``fsync`` it and
``os.replace`` it onto the target. A reader then sees either the old file or the new one.
"""
import os
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio.backends.local_backend import LocalBackend

PathLike = Union[str, Path]


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_read_umask()  # what open(path, 'w') would give (mkstemp gives 0600)


def atomic_write_bytes(data: bytes, path: PathLike) -> None:
    """Write ``data`` to ``path`` so that ``path`` is never seen half-written."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{os.path.basename(path)}.', suffix='.tmp',
                               dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            os.fchmod(f.fileno(), _FILE_MODE)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable (not possible on every file system)
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def atomic_write_text(text: str, path: PathLike, encoding: str = 'utf-8') -> None:
    """Text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(text.encode(encoding), path)


def _atomic_put(self, obj: bytes, filepath: PathLike) -> None:
    atomic_write_bytes(obj, filepath)


def _atomic_put_text(self, obj: str, filepath: PathLike, encoding: str = 'utf-8') -> None:
    atomic_write_text(obj, filepath, encoding)


def install_atomic_local_writes() -> None:
    """Make ``LocalBackend.put`` and ``put_text`` atomic (idempotent)."""
    LocalBackend.put = _atomic_put
    LocalBackend.put_text = _atomic_put_text
