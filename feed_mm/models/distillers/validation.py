"""Build-time checks of :class:`FEEDDistiller` (module paths, recorders,
``loss_forward_mappings`` and the shapes they read), each raising a
:class:`~feed_mm.utils.FEEDConfigError` that names the config key at fault."""
import difflib
from dataclasses import dataclass
from inspect import Parameter, signature
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmrazor.models.task_modules import RecorderManager
from mmrazor.registry import MODELS

from feed_mm.utils import FEEDConfigError

# The recorder name reserved for the FEED maps, and the FEED terms' prefix.
FEED_RECORDER = 'feed_feature'
FEED_LOSS_PREFIX = 'loss_feed_'
# Recorders that observe module calls; the others patch methods or
# functions and may need the full ``mode='loss'`` forward.
MODULE_RECORDER_TYPES = ('ModuleOutputs', 'ModuleInputs')
RECORD_KEYS = ('recorder', 'from_student', 'from_teacher', 'record_idx',
               'data_idx', 'connector', 'connector_idx')
# What a loss or connector raises on arguments it cannot take.
CALL_ERRORS = (AssertionError, IndexError, KeyError, RuntimeError, TypeError,
               ValueError)


@dataclass
class FeatureLocation:
    """Where a FEED map is recorded (``source`` None: found by
    :func:`locate_feature_map`), and the config key that said so."""
    source: Optional[str]
    data_idx: Optional[int]
    type: str
    key: str


class StopForward(Exception):
    """Raised inside a teacher's forward once every module a loss reads has
    run: nothing after them is needed."""


def guard_dry_run(forward: Callable[[], Any], owner: str) -> Any:
    """Run a dry-run forward; its failure is reported as a bad
    ``input_shape`` (the dummy batch is the only input it had)."""
    try:
        return forward()
    except StopForward:
        raise
    except (RuntimeError, ValueError, AssertionError) as err:
        raise FEEDConfigError(
            'model.input_shape', f'the dry run of {owner} failed on a '
            f'dummy batch: {err}') from err


def locate_feature_map(model: nn.Module, inputs: torch.Tensor, owner: str,
                       key: str) -> str:
    """The module that computes ``model``'s last 4-D feature map before
    global pooling, found by a forward on ``inputs`` and logged: the last
    module to finish with a 4-D output (or a tuple ending with one), unless
    token maps (3-D outputs) follow it, as in a ViT that pools its tokens.
    """
    outputs: List[tuple] = []
    handles = [
        module.register_forward_hook(
            lambda _, args, out, name=name: outputs.append((name, out[-1] if (
                isinstance(out, (tuple, list)) and out) else out)))
        for name, module in model.named_modules() if name]
    was_training = model.training
    try:
        with torch.no_grad():  # in eval mode: norm statistics stay
            guard_dry_run(lambda: model.eval()(inputs, mode='tensor'), owner)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    found = None
    for name, out in outputs:
        # A 1x1 map is a pooled one (e.g. the output of AdaptiveAvgPool2d).
        if isinstance(out, torch.Tensor) and out.dim() in (3, 4) and \
                out.shape[2:].numel() > 1:
            found = (name, tuple(out.shape)) if out.dim() == 4 else None
    if found is None:
        raise FEEDConfigError(
            key, f'{owner} computes no spatial 4-D feature map before its '
            'global pooling: name a module whose output is one, or make the '
            'model keep its spatial map (a VisionTransformer: '
            "backbone.out_type='featmap')")
    print_log(f'FEED map of {owner}: {found[0]!r}, shape {found[1]}',
              logger='current')
    return found[0]


def suggest(name: str, candidates: Sequence[str]) -> str:
    """`` Did you mean ...?`` with the candidates close to ``name``."""
    close = difflib.get_close_matches(name, list(candidates), n=3)
    return f' Did you mean {", ".join(map(repr, close))}?' if close else ''


def as_dict(value: Any, key: str) -> Dict:
    """``value`` (a dict, or None for an empty one) as a dict."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FEEDConfigError(key, f'must be a dict, got {value!r}')
    return dict(value)


def parse_feature(spec: Any, key: str) -> FeatureLocation:
    """A feature location: ``'auto'``, ``'backbone.layer3'`` or
    ``dict(source=..., data_idx=None, type='ModuleOutputs'|'ModuleInputs')``.
    """
    if spec == 'auto':
        return FeatureLocation(None, None, 'ModuleOutputs', key)
    if isinstance(spec, str):
        spec = dict(source=spec)
    if not isinstance(spec, Mapping) or not isinstance(
            spec.get('source'), str):
        raise FEEDConfigError(
            key, "a feature location is 'auto', a module path string or "
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
    return FeatureLocation(spec['source'], data_idx, recorder_type, key)


def select_feature(record: Any, location: FeatureLocation,
                   owner: str) -> torch.Tensor:
    """The map in a FEED record: element ``data_idx`` (default: the last)
    of a tuple or list, or the tensor itself."""
    data_idx, source = location.data_idx, location.source
    if isinstance(record, (tuple, list)):
        data_idx = -1 if data_idx is None else data_idx
        if not -len(record) <= data_idx < len(record):
            raise FEEDConfigError(
                f'{location.key}.data_idx', f'data_idx={data_idx} is out of '
                f'range for the {len(record)} outputs of {source!r} of '
                f'{owner}')
        record = record[data_idx]
    elif data_idx is not None:
        raise FEEDConfigError(
            f'{location.key}.data_idx', f'data_idx={data_idx} is set but '
            f'{source!r} of {owner} returns one tensor')
    if not isinstance(record, torch.Tensor) or record.dim() < 2:
        raise FEEDConfigError(
            location.key, f'the feature {source!r} of {owner} is not a '
            f'feature map tensor (got {type(record).__name__})')
    return record


def check_module_source(model: nn.Module, source: str, key: str,
                        owner: str) -> None:
    """``source`` is a module path of ``model``."""
    names = [name for name, _ in model.named_modules()]
    if source not in names:
        raise FEEDConfigError(
            key, f'{source!r} is not a module of {owner}.' +
            suggest(source, names))


def check_recorder_cfgs(cfgs: Optional[Dict[str, Dict]],
                        key: str) -> Dict[str, Dict]:
    """Extra recorders ``name -> dict(type=..., source=...)``, none named
    like the FEED recorder."""
    cfgs = as_dict(cfgs, key)
    for name, cfg in cfgs.items():
        if name == FEED_RECORDER:
            raise FEEDConfigError(
                f'{key}.{name}', f'the recorder name {FEED_RECORDER!r} is '
                'reserved for the FEED features')
        if not isinstance(cfg, Mapping) or not {'type', 'source'} <= set(cfg):
            raise FEEDConfigError(
                f'{key}.{name}', 'a recorder is dict(type=..., '
                f'source=...), got {cfg!r}')
    return cfgs


def attach_recorders(model: nn.Module, owner: str, location: FeatureLocation,
                     extra: Dict[str, Dict],
                     recorders_key: str) -> RecorderManager:
    """The FEED recorder of ``location`` plus the ``extra`` recorders,
    attached to ``model`` once every module path is checked."""
    check_module_source(model, location.source, location.key, owner)
    for name, cfg in extra.items():
        if cfg['type'] in MODULE_RECORDER_TYPES:
            check_module_source(model, cfg['source'],
                                f'{recorders_key}.{name}.source', owner)
    # Built in MMRazor's scope, whatever the caller's default scope.
    cfgs = {name: dict(cfg, _scope_='mmrazor') for name, cfg in dict(
        extra, **{FEED_RECORDER: dict(type=location.type,
                                      source=location.source)}).items()}
    try:
        manager = RecorderManager(cfgs)
        manager.initialize(model)
    except (AssertionError, KeyError, TypeError, AttributeError,
            ImportError) as err:
        raise FEEDConfigError(recorders_key,
                              f'cannot attach to {owner}: {err}') from err
    return manager


def build_part(cfg: Any, key: str,
               arg_key: Optional[Callable[[str], str]] = None) -> nn.Module:
    """Build a connector, translator or loss in MMRazor's scope (unless its
    type names another). An error a feed_mm part raises about one of its
    arguments (``FEEDLoss.reduction``) is re-keyed to the config key that
    set it, ``arg_key(arg)`` (default ``key.arg``)."""
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, Mapping) or 'type' not in cfg:
        raise FEEDConfigError(key, f'expected a config dict with a type, '
                              f'got {cfg!r}')
    cfg = dict(cfg)
    if isinstance(cfg['type'], str) and '.' not in cfg['type']:
        cfg.setdefault('_scope_', 'mmrazor')
    part = cfg['type'] if isinstance(cfg['type'], str) else getattr(
        cfg['type'], '__name__', '')
    try:
        return MODELS.build(cfg)
    except FEEDConfigError as err:
        owner, _, arg = err.key.partition('.')
        if owner != part.rpartition('.')[2] or not arg or \
                err.message is None:
            raise
        raise FEEDConfigError((arg_key or (lambda a: f'{key}.{a}'))(arg),
                              err.message) from err
    except (AssertionError, KeyError, TypeError, ValueError) as err:
        # MMRazor's losses assert their arguments.
        raise FEEDConfigError(key, f'cannot build {cfg!r}: {err}') from err


def channel_args(cfg: Mapping, key: str) -> Sequence[str]:
    """The names of a translator's input and output channel arguments:
    feed_mm's and MMCV's ``in_channels``/``out_channels`` or MMRazor's
    connectors' ``in_channel``/``out_channel``; none for a translator
    without such arguments (nothing to infer)."""
    cls = cfg.get('type')
    if isinstance(cls, str):
        scope, _, name = cls.rpartition('.')
        cls = MODELS.get(cls if scope else f'mmrazor.{name}')
    if cls is None:
        raise FEEDConfigError(f'{key}.type',
                              f'{cfg.get("type")!r} is not a registered '
                              'connector')
    params = signature(cls).parameters
    for names in (('in_channels', 'out_channels'),
                  ('in_channel', 'out_channel')):
        if all(name in params for name in names):
            return names
    return ()


def check_extra_losses(distiller: Any, teachers: List[str]) -> None:
    """After the dry run: every extra loss has a mapping of its forward's
    arguments to records of known recorders and connectors, and computes on
    the dry run's records, so that a bad mapping, an index out of range or
    a loss that fails on its records (teacher logits of another number of
    classes) fails at build time. A loss whose records the dry run did not
    fill (method or function recorders of a ``loss`` forward) is left to
    training."""
    key = 'model.distiller.loss_forward_mappings'
    losses = distiller.distill_losses
    for name in sorted(set(losses) - set(distiller.loss_forward_mappings)):
        raise FEEDConfigError(f'{key}.{name}', f'the distill loss {name!r} '
                              'has no forward mapping')
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
        any_kwarg = any(p.kind is Parameter.VAR_KEYWORD
                        for p in params.values())
        kwargs: Optional[Dict[str, Any]] = {}
        described = []
        for arg, record in mappings.items():
            if arg not in params and not any_kwarg:
                raise FEEDConfigError(
                    f'{loss_key}.{arg}', f'{loss_type}.forward has no '
                    f'argument {arg!r} (arguments: {", ".join(params)})')
            data = read_record(distiller, record, f'{loss_key}.{arg}',
                               teachers)
            if data is None or kwargs is None:
                kwargs = None
                continue
            kwargs[arg] = data
            shape = (tuple(data.shape) if isinstance(data, torch.Tensor) else
                     type(data).__name__)
            who = ('student' if record['from_student'] else 'teacher ' +
                   repr(distiller.resolve_teacher(record.get('from_teacher'))))
            described.append(f'{arg} = {who} record {record["recorder"]!r} '
                             f'of shape {shape}')
        for arg, param in params.items():
            if param.default is Parameter.empty and param.kind in (
                    Parameter.POSITIONAL_OR_KEYWORD,
                    Parameter.KEYWORD_ONLY) and arg not in mappings:
                raise FEEDConfigError(
                    f'{loss_key}.{arg}', 'required argument of '
                    f'{loss_type}.forward has no mapping')
        if kwargs is None:
            continue
        try:
            with torch.no_grad():
                losses[loss_name](**kwargs)
        except CALL_ERRORS as err:
            raise FEEDConfigError(
                f'model.distiller.distill_losses.{loss_name}',
                'fails on the records of the dry run ('
                f'{"; ".join(described)}): {err}') from err


def read_record(distiller: Any, record: Any, key: str,
                teachers: List[str]) -> Any:
    """What a record of ``loss_forward_mappings`` reads from the dry run
    (None when its recorder recorded nothing), once its keys, model,
    recorder, connector and indices are checked."""
    if not isinstance(record, Mapping):
        raise FEEDConfigError(key, f'a record is a dict, got {record!r}')
    for name in sorted(set(record) - set(RECORD_KEYS)):
        raise FEEDConfigError(
            f'{key}.{name}', f'unknown record key (allowed: '
            f'{", ".join(RECORD_KEYS)}).' + suggest(name, RECORD_KEYS))
    for required in ('recorder', 'from_student'):
        if required not in record:
            raise FEEDConfigError(f'{key}.{required}', 'is required')
    if not isinstance(record['from_student'], bool):
        raise FEEDConfigError(f'{key}.from_student', f'must be a bool, got '
                              f'{record["from_student"]!r}')
    teacher = record.get('from_teacher')
    if record['from_student']:
        if teacher is not None:
            raise FEEDConfigError(
                f'{key}.from_teacher',
                'is set but from_student=True reads the student')
        manager, owner = distiller.student_recorders, 'student_recorders'
    else:
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
    name = record['recorder']
    if name not in manager.recorders:
        known = [n for n in manager.recorders if n != FEED_RECORDER]
        raise FEEDConfigError(
            f'{key}.recorder', f'{name!r} is not in {owner} (recorders: '
            f'{", ".join(known) or "none"}).' + suggest(name, known))
    connector = record.get('connector')
    if connector is not None and connector not in distiller.connectors:
        raise FEEDConfigError(
            f'{key}.connector', f'{connector!r} is not in connectors.' +
            suggest(connector, list(distiller.connectors)))
    buffer = manager.get_recorder(name).data_buffer
    if not buffer:
        return None
    owner = 'student' if record['from_student'] else f'teacher {teacher!r}'
    index = record.get('record_idx', 0)
    if isinstance(index, bool) or not isinstance(index, int) \
            or not -len(buffer) <= index < len(buffer):
        raise FEEDConfigError(
            f'{key}.record_idx', f'is {index!r}, but the {owner} records '
            f'{name!r} {len(buffer)} time(s) per forward')
    data, data_idx = buffer[index], record.get('data_idx')
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
    except CALL_ERRORS as err:  # connector, connector_idx
        raise FEEDConfigError(
            key, f'cannot read the {owner} record {name!r}: {err}') from err
