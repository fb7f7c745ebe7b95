"""MMEngine checkpoints under torch's ``weights_only`` loading.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``, and every
checkpoint MMEngine writes holds globals outside torch's own allow-list: its
``message_hub`` keeps ``HistoryBuffer`` objects, numpy arrays and scalars.
Turning ``weights_only`` off (or setting ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``)
would let a downloaded checkpoint run code. Instead
:func:`allow_mmengine_checkpoints` (run by ``import feed_mm``) adds exactly
those globals (:data:`MMENGINE_SAFE_GLOBALS`) to torch's allow-list with
``torch.serialization.add_safe_globals``. MMEngine's own loader is left as it
is: ``load_checkpoint``, ``Runner(load_from=...)`` and ``resume`` load
MMEngine checkpoints, and torch still refuses a pickle that would run code.

feed_mm's own code loads with :func:`safe_load` (local files) and
:func:`load_checkpoint` (files and URLs, downloaded into torch.hub's cache
and verified), whose errors name the file, the problem and what to do; files
the user vouches for can opt out of the allow-list (:func:`trust_checkpoint`,
``FEED_MM_TRUSTED_CHECKPOINTS``).
"""
import hashlib
import http.client
import logging
import os
import os.path as osp
import pickle
import urllib.request
import uuid
import zipfile
from typing import Any, Callable, Dict, List, Optional, Set, Tuple
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.logging import HistoryBuffer, print_log
from mmengine.utils import digit_version

__all__ = [
    'allow_mmengine_checkpoints', 'safe_load', 'load_checkpoint',
    'download_checkpoint', 'trust_checkpoint', 'http_cache_path',
    'file_sha256', 'UnsafeCheckpointError', 'CorruptCheckpointError',
    'DownloadError', 'MMENGINE_SAFE_GLOBALS', 'TRUSTED_ENV',
    'DOWNLOAD_TIMEOUT'
]

#: Environment variable: ``os.pathsep``-separated checkpoint files or
#: directories that feed_mm's loaders load without the allow-list.
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


class DownloadError(RuntimeError):
    """A checkpoint could not be downloaded, or its file does not match the
    hash its released name carries.

    Args:
        message (str): The error message, naming the URL and the file.
    """


class _Refused(UnsafeCheckpointError):
    """Raised while unpickling by the allow-list's stand-ins below.

    Not a ``pickle.UnpicklingError``, which ``torch.load`` rewraps into one
    long message: this one reaches the caller as it is, through MMEngine's
    loader too, and :func:`safe_load` adds the file name.

    Args:
        offending (str): What the pickle asked for.
    """

    def __init__(self, offending: str) -> None:
        super().__init__(
            f'Refused to unpickle {offending}: outside the allow-list of '
            'what MMEngine checkpoints hold '
            '(feed_mm.utils.checkpoint.MMENGINE_SAFE_GLOBALS).')
        self.offending = offending


# The statistics methods HistoryBuffer pickles (its class-level table).
_HISTORY_BUFFER_STATISTICS: Dict[str, Callable] = {
    name: getattr(HistoryBuffer, name)
    for name in ('min', 'max', 'current', 'mean')
}


def _changed_statistics(table: Any) -> List[str]:
    """The names in a pickled statistics table that would change what
    ``HistoryBuffer._statistics_methods`` holds.

    Args:
        table: The table from the pickle.

    Returns:
        list[str]: The offending names, sorted; ``['<not a dict>']`` for a
        table of another type.
    """
    if not isinstance(table, dict):
        return ['<not a dict>']
    current = HistoryBuffer._statistics_methods
    # A default, or what this process already registered under that name:
    # either way the load leaves the table as it is.
    return sorted(
        str(name) for name, method in table.items()
        if method is not _HISTORY_BUFFER_STATISTICS.get(name)
        and method is not current.get(name))


class _LoadedHistoryBuffer(HistoryBuffer):
    """What the name ``mmengine.logging.history_buffer.HistoryBuffer``
    means under the allow-list.

    ``HistoryBuffer.__setstate__`` updates the class-level table of
    statistics methods from the pickle, so allowing ``HistoryBuffer``
    itself would let a crafted file replace the methods every logger calls
    (with other allowed callables). MMEngine's loads have no hook after the
    load to undo that, so the check is made here, before the state is set.
    An instance becomes a genuine ``HistoryBuffer`` once built: a
    checkpoint saved after a resume references MMEngine's class only.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Only a crafted pickle calls the class (genuine ones build the
        # object with NEWOBJ and BUILD); it still gets a genuine buffer.
        super().__init__(*args, **kwargs)
        self.__class__ = HistoryBuffer

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise _Refused(f'HistoryBuffer state of type {type(state)}')
        # 'statistics_methods' goes into the class-level table; an
        # instance-level '_statistics_methods' (never in a genuine
        # checkpoint) would shadow it for this buffer.
        changed = []
        for key in ('statistics_methods', '_statistics_methods'):
            if key in state:
                changed += _changed_statistics(state[key])
        if changed:
            raise _Refused('HistoryBuffer state that replaces its statistics '
                           f'methods ({", ".join(changed)})')
        super().__setstate__(state)
        self.__class__ = HistoryBuffer


# HistoryBuffer pickles its default statistics methods (``min``, ``max``,
# ``current``, ``mean``), and protocol 2 writes a method by its qualified name
# as ``builtins.getattr(HistoryBuffer, 'min')``. So every MMEngine checkpoint
# holds ``builtins.getattr``. The real getattr cannot be allowed: with any
# allowed class it reaches arbitrary attributes (``__init__``,
# ``__globals__``, ...) and from there callables and modules. torch's
# unpickler cannot restrict arguments, but it resolves a GLOBAL name through
# the allow-list, and that takes ``(callable, 'module.name')`` pairs. So the
# name ``builtins.getattr`` is bound to this function, which only answers
# the four attribute lookups MMEngine writes.
def _history_buffer_statistic(obj: Any, name: str) -> Callable:
    """``getattr`` restricted to ``HistoryBuffer``'s default statistics.

    Args:
        obj: The object the pickle asks an attribute of (the class the name
            ``HistoryBuffer`` resolves to under the allow-list).
        name (str): The attribute name.

    Returns:
        Callable: The statistics method.
    """
    if obj is _LoadedHistoryBuffer or obj is HistoryBuffer:
        if name in _HISTORY_BUFFER_STATISTICS:
            return _HISTORY_BUFFER_STATISTICS[name]
        owner = 'HistoryBuffer'
    else:
        owner = getattr(obj, '__qualname__', type(obj).__qualname__)
    raise _Refused(f'builtins.getattr({owner}, {name!r})')


# float64/int64 are what Python floats/ints become (logged scalars, counts,
# eta); int32 is numpy's default int on Windows before numpy 2; float32 is
# what metrics computed in numpy float32 store as best_score.
_NUMPY_DTYPES = ('float32', 'float64', 'int32', 'int64')
_NUMPY_DTYPE_TYPES = tuple(type(np.dtype(name)) for name in _NUMPY_DTYPES)


def _numpy_dtype(*args: Any) -> np.dtype:
    """``numpy.dtype`` restricted to :data:`_NUMPY_DTYPES`.

    A dtype pickles as ``numpy.dtype('f8', ...)``, and torch only sets the
    state of objects whose exact type is allowed: the per-dtype class. A
    dtype outside these would be refused at that point with no global to
    name; refusing it here names it.

    Args:
        *args: The pickled arguments of ``numpy.dtype``.

    Returns:
        numpy.dtype: The dtype.
    """
    dtype = np.dtype(*args)
    if not isinstance(dtype, _NUMPY_DTYPE_TYPES):
        raise _Refused(f'numpy.dtype({dtype.str!r}) (numpy {dtype.name})')
    return dtype


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
    entries: List[Any] = [np.ndarray, (_numpy_dtype, 'numpy.dtype')]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        entries += [(reconstruct, f'{module}._reconstruct'),
                    (scalar, f'{module}.scalar')]
    entries += list(_NUMPY_DTYPE_TYPES)
    return entries


#: The globals, beyond torch's own defaults, that MMEngine checkpoints hold;
#: :func:`allow_mmengine_checkpoints` adds them to torch's allow-list.
#: Entries are types or ``(callable, 'module.name')`` pairs, as
#: ``torch.serialization.add_safe_globals`` takes them; a pair binds the
#: name to a restricted stand-in.
MMENGINE_SAFE_GLOBALS: List[Any] = [
    (_LoadedHistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
    (_history_buffer_statistic, 'builtins.getattr'),
    *_numpy_safe_globals(),
]

# (callable, name) entries came with torch 2.6 (pytorch#142153), the first
# release whose torch.load defaults to weights_only=True.
_ALLOW_LIST_SUPPORTED = (
    digit_version(torch.__version__) >= digit_version('2.6.0'))
_WEIGHTS_ONLY_SUPPORTED = (
    digit_version(torch.__version__) >= digit_version('1.13.0'))
_trusted_paths: Set[str] = set()


def allow_mmengine_checkpoints() -> None:
    """Add :data:`MMENGINE_SAFE_GLOBALS` to torch's allow-list of globals
    for ``weights_only`` loading, so that ``torch.load`` with its default
    ``weights_only=True`` (MMEngine's loader) loads MMEngine checkpoints.

    Idempotent (the allow-list is a set); does nothing on torch < 2.6,
    which cannot take these entries.
    """
    if _ALLOW_LIST_SUPPORTED:
        torch.serialization.add_safe_globals(MMENGINE_SAFE_GLOBALS)


def trust_checkpoint(path: str) -> None:
    """Trust a checkpoint file, or every file under a directory, for the
    rest of this process: feed_mm's loaders unpickle it without the
    allow-list, so it can run code. Only for files you made yourself or
    otherwise trust. MMEngine's own loader does not read this list.

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


# torch.load tells a zip checkpoint from its legacy (pre-1.6) format by
# these first bytes; a legacy file starts with the pickled magic number.
_ZIP_MAGIC = b'PK\x03\x04'
_LEGACY_HEADS = tuple(
    pickle.dumps(torch.serialization.MAGIC_NUMBER, protocol=protocol)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1))


def _damage(filename: str) -> Optional[str]:
    """What is wrong with a checkpoint file itself, judged from its bytes.

    Args:
        filename (str): The checkpoint file.

    Returns:
        str | None: The problem; None when the file is intact as far as its
        format can tell (or cannot be read at all, which is no damage).
    """
    if filename.endswith('.safetensors'):
        return None  # torch.load hands these to safetensors
    try:
        f = open(filename, 'rb')
    except OSError:
        return None
    with f:
        head = f.read(64)
        if not head:
            return 'the file is empty'
        if not head.startswith(_ZIP_MAGIC):
            if head.startswith(_LEGACY_HEADS):
                return None
            return "neither a zip archive nor torch's legacy format"
        if not zipfile.is_zipfile(f):
            return 'its zip archive has no end record: the file is truncated'
        try:
            with zipfile.ZipFile(f) as archive:
                bad = archive.testzip()
                names = archive.namelist()
        except Exception as error:  # noqa: B902
            # Whatever reading the archive raises (zipfile, zlib, OSError),
            # the archive cannot be read.
            return (f'its zip archive cannot be read '
                    f'({type(error).__name__}: {error})')
    if bad is not None:
        return f'{bad} in its zip archive fails its CRC check'
    if not any(name.rsplit('/', 1)[-1] == 'data.pkl' for name in names):
        return 'its zip archive holds no data.pkl: not a torch.save file'
    return None


def _unsafe_globals(filename: str) -> Optional[List[str]]:
    """The globals of an intact checkpoint outside torch's allow-list.

    Args:
        filename (str): A checkpoint :func:`_damage` finds intact.

    Returns:
        list[str] | None: The globals, sorted (empty for a pickle too
        malformed to read them from); None when torch cannot list them
        (torch < 2.5, the legacy format).
    """
    scan = getattr(torch.serialization, 'get_unsafe_globals_in_checkpoint',
                   None)
    if scan is None or not zipfile.is_zipfile(filename):
        return None
    try:
        return sorted(scan(filename))
    except Exception:  # noqa: B902
        # torch's scanner reads the pickle's opcodes without running them;
        # whatever it raises, it could not read them.
        return []


def _unsafe(filename: str,
            offending: Optional[List[str]]) -> UnsafeCheckpointError:
    uses = (f'it uses {", ".join(offending)}' if offending else
            'torch refused a global it uses (torch cannot list the globals '
            'of this file; its error is chained below)')
    return UnsafeCheckpointError(
        f'Refused to load checkpoint {filename}: {uses}, outside the '
        'allow-list of what MMEngine checkpoints hold '
        '(feed_mm.utils.checkpoint.MMENGINE_SAFE_GLOBALS). Such globals '
        'could run code; none was executed. If you trust this file, add it '
        f'(or its directory) to {TRUSTED_ENV} ({os.pathsep!r}-separated) or '
        'call feed_mm.utils.checkpoint.trust_checkpoint(path) before '
        'loading.')


def _corrupt(filename: str, reason: str) -> CorruptCheckpointError:
    return CorruptCheckpointError(
        f'Checkpoint file {filename} ({osp.getsize(filename)} bytes) is '
        f'truncated, corrupted or not a PyTorch checkpoint: {reason}')


def _load(filename: str, map_location: Any, trusted: bool) -> Any:
    if trusted:
        print_log(
            f'Loading {filename} as a trusted checkpoint ({TRUSTED_ENV} or '
            'trust_checkpoint): unpickled without the allow-list, so it can '
            'run code.',
            logger='current',
            level=logging.WARNING)
        return torch.load(
            filename, map_location=map_location, weights_only=False)
    # Again at every load: a torch.serialization.safe_globals context over
    # the same entries removes them from the allow-list when it exits.
    allow_mmengine_checkpoints()
    if not _WEIGHTS_ONLY_SUPPORTED:
        # torch < 1.13 has no restricted unpickler at all and loads
        # unrestricted, as MMEngine always did there.
        return torch.load(filename, map_location=map_location)
    # On torch 1.13-2.5 plain weights_only refuses MMEngine's message hub:
    # such checkpoints need trusting there.
    return torch.load(filename, map_location=map_location, weights_only=True)


def safe_load(filename: str, map_location: Any = None) -> Any:
    """Load a local checkpoint with ``torch.load(weights_only=True)`` under
    the allow-list of what MMEngine checkpoints hold
    (:data:`MMENGINE_SAFE_GLOBALS`).

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
    try:
        return _load(filename, map_location, trusted)
    except _Refused as error:
        raise _unsafe(filename, [error.offending]) from None
    except Exception as error:  # noqa: B902 - sorted below, else re-raised
        # The file's own bytes decide whether it is damaged; an intact file
        # whose load failed for another reason (a CUDA map_location without
        # CUDA, a trusted file's own code) gets the error unchanged.
        problem = _damage(filename)
        if problem is not None:
            raise _corrupt(filename, problem) from error
        if trusted or not isinstance(error, pickle.UnpicklingError):
            raise
        # torch's weights-only unpickler refused an intact file: either it
        # uses globals outside the allow-list, or its pickle is malformed.
        offending = _unsafe_globals(filename)
        if offending:
            raise _unsafe(filename, offending) from None
        if offending is None:
            raise _unsafe(filename, None) from error
        raise _corrupt(filename,
                       'its pickle (data.pkl) is malformed, although the zip '
                       'archive around it is intact') from error


def load_checkpoint(filename: str, map_location: Any = None) -> Any:
    """Load a checkpoint file or ``http(s)://`` URL the way feed_mm loads
    teachers: a URL is downloaded first (:func:`download_checkpoint`), then
    the file is loaded with :func:`safe_load`.

    Args:
        filename (str): A checkpoint file or an ``http(s)://`` URL.
        map_location: As for ``torch.load``. Defaults to None.

    Returns:
        Any: The loaded checkpoint.

    Raises:
        DownloadError: The URL could not be downloaded or its file does not
            match the hash in its name.
    """
    if filename.startswith(('http://', 'https://')):
        filename = download_checkpoint(filename)
    return safe_load(filename, map_location)


def http_cache_path(url: str, model_dir: Optional[str] = None) -> str:
    """Where :func:`download_checkpoint` keeps the download of ``url``.

    Args:
        url (str): An ``http(s)://`` checkpoint URL.
        model_dir (str, optional): Download directory. Defaults to
            ``<torch hub dir>/checkpoints``.

    Returns:
        str: The cached file's path (it may not exist yet).
    """
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    return osp.join(model_dir, osp.basename(urlparse(url).path))


#: Seconds a download may wait for the server (to connect, or for each
#: read) before it fails.
DOWNLOAD_TIMEOUT = 60
_CHUNK = 1 << 20
# (real path, size, mtime in ns) -> sha256: a file is hashed once per
# process, and again only if it changed.
_sha256_cache: Dict[Tuple[str, int, int], str] = {}


def _sha256_key(path: str) -> Tuple[str, int, int]:
    stat = os.stat(path)
    return osp.realpath(path), stat.st_size, stat.st_mtime_ns


def file_sha256(path: str) -> str:
    """The sha256 of a file's bytes, read in 1 MiB chunks; cached for the
    process as long as the file's size and modification time are the same.

    Args:
        path (str): The file.

    Returns:
        str: The hex digest.
    """
    key = _sha256_key(path)
    if key not in _sha256_cache:
        sha = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(_CHUNK), b''):
                sha.update(chunk)
        _sha256_cache[key] = sha.hexdigest()
    return _sha256_cache[key]


def download_checkpoint(url: str) -> str:
    """Download ``url`` into torch.hub's cache (:func:`http_cache_path`)
    unless it is there; rank 0 first in distributed runs, so that the file
    is downloaded once.

    A released file name carries the start of the file's sha256
    (``name-<hex>.pth``, ``torch.hub.HASH_REGEX``); the file is verified
    against it, whether downloaded or put into the cache by hand. A download
    goes to a temporary file beside the cached one, moved into place only
    when complete and verified.

    Args:
        url (str): An ``http(s)://`` checkpoint URL.

    Returns:
        str: The cached file.

    Raises:
        DownloadError: The download failed (the message says where to put
            the file by hand) or the file does not match its name's hash.
    """
    cached = http_cache_path(url)
    rank, world_size = get_dist_info()
    if rank == 0:
        _fetch(url, cached)
    if world_size > 1:
        barrier()
        if rank > 0:
            _fetch(url, cached)
    return cached


def _fetch(url: str, cached: str) -> None:
    match = torch.hub.HASH_REGEX.search(osp.basename(cached))
    prefix = match.group(1) if match else None
    if not osp.isfile(cached):
        _download(url, cached, prefix)
    digest = file_sha256(cached)
    if prefix and not digest.startswith(prefix):
        raise DownloadError(
            f'{cached} has sha256 {digest}, but its name says it starts '
            f'with {prefix}: not the file {url} released; delete it to '
            'download it again')


def _download(url: str, cached: str, prefix: Optional[str]) -> None:
    os.makedirs(osp.dirname(cached), exist_ok=True)
    # A name of its own per download, so concurrent downloads (other
    # processes) never write into the same file.
    partial = f'{cached}.{uuid.uuid4().hex}.partial'
    print_log(f'Downloading {url} to {cached}', logger='current')
    sha = hashlib.sha256()
    request = urllib.request.Request(url, headers={'User-Agent': 'feed_mm'})
    try:
        try:
            # The timeout is this request's: the process-wide socket default
            # belongs to the user.
            with urllib.request.urlopen(
                    request, timeout=DOWNLOAD_TIMEOUT) as response, \
                    open(partial, 'xb') as f:
                for chunk in iter(lambda: response.read(_CHUNK), b''):
                    f.write(chunk)
                    sha.update(chunk)
        except (OSError, ValueError, http.client.HTTPException) as err:
            # URLError, HTTPError and timeouts are OSErrors; ValueError: a
            # malformed URL; HTTPException: the connection broke mid-file.
            raise DownloadError(
                f'cannot download {url} ({err}); put the file there by hand '
                f'as {cached}') from err
        digest = sha.hexdigest()
        if prefix and not digest.startswith(prefix):
            raise DownloadError(
                f'{url} has sha256 {digest}, but its name says it starts '
                f'with {prefix}: not the file released under that name; '
                f'nothing was saved as {cached}')
        os.replace(partial, cached)
        # What was just hashed need not be read again.
        _sha256_cache[_sha256_key(cached)] = digest
    finally:
        # Gone after the move; otherwise what is left of a failed download.
        if osp.exists(partial):
            os.remove(partial)
