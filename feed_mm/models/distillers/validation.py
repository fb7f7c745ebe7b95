"""Build-time checks of :class:`FEEDDistiller`'s configuration: feature
locations, recorder configs, ``loss_forward_mappings`` and their records,
with "did you mean" suggestions. Each raises a
:class:`~feed_mm.utils.FEEDConfigError` naming the config key at fault, so
that a mistake fails when the model is built, not at the first iteration.
"""
import difflib
from inspect import Parameter, signature
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import torch
import torch.nn as nn

from feed_mm.utils import FEEDConfigError

# Recorder name that the distiller reserves for the FEED feature maps.
FEED_RECORDER = 'feed_feature'
FEED_LOSS_PREFIX = 'loss_feed_'
# Recorders that observe module calls; the others patch methods or
# functions and may need the full ``mode='loss'`` forward.
MODULE_RECORDER_TYPES = ('ModuleOutputs', 'ModuleInputs')
RECORD_KEYS = ('recorder', 'from_student', 'from_teacher', 'record_idx',
               'data_idx', 'connector', 'connector_idx')
# What a loss or connector raises on arguments it cannot take.
_CALL_ERRORS = (AssertionError, IndexError, KeyError, RuntimeError, TypeError,
                ValueError)


def suggest(name: str, candidates: Sequence[str]) -> str:
    """`` Did you mean ...?`` with the candidates close to ``name``, or
    an empty string."""
    close = difflib.get_close_matches(name, list(candidates), n=3)
    return f' Did you mean {", ".join(map(repr, close))}?' if close else ''


def as_dict(value: Any, key: str) -> Dict:
    """``value`` (a dict, or None for an empty one) as a dict; raises a
    FEEDConfigError naming ``key`` for anything else."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FEEDConfigError(key, f'must be a dict, got {value!r}')
    return dict(value)


def parse_feature_spec(spec: Any, key: str) -> Dict[str, Any]:
    """Normalise a feature location: ``'backbone.layer3'`` or
    ``dict(source='backbone', data_idx=-1)``.

    ``data_idx`` selects an element when the module returns a tuple or list
    (mmpretrain backbones return a tuple of stage outputs); when it is not
    given, the last element is used, i.e. the deepest recorded stage.
    """
    if isinstance(spec, str):
        spec = dict(source=spec)
    if not isinstance(spec, Mapping) or not isinstance(
            spec.get('source'), str):
        raise FEEDConfigError(
            key, 'a feature location is a module path string or '
            f"dict(source='module.path', data_idx=None), got {spec!r}")
    unknown = set(spec) - {'source', 'data_idx', 'type'}
    if unknown:
        raise FEEDConfigError(
            f'{key}.{sorted(unknown)[0]}',
            'unknown key of a feature location (allowed: source, data_idx, '
            "type='ModuleOutputs'|'ModuleInputs')")
    recorder_type = spec.get('type', 'ModuleOutputs')
    if recorder_type not in MODULE_RECORDER_TYPES:
        raise FEEDConfigError(
            f'{key}.type',
            f'must be one of {MODULE_RECORDER_TYPES}, got {recorder_type!r}')
    data_idx = spec.get('data_idx')
    if data_idx is not None and (isinstance(data_idx, bool)
                                 or not isinstance(data_idx, int)):
        raise FEEDConfigError(f'{key}.data_idx',
                              f'must be an int or None, got {data_idx!r}')
    return dict(
        source=spec['source'],
        data_idx=spec.get('data_idx'),
        type=recorder_type)


def select_feature(record: Any, data_idx: Optional[int], key: str,
                   source: str, owner: str) -> torch.Tensor:
    """The feature map in a FEED recorder's ``record``: element
    ``data_idx`` (default: the last) of a tuple or list output, or the
    tensor itself; raises when it is not a feature map."""
    if isinstance(record, (tuple, list)):
        if data_idx is None:
            data_idx = -1
        if not -len(record) <= data_idx < len(record):
            raise FEEDConfigError(
                f'{key}.data_idx', f'data_idx={data_idx} is out of range '
                f'for the {len(record)} outputs of {source!r} of {owner}')
        record = record[data_idx]
    elif data_idx is not None:
        raise FEEDConfigError(
            f'{key}.data_idx', f'data_idx={data_idx} is set but '
            f'{source!r} of {owner} returns one tensor')
    if not isinstance(record, torch.Tensor) or record.dim() < 2:
        raise FEEDConfigError(
            key, f'the feature {source!r} of {owner} is not a '
            f'feature map tensor (got {type(record).__name__})')
    return record


def check_module_source(model: nn.Module, source: str, key: str,
                        owner: str) -> None:
    """Raise a FEEDConfigError naming ``key`` when ``source`` is not a
    module path of ``model``."""
    names = [name for name, _ in model.named_modules()]
    if source not in names:
        raise FEEDConfigError(
            key, f'{source!r} is not a module of {owner}.' +
            suggest(source, names))


def check_recorder_cfgs(cfgs: Optional[Dict[str, Dict]],
                        key: str) -> Dict[str, Dict]:
    """Extra recorder configs ``name -> dict(type=..., source=...)``, none
    named like the FEED recorder."""
    cfgs = as_dict(cfgs, key)
    for name, cfg in cfgs.items():
        if name == FEED_RECORDER:
            raise FEEDConfigError(
                f'{key}.{name}',
                f'the recorder name {FEED_RECORDER!r} is reserved for '
                'the FEED features')
        if not isinstance(cfg, Mapping) or 'type' not in cfg or \
                'source' not in cfg:
            raise FEEDConfigError(
                f'{key}.{name}', 'a recorder is dict(type=..., '
                f'source=...), got {cfg!r}')
    return cfgs


def check_teacher_names(configured: Sequence[str],
                        teachers: Sequence[str]) -> None:
    """Every teacher of ``teacher_recorders`` is one of ``teachers``."""
    unknown = set(configured) - set(teachers)
    if unknown:
        name = sorted(unknown)[0]
        raise FEEDConfigError(
            f'model.distiller.teacher_recorders.{name}',
            f'unknown teacher {name!r} (teachers: '
            f'{", ".join(teachers)}).' + suggest(name, list(teachers)))


def own_argument(err: FEEDConfigError, cfg: Mapping) -> Optional[str]:
    """The argument that a feed_mm part built from ``cfg`` names in its
    error (``FEEDLoss.reduction`` -> ``'reduction'``), or None."""
    part = cfg['type'] if isinstance(cfg['type'], str) else getattr(
        cfg['type'], '__name__', '')
    owner, _, arg = err.key.partition('.')
    if owner != part.rpartition('.')[2] or not arg or err.message is None:
        return None
    return arg


def option_key(arg: Optional[str], override: Mapping, teacher_key: str,
               section: str) -> str:
    """The config key that set ``arg`` of a teacher's ``translator`` or
    ``feed_loss``: the teacher's own option, else the distiller's default.
    Without ``arg``, the key of the section that configures the part."""
    if arg is None:
        return (f'{teacher_key}.{section}'
                if override else f'model.distiller.{section}')
    if arg in override:
        return f'{teacher_key}.{section}.{arg}'
    return f'model.distiller.{section}.{arg}'


def check_feed_pair(translator: nn.Module, loss: nn.Module, name: str,
                    student_shape: torch.Size, teacher_shape: torch.Size,
                    loss_cfg: Mapping,
                    loss_key: Callable[[Optional[str]], str]) -> None:
    """Translate a dummy student map and align it with the teacher's, so
    that maps the FEED loss cannot compare (e.g. spatial sizes that differ
    under ``spatial_mismatch='error'``) fail at build time rather than at
    the first iteration."""
    if not hasattr(loss, 'align'):
        return
    was_training = translator.training
    # Eval mode: the dummy batch must not move norm statistics.
    translator.eval()
    try:
        with torch.no_grad():
            translated = translator(torch.zeros(student_shape))
    finally:
        translator.train(was_training)
    try:
        loss.align(translated, torch.zeros(teacher_shape), name)
    except FEEDConfigError as err:
        arg = own_argument(err, loss_cfg)
        raise FEEDConfigError(
            loss_key(arg) if arg else f'model.teachers.{name}.translator',
            err.message) from err


# ----------------------------------------------------------------------
# loss_forward_mappings: first their keys and records against the
# recorders (check_loss_forward_mappings), then, after the dry run, the
# losses on what the records hold (check_distill_losses).
def record_owner(record: Mapping) -> str:
    if record['from_student']:
        return 'student'
    teacher = record.get('from_teacher')
    return 'teacher' if teacher is None else f'teacher {teacher!r}'


def check_loss_forward_mappings(distiller: Any, teachers: List[str]) -> None:
    """Every extra loss has a mapping of its forward's arguments to valid
    records, and every mapping a loss."""
    key = 'model.distiller.loss_forward_mappings'
    losses = distiller.distill_losses
    missing = set(losses) - set(distiller.loss_forward_mappings)
    if missing:
        name = sorted(missing)[0]
        raise FEEDConfigError(
            f'{key}.{name}', f'the distill loss {name!r} has no forward '
            'mapping')
    for loss_name, mappings in distiller.loss_forward_mappings.items():
        loss_key = f'{key}.{loss_name}'
        if loss_name not in losses:
            raise FEEDConfigError(
                loss_key, f'{loss_name!r} is not in distill_losses.' +
                suggest(loss_name, list(losses)))
        if not isinstance(mappings, Mapping):
            raise FEEDConfigError(loss_key, 'must be a dict of forward '
                                  f'argument -> record, got {mappings!r}')
        loss_type = type(losses[loss_name]).__name__
        params = signature(losses[loss_name].forward).parameters
        any_kwarg = any(param.kind is Parameter.VAR_KEYWORD
                        for param in params.values())
        for arg, record in mappings.items():
            arg_key = f'{loss_key}.{arg}'
            if arg not in params and not any_kwarg:
                raise FEEDConfigError(
                    arg_key, f'{loss_type}.forward has no argument {arg!r} '
                    f'(arguments: {", ".join(params)})')
            check_record(distiller, record, arg_key, teachers)
        required = [
            name for name, param in params.items()
            if param.default is Parameter.empty and param.kind in (
                Parameter.POSITIONAL_OR_KEYWORD, Parameter.KEYWORD_ONLY)
        ]
        for arg in required:
            if arg not in mappings:
                raise FEEDConfigError(
                    f'{loss_key}.{arg}', 'required argument of '
                    f'{loss_type}.forward has no mapping')


def check_record(distiller: Any, record: Any, key: str,
                 teachers: List[str]) -> None:
    """A record of ``loss_forward_mappings`` names known keys, a recorder
    of its model and a known connector."""
    if not isinstance(record, Mapping):
        raise FEEDConfigError(key, f'a record is a dict, got {record!r}')
    unknown = set(record) - set(RECORD_KEYS)
    if unknown:
        name = sorted(unknown)[0]
        raise FEEDConfigError(
            f'{key}.{name}', f'unknown record key (allowed: '
            f'{", ".join(RECORD_KEYS)}).' + suggest(name, RECORD_KEYS))
    for required in ('recorder', 'from_student'):
        if required not in record:
            raise FEEDConfigError(f'{key}.{required}', 'is required')
    if not isinstance(record['from_student'], bool):
        raise FEEDConfigError(f'{key}.from_student',
                              f'must be a bool, got '
                              f'{record["from_student"]!r}')
    if record['from_student']:
        if record.get('from_teacher') is not None:
            raise FEEDConfigError(
                f'{key}.from_teacher',
                'is set but from_student=True reads the student')
        manager, owner = distiller.student_recorders, 'student_recorders'
    else:
        teacher = record.get('from_teacher')
        if teacher is None and len(teachers) > 1:
            raise FEEDConfigError(
                f'{key}.from_teacher', 'is required with several '
                f'teachers (teachers: {", ".join(teachers)})')
        teacher = distiller.resolve_teacher(teacher)
        if teacher not in distiller.teacher_recorders:
            raise FEEDConfigError(
                f'{key}.from_teacher',
                f'unknown teacher {teacher!r} (teachers: '
                f'{", ".join(teachers)}).' + suggest(teacher, teachers))
        manager = distiller.teacher_recorders[teacher]
        owner = f'teacher_recorders.{teacher}'
    if record['recorder'] not in manager.recorders:
        known = [n for n in manager.recorders if n != FEED_RECORDER]
        raise FEEDConfigError(
            f'{key}.recorder', f'{record["recorder"]!r} is not in '
            f'{owner} (recorders: {", ".join(known) or "none"}).' +
            suggest(record['recorder'], known))
    connector = record.get('connector')
    if connector is not None and connector not in distiller.connectors:
        raise FEEDConfigError(
            f'{key}.connector', f'{connector!r} is not in connectors.' +
            suggest(connector, list(distiller.connectors)))


def check_distill_losses(distiller: Any) -> None:
    """Compute every extra loss once on the records of the dry run.

    A record that a mapping cannot read (``record_idx`` or ``data_idx``
    out of range) or a loss that fails on its records (e.g. teacher
    logits of another number of classes than the student's) raises a
    FEEDConfigError at build time instead of failing the first
    iteration. A loss whose records the dry run did not fill (method or
    function recorders that only a ``loss`` forward triggers) is left to
    training.
    """
    key = 'model.distiller.loss_forward_mappings'
    for loss_name, mappings in distiller.loss_forward_mappings.items():
        kwargs, described = {}, []
        for arg, record in mappings.items():
            data = _dry_run_record(distiller, record,
                                   f'{key}.{loss_name}.{arg}')
            if data is None:
                break
            kwargs[arg] = data
            shape = (tuple(data.shape) if isinstance(data, torch.Tensor) else
                     type(data).__name__)
            described.append(f'{arg} = {record_owner(record)} record '
                             f'{record["recorder"]!r} of shape {shape}')
        else:
            try:
                with torch.no_grad():
                    distiller.distill_losses[loss_name](**kwargs)
            except _CALL_ERRORS as err:
                raise FEEDConfigError(
                    f'model.distiller.distill_losses.{loss_name}',
                    'fails on the records of the dry run ('
                    f'{"; ".join(described)}): {err}') from err


def _dry_run_record(distiller: Any, record: Mapping, key: str) -> Any:
    """What ``record`` reads from the dry run's records, or None when its
    recorder recorded nothing."""
    owner = record_owner(record)
    manager = (
        distiller.student_recorders if record['from_student'] else
        distiller.teacher_recorders[distiller.resolve_teacher(
            record.get('from_teacher'))])
    name = record['recorder']
    buffer = manager.get_recorder(name).data_buffer
    if not buffer:
        return None
    record_idx = record.get('record_idx', 0)
    if (isinstance(record_idx, bool) or not isinstance(record_idx, int)
            or not -len(buffer) <= record_idx < len(buffer)):
        raise FEEDConfigError(
            f'{key}.record_idx', f'is {record_idx!r}, but the {owner} '
            f'records {name!r} {len(buffer)} time(s) per forward')
    data = buffer[record_idx]
    data_idx = record.get('data_idx')
    if data_idx is not None and not isinstance(data, (tuple, list)):
        raise FEEDConfigError(
            f'{key}.data_idx', f'is {data_idx!r}, but the {owner} record '
            f'{name!r} is one {type(data).__name__}, not a tuple or list')
    if data_idx is not None and (
            isinstance(data_idx, bool) or not isinstance(data_idx, int)
            or not -len(data) <= data_idx < len(data)):
        raise FEEDConfigError(
            f'{key}.data_idx', f'is {data_idx!r}, but the {owner} record '
            f'{name!r} holds {len(data)} items')
    try:
        return distiller.get_record(**record)
    except _CALL_ERRORS as err:  # connector, connector_idx
        raise FEEDConfigError(
            key, f'cannot read the {owner} record {name!r}: {err}') from err
