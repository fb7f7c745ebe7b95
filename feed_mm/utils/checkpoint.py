"""Safe loading of MMEngine checkpoints under torch's ``weights_only``.

mmengine 0.10 calls ``torch.load`` without ``weights_only``; since torch 2.6
that means ``weights_only=True``, and every checkpoint MMEngine writes fails
to load because its ``message_hub`` holds ``HistoryBuffer`` objects and
numpy arrays and scalars. Turning ``weights_only`` off (or setting
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``) would let a downloaded checkpoint run
code. Instead :func:`safe_load` keeps ``weights_only=True`` and allows
exactly the globals MMEngine checkpoints hold (:data:`MMENGINE_SAFE_GLOBALS`);
files the user vouches for can opt out (:func:`trust_checkpoint`,
``FEED_MM_TRUSTED_CHECKPOINTS``). :func:`install_safe_checkpoint_loader`
puts :func:`safe_load` behind MMEngine's ``CheckpointLoader``, so
``load_checkpoint``, ``Runner(load_from=...)``, ``resume`` and MMRazor's
teacher checkpoints all go through it.
"""
import hashlib
import logging
import os
import os.path as osp
import pickle
import re
import socket
import struct
import zipfile
from typing import Any, Callable, Dict, List, Optional, Set, Tuple
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.utils import digit_version

__all__ = [
    'safe_load', 'trust_checkpoint', 'install_safe_checkpoint_loader',
    'UnsafeCheckpointError', 'CorruptCheckpointError',
    'MMENGINE_SAFE_GLOBALS', 'TRUSTED_ENV', 'DownloadError', 'file_sha256'
]

#: Environment variable: ``os.pathsep``-separated checkpoint files or
#: directories that are loaded without the allow-list.
TRUSTED_ENV = 'FEED_MM_TRUSTED_CHECKPOINTS'


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint needs a global outside :data:`MMENGINE_SAFE_GLOBALS`.

    Nothing outside the allow-list was executed. The message names the
    file, the offending globals and how to trust the file.

    Args:
        message (str): The error message.
    """


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file is empty, truncated, corrupted or not a checkpoint.

    Args:
        message (str): The error message, naming the file and the problem.
    """


class _ForbiddenAttribute(Exception):
    """Raised inside the unpickler by :func:`_history_buffer_statistic`.

    Deliberately not a ``pickle.UnpicklingError``: ``torch.load`` rewraps
    those into one long message, this one reaches :func:`safe_load` as is.
    """


# HistoryBuffer pickles its default statistics methods (``min``, ``max``,
# ``current``, ``mean``), and protocol 2 writes a method by its qualified name
# as ``builtins.getattr(HistoryBuffer, 'min')``. So every MMEngine checkpoint
# holds ``builtins.getattr``. The real getattr cannot be allowed: with any
# allowed class it reaches arbitrary attributes (``__init__``,
# ``__globals__``, ...) and from there callables and modules. torch's
# unpickler cannot restrict arguments, but it resolves a GLOBAL name through
# the allow-list, and ``safe_globals`` takes ``(callable, 'module.name')``
# pairs. So the name ``builtins.getattr`` is bound to this function, which
# only answers the four attribute lookups MMEngine writes.
_HISTORY_BUFFER_STATISTICS: Dict[str, Callable] = {
    name: getattr(HistoryBuffer, name)
    for name in ('min', 'max', 'current', 'mean')
}


def _history_buffer_statistic(obj: Any, name: str) -> Callable:
    """``getattr`` restricted to ``HistoryBuffer``'s default statistics.

    Args:
        obj: The object the pickle asks an attribute of.
        name (str): The attribute name.

    Returns:
        Callable: The statistics method.
    """
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return _HISTORY_BUFFER_STATISTICS[name]
    owner = getattr(obj, '__qualname__', type(obj).__qualname__)
    raise _ForbiddenAttribute(f'builtins.getattr({owner}, {name!r})')


def _numpy_safe_globals() -> List[Any]:
    """The numpy globals of MMEngine's message hub.

    Returns:
        list: Allow-list entries.
    """
    # Taken from what numpy itself pickles rather than imported by module
    # path: the reconstruct functions live in numpy.core.multiarray before
    # numpy 2 and numpy._core.multiarray since. Both spellings are bound, so
    # a checkpoint written under either numpy loads under the running one.
    reconstruct = np.zeros(0).__reduce__()[0]
    scalar = np.float64(0).__reduce__()[0]
    entries: List[Any] = [np.ndarray, np.dtype]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        entries += [(reconstruct, f'{module}._reconstruct'),
                    (scalar, f'{module}.scalar')]
    # A dtype pickles as ``numpy.dtype('f8', ...)``, but torch only BUILDs
    # (sets the state of) objects whose exact type is allowed, and that type
    # is the per-dtype class. float64/int64 are what Python floats/ints
    # become (logged scalars, counts, eta); int32 is numpy's default int on
    # Windows before numpy 2; float32 is what metrics computed in numpy
    # float32 store as best_score. Other dtypes are refused.
    entries += [
        type(np.dtype(name))
        for name in ('float32', 'float64', 'int32', 'int64')
    ]
    return entries


#: The globals, beyond torch's own defaults, that a checkpoint may use when
#: it is loaded with :func:`safe_load`. Entries are types or
#: ``(callable, 'module.name')`` pairs as ``torch.serialization.safe_globals``
#: takes them.
MMENGINE_SAFE_GLOBALS: List[Any] = [
    # The message hub's log scalars. Its __setstate__ only stores state (and
    # updates the class-level statistics table, which _load_restricted
    # checks).
    HistoryBuffer,
    (_history_buffer_statistic, 'builtins.getattr'),
    *_numpy_safe_globals(),
]

# (callable, name) entries came with torch 2.6 (pytorch#142153), the first
# release whose torch.load defaults to weights_only=True.
_ALLOW_LIST_SUPPORTED = (
    digit_version(torch.__version__) >= digit_version('2.6.0'))
_trusted_paths: Set[str] = set()


def trust_checkpoint(path: str) -> None:
    """Trust a checkpoint file, or every file under a directory, for the
    rest of this process: it is unpickled without the allow-list, so it can
    run code. Only for files you made yourself or otherwise trust.

    Args:
        path (str): A file or a directory.
    """
    _trusted_paths.add(osp.realpath(osp.expanduser(path)))


def _is_trusted(filename: str) -> bool:
    path = osp.realpath(filename)
    entries = set(_trusted_paths)
    entries.update(
        osp.realpath(osp.expanduser(entry))
        for entry in os.environ.get(TRUSTED_ENV, '').split(os.pathsep)
        if entry)
    for entry in entries:
        try:
            if osp.commonpath([entry, path]) == entry:
                return True
        except ValueError:  # different drives on Windows
            continue
    return False


def _restore_statistics(before: Dict[str, Callable]) -> List[str]:
    """Undo changes a load made to ``HistoryBuffer._statistics_methods``.

    ``HistoryBuffer.__setstate__`` updates that class-level table from the
    pickle, so a crafted file could replace the methods every logger calls
    (with other allowed callables). A genuine checkpoint only re-adds the
    defaults.

    Args:
        before (dict): The table before the load.

    Returns:
        list[str]: The names a load changed (restored), sorted.
    """
    table = HistoryBuffer._statistics_methods
    expected = {**_HISTORY_BUFFER_STATISTICS, **before}
    changed = sorted(name for name, method in table.items()
                     if expected.get(name) is not method)
    if changed:
        table.clear()
        table.update(before)
    return changed


def _load_restricted(filename: str, map_location: Any) -> Any:
    if not _ALLOW_LIST_SUPPORTED:
        # torch 1.13-2.5 has weights_only but cannot take this allow-list:
        # plain weights_only=True refuses MMEngine's message hub, so such
        # checkpoints need trusting there. torch < 1.13 has no restricted
        # unpickler at all and loads unrestricted, as MMEngine always did.
        if digit_version(torch.__version__) >= digit_version('1.13.0'):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
        return torch.load(filename, map_location=map_location)
    before = dict(HistoryBuffer._statistics_methods)
    try:
        with torch.serialization.safe_globals(MMENGINE_SAFE_GLOBALS):
            checkpoint = torch.load(
                filename, map_location=map_location, weights_only=True)
    finally:
        tampered = _restore_statistics(before)
    if tampered:
        raise _ForbiddenAttribute(
            'HistoryBuffer state that replaces its statistics methods '
            f'({", ".join(tampered)})')
    return checkpoint


# torch's weights-only unpickler reports a refused global, callable or type
# in these words (torch 2.6+).
_UNSAFE_PATTERNS = (
    re.compile(r'GLOBAL (\S+) (?:was not an allowed global|whose module)'),
    re.compile(r'unrecognized function (.+?)(?: which belongs|$)', re.M),
    re.compile(r"(?:Can only build|Can only create new object).*?"
               r"got <class '([^']+)'>"),
)
# RuntimeErrors of torch's zip reader (and legacy format) for a damaged
# file; other RuntimeErrors (e.g. a CUDA map_location without CUDA) are not
# about the file and pass through unchanged.
_CORRUPT_RUNTIME_ERROR = re.compile(
    r'PytorchStreamReader|inline_container|hasRecord|corrupt|unexpected EOF'
    r'|magic number|truncated', re.I)
# Errors any damaged file can raise, trusted or not (pickle.UnpicklingError
# is sorted out separately: it also reports refused globals).
_FORMAT_ERRORS = (EOFError, zipfile.BadZipFile, UnicodeDecodeError)
# Under weights_only only torch's rebuild functions and the allow-list run,
# so these come from a malformed pickle (e.g. flipped bytes), never from
# code in the file; for a trusted file they may be the file's own code.
_MALFORMED_PICKLE_ERRORS = (KeyError, TypeError, ValueError, IndexError,
                            AttributeError, struct.error)


def _error_detail(error: BaseException) -> str:
    """The reason an error gives, without torch's advice around it."""
    text = str(error)
    if 'WeightsUnpickler error:' in text:
        text = text.split('WeightsUnpickler error:', 1)[1]
        text = text.split('Check the documentation of torch.load', 1)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ('unexpected end of file'
                if isinstance(error, EOFError) else type(error).__name__)
    # torch appends generic advice to its zip reader's errors.
    detail = lines[0].split('. This is an internal miniz error', 1)[0]
    return detail if len(detail) <= 200 else detail[:197] + '...'


def _is_unsafe(error: pickle.UnpicklingError) -> bool:
    return any(pattern.search(str(error)) for pattern in _UNSAFE_PATTERNS)


def _offending_globals(filename: str, error: BaseException) -> List[str]:
    if isinstance(error, _ForbiddenAttribute):
        return [str(error)]
    scan = getattr(torch.serialization, 'get_unsafe_globals_in_checkpoint',
                   None)
    if scan is not None:
        # Lists every global outside the allow-list, not only the first one
        # the unpickler stopped at (zip checkpoints only). It only words the
        # error for a file already refused, and a damaged file can make it
        # fail in any way, so any failure falls back to the message.
        try:
            with torch.serialization.safe_globals(MMENGINE_SAFE_GLOBALS):
                named = sorted(scan(filename))
        except Exception:
            named = []
        if named:
            return named
    # A refused type that is no GLOBAL (a numpy dtype class outside the
    # allow-list), or a legacy-format file: the unpickler's own words.
    return [
        match.group(1).strip()
        for match in (p.search(str(error)) for p in _UNSAFE_PATTERNS)
        if match
    ]


def _unsafe(filename: str, error: BaseException) -> UnsafeCheckpointError:
    offending = ', '.join(_offending_globals(filename, error))
    return UnsafeCheckpointError(
        f'Refused to load checkpoint {filename}: it uses {offending}, '
        'outside the allow-list of what MMEngine checkpoints hold '
        '(feed_mm.utils.checkpoint.MMENGINE_SAFE_GLOBALS). Such globals '
        'could run code; none was executed. If you trust this file, add it '
        f'(or its directory) to {TRUSTED_ENV} ({os.pathsep!r}-separated) or '
        'call feed_mm.utils.checkpoint.trust_checkpoint(path) before '
        'loading.')


def _corrupt(filename: str, error: BaseException) -> CorruptCheckpointError:
    size = osp.getsize(filename)
    reason = 'the file is empty' if size == 0 else _error_detail(error)
    return CorruptCheckpointError(
        f'Checkpoint file {filename} ({size} bytes) is truncated, corrupted '
        f'or not a PyTorch checkpoint: {reason}')


def safe_load(filename: str, map_location: Any = None) -> Any:
    """Load a checkpoint with ``torch.load(weights_only=True)``, allowing
    the globals MMEngine checkpoints need (:data:`MMENGINE_SAFE_GLOBALS`).

    A file listed in ``FEED_MM_TRUSTED_CHECKPOINTS`` or passed to
    :func:`trust_checkpoint` (or under such a directory) is loaded with
    ``weights_only=False`` instead, with a warning. On torch < 2.6, which
    cannot take this allow-list, untrusted files load with plain
    ``weights_only=True`` (torch < 1.13: plain ``torch.load``).

    Args:
        filename (str): The checkpoint file; ``~`` is expanded.
        map_location: As for ``torch.load``. Defaults to None.

    Returns:
        Any: The loaded checkpoint.

    Raises:
        FileNotFoundError: ``filename`` is not a file.
        UnsafeCheckpointError: The pickle needs a global outside the
            allow-list; nothing outside it was executed.
        CorruptCheckpointError: The file is empty, truncated, corrupted or
            not a checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    trusted = _is_trusted(filename)
    corrupt_errors = _FORMAT_ERRORS if trusted else (
        _FORMAT_ERRORS + _MALFORMED_PICKLE_ERRORS)
    try:
        if not trusted:
            return _load_restricted(filename, map_location)
        print_log(
            f'Loading {filename} as a trusted checkpoint ({TRUSTED_ENV} or '
            'trust_checkpoint): unpickled without the allow-list, so it can '
            'run code.',
            logger='current',
            level=logging.WARNING)
        return torch.load(
            filename, map_location=map_location, weights_only=False)
    except _ForbiddenAttribute as error:
        raise _unsafe(filename, error) from None
    except pickle.UnpicklingError as error:
        if not trusted and _is_unsafe(error):
            raise _unsafe(filename, error) from None
        raise _corrupt(filename, error) from error
    except PermissionError:
        raise
    except OSError as error:
        # torch's zip reader reports some truncations as EINVAL on seek.
        raise _corrupt(filename, error) from error
    except RuntimeError as error:
        if _CORRUPT_RUNTIME_ERROR.search(str(error)) is None:
            raise
        raise _corrupt(filename, error) from error
    except corrupt_errors as error:
        raise _corrupt(filename, error) from error


# CheckpointLoader logs a loader's name after its 'load_from_' prefix
# ("Loads checkpoint by local_safe backend"), hence these names.
def load_from_local_safe(filename: str, map_location: Any = None) -> Any:
    """MMEngine loader for local paths, through :func:`safe_load`.

    Args:
        filename (str): The checkpoint file.
        map_location: As for ``torch.load``. Defaults to None.

    Returns:
        Any: The loaded checkpoint.
    """
    return safe_load(filename, map_location)


def load_from_http_safe(filename: str,
                        map_location: Any = None,
                        model_dir: Optional[str] = None,
                        progress: bool = os.isatty(0)) -> Any:
    """MMEngine loader for ``http(s)://`` URLs: download into the torch hub
    cache as MMEngine does (once; rank 0 first in distributed runs), then
    :func:`safe_load` the local file.

    Args:
        filename (str): The URL.
        map_location: As for ``torch.load``. Defaults to None.
        model_dir (str, optional): Download directory. Defaults to
            ``<torch hub dir>/checkpoints``.
        progress (bool): Show a progress bar. Defaults to whether stdin is a
            terminal, as in MMEngine.

    Returns:
        Any: The loaded checkpoint.
    """
    from mmengine.dist import barrier, get_dist_info
    cached = http_cache_path(filename, model_dir)
    rank, world_size = get_dist_info()
    if rank == 0:
        _download_once(filename, cached, progress)
    if world_size > 1:
        barrier()
        if rank > 0:
            _download_once(filename, cached, progress)
    return safe_load(cached, map_location)


def http_cache_path(url: str, model_dir: Optional[str] = None) -> str:
    """Where :func:`load_from_http_safe` keeps the download of ``url``.

    Args:
        url (str): An ``http(s)://`` checkpoint URL.
        model_dir (str, optional): Download directory. Defaults to
            ``<torch hub dir>/checkpoints``.

    Returns:
        str: The cached file's path (it may not exist yet).
    """
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    return osp.join(model_dir, osp.basename(urlparse(url).path))


#: Seconds a stalled download may wait for the server before it fails.
DOWNLOAD_TIMEOUT = 60
_CHUNK = 1 << 20
# (real path, size, mtime in ns) -> sha256: a file is hashed once per
# process, and again only if it changed.
_sha256_cache: Dict[Tuple[str, int, int], str] = {}


class DownloadError(RuntimeError):
    """A checkpoint could not be downloaded, or its file does not match
    the hash its released name carries."""


def file_sha256(path: str) -> str:
    """The sha256 of a file's bytes, read in 1 MiB chunks; cached for the
    process as long as the file's size and modification time are the
    same."""
    stat = os.stat(path)
    key = (osp.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _sha256_cache:
        sha = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(_CHUNK), b''):
                sha.update(chunk)
        _sha256_cache[key] = sha.hexdigest()
    return _sha256_cache[key]


def _download_once(url: str, cached: str, progress: bool) -> None:
    """Download ``url`` to ``cached`` unless it is there, verified against
    the sha256 prefix of a released file name (``name-<hex>.pth``, as
    ``torch.hub`` checks it); a file put there by hand is verified too."""
    match = torch.hub.HASH_REGEX.search(osp.basename(cached))
    prefix = match.group(1) if match else None
    if not osp.isfile(cached):
        os.makedirs(osp.dirname(cached), exist_ok=True)
        print_log(f'Downloading {url} to {cached}', logger='current')
        timeout = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
        try:
            # Into a temporary file, moved into place once complete and
            # verified: no truncated or wrong file is left in the cache.
            torch.hub.download_url_to_file(url, cached, hash_prefix=prefix,
                                           progress=progress)
        except (OSError, RuntimeError, ValueError) as err:
            raise DownloadError(
                f'cannot download {url} ({err}); put the file there by hand '
                f'as {cached}') from err
        finally:
            socket.setdefaulttimeout(timeout)
    if prefix and not file_sha256(cached).startswith(prefix):
        raise DownloadError(
            f'{cached} has sha256 {file_sha256(cached)}, but its name says '
            f'it starts with {prefix}: not the file {url} released; delete '
            'it to download it again')


def install_safe_checkpoint_loader() -> None:
    """Make MMEngine's ``CheckpointLoader`` load local paths and
    ``http(s)://`` URLs with :func:`safe_load`.

    That covers ``mmengine.runner.load_checkpoint``,
    ``Runner(load_from=...)``, ``resume`` and MMRazor's teacher checkpoints.
    Idempotent; sets no environment variable.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_safe, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'),
        loader=load_from_http_safe,
        force=True)
