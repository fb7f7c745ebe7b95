"""Atomic writes of MMEngine's local files (checkpoints above all).

MMEngine 0.10 serialises a checkpoint to memory and hands the bytes to the
file backend's ``put``, which for local paths opens the final file, truncates
it and writes in place; ``CheckpointHook`` then writes the ``last_checkpoint``
pointer with the builtin ``open``, in place too. A process killed during
either write (out of memory, preemption, Ctrl-C twice) leaves a truncated
``epoch_N.pth`` under its final name, or an empty ``last_checkpoint`` that
``--resume`` cannot use.

:func:`install_atomic_local_writes` makes both writes atomic: the data goes to
``.<name>.part`` in the same directory, is flushed and fsynced, and is renamed
onto the final name with ``os.replace``, which either happens completely or
not at all. A file under its final name is therefore always a complete one
(the previous version until the rename). The part file's name is fixed, so
the next write of the same file reuses what a killed write left behind.

A write that fails (disk full, quota, I/O error) raises one
:class:`AtomicWriteError` naming the file and the reason, and leaves the
file under its final name as it was. MMEngine's ``CheckpointHook`` removes
the oldest kept checkpoint *before* writing the new one; here that removal
waits until the new checkpoint and ``last_checkpoint`` are written, so a
failed save keeps every previous checkpoint and the pointer to the latest.
"""
import builtins
import os
import os.path as osp
import shutil
from contextlib import contextmanager
from typing import IO, Any, Callable, Iterator, List, Optional, Union

import mmengine
from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio.file_client import FileClient, HardDiskBackend

__all__ = [
    'atomic_open', 'part_path', 'AtomicLocalBackend', 'AtomicWriteError',
    'AtomicHardDiskBackend', 'install_atomic_local_writes'
]

PathLike = Union[str, os.PathLike]
#: The file CheckpointHook writes next to the checkpoints; it names the
#: latest one, for ``--resume`` without a path.
LAST_CHECKPOINT = 'last_checkpoint'


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


class _AtomicPutMixin:
    """``put`` and ``put_text`` of a local backend through
    :func:`atomic_open`; everything else as the base backend."""

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


class AtomicLocalBackend(_AtomicPutMixin, LocalBackend):
    """MMEngine's ``local`` storage backend with atomic ``put`` and
    ``put_text`` (see :func:`atomic_open`)."""


class AtomicHardDiskBackend(_AtomicPutMixin, HardDiskBackend):
    """The ``disk`` backend of MMEngine's deprecated ``FileClient`` (used
    when a config passes ``file_client_args``), with atomic writes."""


def _checkpoint_hook_open(file, mode='r', *args, **kwargs):
    """``open`` as seen by MMEngine's checkpoint hook module: its write of
    ``last_checkpoint`` goes through :func:`atomic_open`."""
    if mode == 'w' and not args and osp.basename(
            os.fspath(file)) == LAST_CHECKPOINT:
        return atomic_open(file, 'w', **kwargs)
    return builtins.open(file, mode, *args, **kwargs)


class _DeferredRemovals:
    """A file backend whose ``remove`` and ``rmtree`` wait until
    :meth:`apply`; everything else is the wrapped backend's."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._pending: List[Callable[[], None]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def remove(self, filepath: PathLike) -> None:
        self._pending.append(lambda: self._backend.remove(filepath))

    def rmtree(self, dir_path: PathLike) -> None:
        self._pending.append(lambda: self._backend.rmtree(dir_path))

    def apply(self) -> None:
        for removal in self._pending:
            removal()


def _save_before_pruning(save_with_step: Callable) -> Callable:
    """``CheckpointHook._save_checkpoint_with_step`` with the removal of
    the oldest kept checkpoint moved after the new checkpoint and
    ``last_checkpoint`` are written: if the save fails, nothing was
    removed."""

    def save(self, runner, step: int, meta: dict) -> None:
        backend = self.file_backend
        deferred = self.file_backend = _DeferredRemovals(backend)
        try:
            save_with_step(self, runner, step, meta)
        finally:
            self.file_backend = backend
        deferred.apply()

    save.__wrapped__ = save_with_step
    return save


def install_atomic_local_writes() -> None:
    """Make MMEngine's local checkpoint writes atomic.

    Registers :class:`AtomicLocalBackend` as the ``local`` backend (also for
    paths without a prefix) and :class:`AtomicHardDiskBackend` as
    ``FileClient``'s ``disk`` backend, drops local backend instances cached
    before, and routes ``CheckpointHook``'s write of ``last_checkpoint``
    (which bypasses the backend) through :func:`atomic_open`, and makes it
    remove outdated checkpoints only after a successful save. Files and
    contents stay the same. Idempotent.
    """
    from mmengine.fileio import io as fileio
    from mmengine.hooks import checkpoint_hook
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # Forcing drops the FileClient instances of the replaced backend.
    FileClient.register_backend('disk', AtomicHardDiskBackend, force=True)
    # get_file_backend(enable_singleton=True) reuses instances made before.
    for key, backend in list(fileio.backend_instances.items()):
        if type(backend) is LocalBackend:
            del fileio.backend_instances[key]
    # mmengine 0.10 writes the pointer with `with open(path, 'w')` in that
    # module; a module-level `open` shadows the builtin there only.
    checkpoint_hook.open = _checkpoint_hook_open
    hook = checkpoint_hook.CheckpointHook
    original = getattr(hook._save_checkpoint_with_step, '__wrapped__',
                       hook._save_checkpoint_with_step)
    hook._save_checkpoint_with_step = _save_before_pruning(original)
