"""Which teachers a FEED run learns from: a fingerprint of every teacher
checkpoint (path, size, sha256 of the file's bytes: a file moved with the
same content is the same teacher), stored by
:class:`~feed_mm.engine.TeacherProvenanceHook` in the run's checkpoints and
compared when one is resumed or loaded, so that a replaced teacher file
cannot silently change what the rest of a run learns from."""
import logging
import os
import os.path as osp
from typing import Any, Dict, List, Mapping, Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import find_latest_checkpoint

from feed_mm.models.algorithms.teacher_spec import parse_teachers
from feed_mm.utils import FEEDConfigError
from feed_mm.utils.checkpoint import (file_sha256, http_cache_path,
                                      load_checkpoint)
from feed_mm.utils.weights import resolve_checkpoint

#: The checkpoint ``meta`` key of the teachers' fingerprints.
META_KEY = 'feed_teachers'
#: The config key of the provenance hook in feed_mm's runtime.
HOOK_KEY = 'default_hooks.teacher_provenance'
#: Values of ``TeacherProvenanceHook(mismatch=...)``.
MISMATCH_MODES = ('error', 'warn')
Fingerprint = Dict[str, Any]


class TeacherMismatchError(FEEDConfigError):
    """The teachers recorded in a checkpoint are not those configured.

    Args:
        key (str): The config key of the first mismatched teacher's
            checkpoint (``model.teachers.<name>.ckpt``).
        message (str): Every mismatched teacher with both paths and
            fingerprints, and the override.
    """


def file_fingerprint(path: str) -> Fingerprint:
    """``dict(path, size, sha256)`` of a checkpoint file (absolute path)."""
    return dict(path=osp.abspath(path), size=os.path.getsize(path),
                sha256=file_sha256(path))


def teacher_fingerprints(
    ckpts: Mapping[str, Optional[str]]
) -> Dict[str, Optional[Fingerprint]]:
    """The fingerprint of every teacher checkpoint, by name (a FEEDDistill's
    ``teacher_ckpts``); None for a random teacher. A work dir is resolved to
    the checkpoint its ``last_checkpoint`` names, as when the teacher is
    loaded. A URL is recorded by its address with the size and sha256 of its
    download in the hub cache; before the first download they are None and
    the URL is compared by address."""
    fingerprints: Dict[str, Optional[Fingerprint]] = {}
    for name, ckpt in ckpts.items():
        if ckpt is None:
            fingerprints[name] = None
        elif '://' in ckpt:
            cached = http_cache_path(ckpt)
            fingerprints[name] = dict(
                file_fingerprint(cached) if osp.isfile(cached) else
                dict(size=None, sha256=None), path=ckpt)
        else:
            fingerprints[name] = file_fingerprint(resolve_checkpoint(
                ckpt, f'model.teachers.{name}.ckpt', f'teacher {name!r}'))
    return fingerprints


def check_mismatch_mode(mode: Any) -> str:
    """``mode`` if it is a ``mismatch`` value of the provenance hook."""
    if mode not in MISMATCH_MODES:
        raise FEEDConfigError(
            f'{HOOK_KEY}.mismatch', f"must be 'error' or 'warn', got {mode!r}")
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
    """``name -> what differs`` (both paths and fingerprints) for the
    teachers whose ``recorded`` and ``configured`` fingerprints differ in
    content or that are on one side only; empty for the same teachers."""
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
    """Compare the teachers a checkpoint was trained with (its
    ``meta['feed_teachers']``; None: saved before teachers were recorded,
    a warning) against the configured ones, by content: with ``'error'`` a
    :class:`TeacherMismatchError` names every differing teacher, both paths
    and fingerprints and the override; ``'warn'`` logs that and returns the
    names (``checkpoint``: the file, for the message)."""
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
                      f"({HOOK_KEY}.mismatch='warn'): the rest of the run "
                      'learns from the configured teachers.'),
            logger='current', level=logging.WARNING)
        return list(differences)
    raise TeacherMismatchError(
        f'model.teachers.{next(iter(differences))}.ckpt',
        f'{message}. The checkpoint was not loaded. Point the config at '
        f"the original teacher file(s), or set {HOOK_KEY}.mismatch='warn' "
        f'(--cfg-options {HOOK_KEY}.mismatch=warn) to continue with the '
        'configured ones.')


def check_resumed_teachers(cfg: Config) -> None:
    """Refuse, before a runner is built (and writes its config and log into
    the work dir), to resume or load a FEED checkpoint trained with other
    teacher files than ``cfg`` configures: the hook's check, made before
    anything is written. Checkpoints without a record and
    ``mismatch='warn'`` are left to the hook."""
    model = cfg.get('model') or {}
    if not str(model.get('type', '')).endswith('FEEDDistill'):
        return
    hooks = cfg.get('default_hooks') or {}
    hook = hooks.get('teacher_provenance', {})
    if hook is None or check_mismatch_mode(
            hook.get('mismatch', 'error')) != 'error':
        return  # no provenance hook, or one that only warns
    checkpoint = cfg.get('load_from')
    if cfg.get('resume') and checkpoint is None:
        checkpoint = find_latest_checkpoint(cfg.work_dir)
    if checkpoint is None or not osp.isfile(checkpoint):
        return  # the runner reports a checkpoint it cannot find
    loaded = load_checkpoint(checkpoint, map_location='cpu')
    recorded = (loaded.get('meta') or {}).get(META_KEY)
    if recorded is None:
        return
    specs = parse_teachers(model.get('teachers'),
                           model.get('allow_random_teachers', False))
    check_teacher_record(
        recorded,
        teacher_fingerprints({n: s.ckpt for n, s in specs.items()}),
        'error', checkpoint)
