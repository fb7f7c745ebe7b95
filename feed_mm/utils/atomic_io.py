"""Atomic writes of local files (checkpoints above all).

MMEngine 0.10 serialises a checkpoint to memory and hands the bytes to the
file backend's ``put``; its ``local`` backend opens the final file,
truncates it and writes in place, and ``CheckpointHook`` writes the
``last_checkpoint`` pointer with the builtin ``open``, in place too. A
process killed during either write (out of memory, preemption, Ctrl-C
twice) leaves a truncated ``epoch_N.pth`` under its final name, or an empty
``last_checkpoint`` that ``--resume`` cannot use.

:func:`atomic_open` writes a file atomically: the data goes to
``.<name>.part`` in the same directory, is flushed and fsynced, and is
renamed onto the final name with ``os.replace``, which either happens
completely or not at all. A file under its final name is therefore always a
complete one (the previous version until the rename). The part file's name
is fixed, so the next write of the same file reuses what a killed write
left behind. :class:`AtomicLocalBackend` is MMEngine's local backend with
its writes through :func:`atomic_open`, registered as MMEngine's file
backend :data:`ATOMIC_LOCAL_BACKEND` (MMEngine's own ``local`` backend is
left as it is); ``feed_mm.engine.AtomicCheckpointHook`` saves through it.

A write that fails (disk full, quota, I/O error) raises one
:class:`AtomicWriteError` naming the file and the reason, and leaves the
file under its final name as it was.
"""
import builtins
import os
import os.path as osp
import shutil
from contextlib import contextmanager
from typing import IO, Iterator, Optional, Union

import mmengine
from mmengine.fileio import LocalBackend, register_backend

__all__ = [
    'atomic_open', 'part_path', 'AtomicLocalBackend', 'AtomicWriteError',
    'ATOMIC_LOCAL_BACKEND', 'LAST_CHECKPOINT'
]

PathLike = Union[str, os.PathLike]
#: The file CheckpointHook writes next to the checkpoints; it names the
#: latest one, for ``--resume`` without a path.
LAST_CHECKPOINT = 'last_checkpoint'
#: The name of :class:`AtomicLocalBackend` among MMEngine's file backends:
#: ``backend_args=dict(backend=ATOMIC_LOCAL_BACKEND)`` selects it.
ATOMIC_LOCAL_BACKEND = 'feed_mm_atomic_local'


class AtomicWriteError(OSError):
    """A write through :func:`atomic_open` failed (e.g. no space left on the
    device); the file under its final name is unchanged.

    Args:
        path (str): The file that was being written.
        error (OSError): The error of the failed write; its ``errno`` is
            kept.
    """

    def __init__(self, path: str, error: OSError) -> None:
        reason = error.strerror or str(error) or type(error).__name__
        super().__init__(
            f'could not write {path}: {reason}; the file under that name '
            'is unchanged (the previous version, if any, is kept)')
        self.errno = error.errno
        self.path = path


def part_path(path: PathLike) -> str:
    """The temporary file that a write of ``path`` goes through.

    Args:
        path (str | PathLike): The final file.

    Returns:
        str: ``<dir>/.<name>.part``.
    """
    directory, name = osp.split(os.fspath(path))
    return osp.join(directory, f'.{name}.part')


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (POSIX; elsewhere, and on file
    systems that cannot sync a directory, the rename is only atomic)."""
    if os.name != 'posix':
        return
    try:
        fd = os.open(directory or '.', os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_open(path: PathLike,
                mode: str = 'wb',
                encoding: Optional[str] = None) -> Iterator[IO]:
    """Open ``path`` for writing so that it is replaced all at once.

    The data is written to :func:`part_path` of the file, then flushed,
    fsynced and renamed onto ``path`` when the block ends. If the block
    raises, the part file is removed and ``path`` keeps its previous
    content; an ``OSError`` of the write (disk full...) is raised as an
    :class:`AtomicWriteError` naming ``path``. A symlink is written through,
    as ``open`` does; an existing file keeps its permission bits.

    Args:
        path (str | PathLike): The file to write. Its directory must exist.
        mode (str): ``'wb'`` or ``'w'``. Defaults to ``'wb'``.
        encoding (str, optional): Text encoding for ``'w'``.

    Yields:
        IO: The open part file.
    """
    if mode not in ('w', 'wb'):
        raise ValueError(f"atomic_open writes whole files ('w' or 'wb'), got "
                         f'mode {mode!r}')
    target = osp.realpath(path)
    part = part_path(target)
    try:
        with builtins.open(part, mode, encoding=encoding) as f:
            try:
                yield f
                f.flush()
                os.fsync(f.fileno())
            except BaseException:
                _discard(f, part)
                raise
        if osp.exists(target):
            shutil.copymode(target, part)
        os.replace(part, target)
    except AtomicWriteError:
        raise
    except OSError as error:
        _discard(None, part)
        raise AtomicWriteError(os.fspath(path), error) from error
    _fsync_directory(osp.dirname(target))


def _discard(f: Optional[IO], part: str) -> None:
    """Close and remove a part file; a full disk can make closing fail
    too (the buffered rest is flushed), which must not hide the error."""
    if f is not None:
        try:
            f.close()
        except OSError:
            pass
    if osp.exists(part):
        os.remove(part)


@register_backend(ATOMIC_LOCAL_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """MMEngine's local storage backend with atomic ``put`` and
    ``put_text`` (see :func:`atomic_open`); reading, listing and removing
    are the base backend's.

    Registered as :data:`ATOMIC_LOCAL_BACKEND`, for MMEngine's
    ``backend_args``; no path prefix selects it.
    """

    def put(self, obj: bytes, filepath: PathLike) -> None:
        """Write bytes to ``filepath`` atomically, creating its directory.

        Args:
            obj (bytes): Data to be written.
            filepath (str | PathLike): Path to write data.
        """
        mmengine.mkdir_or_exist(osp.dirname(filepath))
        with atomic_open(filepath, 'wb') as f:
            f.write(obj)

    def put_text(self,
                 obj: str,
                 filepath: PathLike,
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically, creating its directory.

        Args:
            obj (str): Data to be written.
            filepath (str | PathLike): Path to write data.
            encoding (str): Text encoding. Defaults to 'utf-8'.
        """
        mmengine.mkdir_or_exist(osp.dirname(filepath))
        with atomic_open(filepath, 'w', encoding=encoding) as f:
            f.write(obj)
