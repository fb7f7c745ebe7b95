"""Which teachers a FEED run learns from: a fingerprint of every teacher
checkpoint (resolved path, size, sha256 of the file), recorded in the run's
checkpoints and compared when a checkpoint is resumed or loaded, so that a
replaced teacher file cannot silently change what the rest of a run learns
from.

The hash is of the file's bytes, not of its path: a teacher moved or
renamed with the same content is the same teacher. It is computed once per
file and process (streamed, cached by path, size and modification time);
``tools/analysis/hash_benchmark.py`` measures its cost.
"""
import hashlib
import logging
import os
import os.path as osp
from typing import Any, Dict, List, Mapping, Optional, Tuple

from mmengine.logging import print_log

from feed_mm.utils import FEEDConfigError
from feed_mm.utils.checkpoint import http_cache_path
from .teacher_spec import TeacherSpec, resolve_checkpoint

#: The checkpoint ``meta`` key of the teachers' fingerprints.
META_KEY = 'feed_teachers'
#: Values of ``FEEDDistill(teacher_mismatch=...)``.
MISMATCH_MODES = ('error', 'warn')
Fingerprint = Dict[str, Any]

_CHUNK = 1 << 20
# (real path, size, mtime in ns) -> sha256: a file is hashed once per
# process, and again only if it changed.
_sha256_cache: Dict[Tuple[str, int, int], str] = {}


class TeacherMismatchError(FEEDConfigError):
    """The teachers recorded in a checkpoint are not those configured.

    Args:
        key (str): The config key of the first mismatched teacher's
            checkpoint (``model.teachers.<name>.ckpt``).
        message (str): Every mismatched teacher with both paths and
            fingerprints, and the override.
    """


def file_sha256(path: str) -> str:
    """The sha256 of a file's bytes, read in 1 MiB chunks; cached for the
    process as long as the file's size and modification time are the same.

    Args:
        path (str): The file.

    Returns:
        str: The hex digest.
    """
    stat = os.stat(path)
    key = (osp.realpath(path), stat.st_size, stat.st_mtime_ns)
    digest = _sha256_cache.get(key)
    if digest is None:
        sha = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(_CHUNK), b''):
                sha.update(chunk)
        digest = _sha256_cache[key] = sha.hexdigest()
    return digest


def file_fingerprint(path: str) -> Fingerprint:
    """``dict(path, size, sha256)`` of a checkpoint file.

    Args:
        path (str): The file.

    Returns:
        dict: Its absolute path, size in bytes and sha256.
    """
    return dict(
        path=osp.abspath(path),
        size=os.path.getsize(path),
        sha256=file_sha256(path))


def teacher_fingerprints(
        specs: Mapping[str, TeacherSpec]) -> Dict[str, Optional[Fingerprint]]:
    """The fingerprint of every teacher's checkpoint, by name; None for a
    random teacher (``ckpt=None``). A work dir is resolved to the checkpoint
    its ``last_checkpoint`` names, as when the teacher is loaded. A URL is
    recorded by its address with the size and sha256 of its download in
    the hub cache (:func:`~feed_mm.utils.checkpoint.http_cache_path`); before
    the first download they are None and the URL is compared by address.

    Args:
        specs (Mapping[str, TeacherSpec]): The parsed teachers.

    Returns:
        dict: ``name -> dict(path, size, sha256)`` or None.
    """
    fingerprints: Dict[str, Optional[Fingerprint]] = {}
    for name, spec in specs.items():
        if spec.ckpt is None:
            fingerprints[name] = None
        elif '://' in spec.ckpt:
            cached = http_cache_path(spec.ckpt)
            fingerprints[name] = dict(
                file_fingerprint(cached) if osp.isfile(cached) else
                dict(size=None, sha256=None), path=spec.ckpt)
        else:
            fingerprints[name] = file_fingerprint(
                resolve_checkpoint(spec.ckpt, f'{spec.key}.ckpt',
                                   f'teacher {name!r}'))
    return fingerprints


def check_mismatch_mode(mode: Any) -> str:
    """``mode`` if it is a ``teacher_mismatch`` value.

    Raises:
        FEEDConfigError: Naming ``model.teacher_mismatch`` otherwise.
    """
    if mode not in MISMATCH_MODES:
        raise FEEDConfigError(
            'model.teacher_mismatch',
            f"must be 'error' or 'warn', got {mode!r}")
    return mode


def _describe(fingerprint: Optional[Fingerprint]) -> str:
    if fingerprint is None:
        return 'no checkpoint (random initialisation)'
    if fingerprint.get('sha256') is None:
        return f'{fingerprint["path"]} (not hashed)'
    return (f'{fingerprint["path"]} (sha256 {fingerprint["sha256"]}, '
            f'{fingerprint["size"]} bytes)')


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _differs(recorded: Optional[Fingerprint],
             configured: Optional[Fingerprint]) -> bool:
    if recorded is None or configured is None:
        return recorded is not configured
    if recorded.get('sha256') is None or configured.get('sha256') is None:
        # A URL teacher not downloaded yet, or recorded by an older
        # feed_mm: only its address is known.
        return recorded.get('path') != configured.get('path')
    return recorded.get('sha256') != configured.get('sha256')


def teacher_differences(recorded: Mapping[str, Any],
                        configured: Mapping[str, Optional[Fingerprint]]
                        ) -> Dict[str, str]:
    """The teachers whose recorded and configured checkpoints differ in
    content, or that are on one side only.

    Args:
        recorded (Mapping): ``name -> fingerprint`` a checkpoint or result
            was made with.
        configured (Mapping): ``name -> fingerprint`` now.

    Returns:
        dict: ``name -> what differs`` (both paths and fingerprints), in
        the recorded order; empty when they are the same teachers.
    """
    differences = {}
    for name in list(recorded) + [n for n in configured if n not in recorded]:
        if name not in configured:
            differences[name] = (f'trained with {_describe(recorded[name])}'
                                 ', not configured now')
        elif name not in recorded:
            differences[name] = (f'configured as '
                                 f'{_describe(configured[name])}, not among '
                                 'the teachers it was trained with')
        elif _differs(recorded[name], configured[name]):
            differences[name] = (f'trained with {_describe(recorded[name])}'
                                 f', configured now '
                                 f'{_describe(configured[name])}')
    return differences


def check_teacher_record(recorded: Optional[Mapping[str, Any]],
                         configured: Mapping[str, Optional[Fingerprint]],
                         mode: str = 'error',
                         checkpoint: Optional[str] = None) -> List[str]:
    """Compare the teachers a checkpoint was trained with against the
    configured ones, by content.

    Args:
        recorded (Mapping, optional): The checkpoint's
            ``meta['feed_teachers']``; None for a checkpoint saved before
            teachers were recorded (a warning, not an error).
        configured (Mapping): :func:`teacher_fingerprints` of the config.
        mode (str): ``'error'`` raises, ``'warn'`` logs a warning.
        checkpoint (str, optional): The loaded file, for the message.

    Returns:
        list[str]: The names of the teachers that differ (only with
        ``'warn'``; ``'error'`` raises if any).

    Raises:
        TeacherMismatchError: With ``'error'``, when a teacher differs or
            is on one side only, naming every such teacher, both paths and
            both fingerprints, and the override.
    """
    source = f'checkpoint {checkpoint}' if checkpoint else 'the checkpoint'
    if recorded is None:
        print_log(
            _sentence(f'{source} holds no record of its teachers (saved '
                      'before feed_mm recorded teacher fingerprints): cannot '
                      'check that the configured teachers are those it was '
                      'trained with.'),
            logger='current', level=logging.WARNING)
        return []
    differences = teacher_differences(recorded, configured)
    if not differences:
        return []
    message = (f'{source} was trained with other teachers than the '
               'configured ones: ' + '; '.join(
                   f'teacher {name!r}: {text}'
                   for name, text in differences.items()))
    if mode == 'warn':
        print_log(
            _sentence(f'{message}. Continuing '
                      "(model.teacher_mismatch='warn'): the rest of the run "
                      'learns from the configured teachers.'),
            logger='current', level=logging.WARNING)
        return list(differences)
    raise TeacherMismatchError(
        f'model.teachers.{next(iter(differences))}.ckpt',
        f'{message}. The checkpoint was not loaded. Point the config at '
        "the original teacher file(s), or set model.teacher_mismatch='warn' "
        '(e.g. --cfg-options model.teacher_mismatch=warn) to continue with '
        'the configured ones.')
