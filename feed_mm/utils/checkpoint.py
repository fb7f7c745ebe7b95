"""Safe loading of MMEngine checkpoints under torch's ``weights_only``.

mmengine 0.10 calls ``torch.load`` without ``weights_only``; since torch 2.6
that means ``weights_only=True``, and every checkpoint MMEngine writes (its
``message_hub`` holds ``HistoryBuffer`` objects with numpy arrays) fails to
load. Turning ``weights_only`` off would let a downloaded checkpoint run
code. Instead, :func:`safe_load` keeps ``weights_only=True`` and allows
exactly the types MMEngine writes; :func:`install_safe_checkpoint_loader`
makes MMEngine's ``CheckpointLoader`` use it, so teacher checkpoints,
``load_from`` and ``--resume`` all go through it.
"""
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, Callable, List, Optional, Set, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log

__all__ = [
    'safe_load', 'trust_checkpoint', 'install_safe_checkpoint_loader',
    'UnsafeCheckpointError', 'CorruptCheckpointError',
    'MMENGINE_SAFE_GLOBALS', 'TRUSTED_ENV'
]

TRUSTED_ENV = 'FEED_MM_TRUSTED_CHECKPOINTS'
_trusted_paths: Set[str] = set()


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint whose pickle needs a global outside the allow-list (it
    could run code); nothing from it was executed."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file that is truncated, empty or not a checkpoint."""


# HistoryBuffer pickles its statistics methods as getattr(HistoryBuffer,
# 'min'), so `builtins.getattr` appears in every MMEngine checkpoint. A free
# getattr could reach any attribute of an allowed class (and from there
# functions and modules), so it is replaced by one that only returns
# HistoryBuffer's own statistics methods.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    allowed = set(_HISTORY_BUFFER_STATISTICS) | set(
        HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({getattr(obj, "__name__", type(obj).__name__)}, {name!r})'
        ' is not allowed: only HistoryBuffer statistics methods are')


def _numpy_globals() -> List[Any]:
    """numpy arrays, scalars and dtypes, as MMEngine's message hub stores
    them (the reconstruct functions moved to numpy._core in numpy 2)."""
    found: List[Any] = [np.ndarray, np.dtype]
    for module_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            module = __import__(module_name, fromlist=['_reconstruct'])
        except ImportError:
            continue
        found += [(module._reconstruct, f'{module_name}._reconstruct'),
                  (module.scalar, f'{module_name}.scalar')]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return found


MMENGINE_SAFE_GLOBALS: List[Union[Any, Tuple[Any, str]]] = [
    HistoryBuffer,
    (_history_buffer_getattr, 'builtins.getattr'),
    *_numpy_globals(),
]


def _is_trusted(filename: str) -> bool:
    path = osp.realpath(filename)
    entries = set(_trusted_paths)
    entries.update(
        osp.realpath(p) for p in os.environ.get(TRUSTED_ENV, '').split(
            os.pathsep) if p)
    return any(path == entry or path.startswith(entry.rstrip(os.sep) + os.sep)
               for entry in entries)


def trust_checkpoint(path: str) -> None:
    """Trust a checkpoint file (or every file under a directory) for this
    process: it is then unpickled without restriction. Only for files you
    made yourself or otherwise trust.

    Args:
        path (str): A file or a directory.
    """
    _trusted_paths.add(osp.realpath(path))


_TRUST_HINT = (
    f'{TRUSTED_ENV}=<file or directory> (os.pathsep-separated) or call '
    'feed_mm.utils.checkpoint.trust_checkpoint(path) before loading')
# torch words it 'Unsupported global: GLOBAL x.y' or 'unsupported GLOBAL x.y'.
_UNSUPPORTED_GLOBAL = re.compile(r'GLOBAL ([\w.]+)')


def _offending_globals(error: Exception) -> List[str]:
    named = _UNSUPPORTED_GLOBAL.findall(str(error))
    if named:
        return sorted(set(named))
    restricted = re.search(r'getattr\([^)]*\)', str(error))
    return [f'builtins.getattr ({restricted.group(0)})'
            if restricted else 'a global outside the allow-list']


def safe_load(filename: str, map_location: Any = None) -> Any:
    """``torch.load`` with ``weights_only=True`` and the types MMEngine
    writes allowed.

    Args:
        filename (str): The checkpoint file.
        map_location: As for ``torch.load``.

    Returns:
        The loaded object.

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: The pickle needs a global outside the
            allow-list (nothing was executed); the message names it and how
            to trust the file.
        CorruptCheckpointError: The file is truncated, empty or not a
            checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    if _is_trusted(filename):
        print_log(
            f'Loading {filename} as a trusted checkpoint (unrestricted '
            'unpickling).', logger='current', level=30)
        return torch.load(
            filename, map_location=map_location, weights_only=False)
    if osp.getsize(filename) == 0:
        raise CorruptCheckpointError(
            f'checkpoint file {filename} is empty (0 bytes)')
    safe_globals = getattr(torch.serialization, 'safe_globals', None)
    try:
        if safe_globals is None:
            # torch < 2.4 has no allow-list: load as torch itself does.
            return torch.load(filename, map_location=map_location)
        with safe_globals(MMENGINE_SAFE_GLOBALS):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if _UNSUPPORTED_GLOBAL.search(str(err)) or 'not allowed' in str(err):
            names = ', '.join(_offending_globals(err))
            raise UnsafeCheckpointError(
                f'refused to load checkpoint {filename}: its pickle needs '
                f'{names}, which is not a type MMEngine checkpoints hold '
                'and could run code (nothing was executed). If you trust '
                f'this file, set {_TRUST_HINT}') from None
        raise CorruptCheckpointError(
            f'checkpoint file {filename} is not a readable checkpoint: '
            f'{_first_line(err)}') from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError,
            OSError) as err:
        raise CorruptCheckpointError(
            f'checkpoint file {filename} is truncated or corrupted: '
            f'{_first_line(err)}') from err


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def load_from_local(filename: str, map_location: Any = None) -> Any:
    # Named like MMEngine's loaders: its log prints the name after 'load_from_'.
    return safe_load(filename, map_location)


def load_from_http(filename: str, map_location: Any = None,
               model_dir: Optional[str] = None) -> Any:
    from mmengine.dist import barrier, get_dist_info
    target_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(target_dir, exist_ok=True)
    local = osp.join(target_dir, osp.basename(filename.split('?')[0]))
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.isfile(local):
        torch.hub.download_url_to_file(filename, local, progress=False)
    if world_size > 1:
        barrier()
        if rank > 0 and not osp.isfile(local):
            torch.hub.download_url_to_file(filename, local, progress=False)
    return safe_load(local, map_location)


def install_safe_checkpoint_loader() -> None:
    """Make MMEngine's ``CheckpointLoader`` (used by ``load_checkpoint``,
    ``Runner(load_from=...)``, ``--resume`` and MMRazor's teacher loading)
    load local and http(s) checkpoints with :func:`safe_load`. Idempotent;
    sets no environment variable."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local,
                                     force=True)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_from_http, force=True)
