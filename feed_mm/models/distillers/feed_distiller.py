import copy
import difflib
from functools import partial
from inspect import Parameter, signature
from typing import (Any, Callable, Dict, List, Mapping, Optional, Sequence,
                    Union)

import torch
import torch.nn as nn
from mmrazor.models.distillers.base_distiller import BaseDistiller
from mmrazor.models.task_modules import (ModuleInputsRecorder,
                                         ModuleOutputsRecorder,
                                         RecorderManager)
from mmrazor.registry import MODELS

from feed_mm.utils import FEEDConfigError, loss_weight_value

FeatureSpec = Union[str, Dict[str, Any]]

# Recorder name that the distiller reserves for the FEED feature maps.
FEED_RECORDER = 'feed_feature'
FEED_LOSS_PREFIX = 'loss_feed_'
# Recorders that observe module calls; the others patch methods or
# functions and may need the full ``mode='loss'`` forward.
MODULE_RECORDER_TYPES = ('ModuleOutputs', 'ModuleInputs')
_RECORD_KEYS = ('recorder', 'from_student', 'from_teacher', 'record_idx',
                'data_idx', 'connector', 'connector_idx')


def _suggest(name: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3)
    return f' Did you mean {", ".join(map(repr, close))}?' if close else ''


def parse_feature_spec(spec: FeatureSpec, key: str) -> Dict[str, Any]:
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


def check_module_source(model: nn.Module, source: str, key: str,
                        owner: str) -> None:
    """Raise a FEEDConfigError naming ``key`` when ``source`` is not a
    module path of ``model``."""
    names = [name for name, _ in model.named_modules()]
    if source not in names:
        raise FEEDConfigError(
            key, f'{source!r} is not a module of {owner}.' +
            _suggest(source, names))


def in_razor_scope(cfg: Mapping) -> Dict:
    """A copy of ``cfg`` built in MMRazor's scope unless it names another
    (``'scope.Type'`` or ``_scope_``): the distiller's parts must resolve
    the same under whatever default scope the caller runs (a runner of an
    mmpretrain config may have set it)."""
    cfg = dict(cfg)
    if isinstance(cfg.get('type'), str) and '.' not in cfg['type']:
        cfg.setdefault('_scope_', 'mmrazor')
    return cfg


def _merge(base: Optional[Dict], override: Optional[Dict]) -> Dict:
    merged = copy.deepcopy(dict(base or {}))
    merged.update(copy.deepcopy(dict(override or {})))
    return merged


def _as_dict(value: Any, key: str) -> Dict:
    """``value`` (a dict, or None for an empty one) as a dict; raises a
    FEEDConfigError naming ``key`` for anything else."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FEEDConfigError(key, f'must be a dict, got {value!r}')
    return dict(value)


def _own_argument(err: FEEDConfigError, cfg: Mapping) -> Optional[str]:
    """The argument that a feed_mm part built from ``cfg`` names in its
    error (``FEEDLoss.reduction`` -> ``'reduction'``), or None."""
    part = cfg['type'] if isinstance(cfg['type'], str) else getattr(
        cfg['type'], '__name__', '')
    owner, _, arg = err.key.partition('.')
    if owner != part.rpartition('.')[2] or not arg or err.message is None:
        return None
    return arg


def _record_owner(record: Mapping) -> str:
    if record['from_student']:
        return 'student'
    teacher = record.get('from_teacher')
    return 'teacher' if teacher is None else f'teacher {teacher!r}'


def _option_key(arg: Optional[str], override: Mapping, teacher_key: str,
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


@MODELS.register_module()
class FEEDDistiller(BaseDistiller):
    """Distiller of FEED: student and per-teacher recorders, one translator
    and one FEED loss term per teacher, plus any other MMRazor losses.

    The FEED part needs no hand-written mappings: given the student's
    feature location and the teachers' (``teacher_feature``, or a teacher's
    own ``feature`` option in :class:`FEEDDistill`), :meth:`build_feed`
    builds, per teacher ``name``, a translator ``translators[name]`` whose
    channels are inferred from a dry run, and a loss term logged as
    ``loss_feed_{name}``. The terms are combined as in the paper,
    ``beta * sum_n w_n * L_n`` (``w_n`` = 1 unless a teacher sets
    ``loss_weight``), or averaged over teachers with
    ``teacher_reduction='mean'``.

    Other MMRazor losses live beside FEED in the same distiller, as in
    MMRazor's ``ConfigurableDistiller``; a record read from a teacher names
    it with ``from_teacher``::

        teacher_recorders=dict(
            t0=dict(logits=dict(type='ModuleOutputs', source='head.fc'))),
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_kd=dict(type='KLDivergence', tau=4, loss_weight=1)),
        loss_forward_mappings=dict(loss_kd=dict(
            preds_S=dict(recorder='logits', from_student=True),
            preds_T=dict(recorder='logits', from_student=False,
                         from_teacher='t0')))

    ``from_teacher`` may be left out when there is one teacher.

    Args:
        student_feature (str | dict): The student's feature location shared
            by all translators: a module path, or ``dict(source=...,
            data_idx=...)``. Defaults to ``'backbone'`` (the output of the
            last stage that the backbone returns, before global pooling).
        teacher_feature (str | dict): Default feature location of every
            teacher. Defaults to ``'backbone'``.
        translator (dict): Config of the translator built per teacher;
            ``in_channels``/``out_channels`` are inferred (explicit values are
            checked). Defaults to ``dict(type='FEEDTranslator')``.
        feed_loss (dict): Config of the per-teacher FEED loss. Defaults to
            ``dict(type='FEEDLoss', loss_weight=500.0)``, Factor Transfer's
            beta for the ``mean`` reduction.
        teacher_reduction (str): ``'sum'`` (the paper) or ``'mean'`` over
            teachers. Defaults to ``'sum'``.
        student_recorders (dict, optional): Extra MMRazor recorders of the
            student.
        teacher_recorders (dict, optional): Extra recorders per teacher:
            ``{teacher_name: {recorder_name: recorder_cfg}}``.
        connectors (dict, optional): Extra connectors, as in
            ``ConfigurableDistiller``.
        distill_losses (dict, optional): Extra losses, as in
            ``ConfigurableDistiller`` (names containing ``loss`` are
            optimised).
        loss_forward_mappings (dict, optional): Mappings of the extra losses'
            forward arguments to records; a record is ``dict(recorder=...,
            from_student=bool, from_teacher=name, record_idx=0,
            data_idx=None, connector=None, connector_idx=None)``.
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self,
                 student_feature: FeatureSpec = 'backbone',
                 teacher_feature: FeatureSpec = 'backbone',
                 translator: Dict = dict(type='FEEDTranslator'),
                 feed_loss: Dict = dict(type='FEEDLoss', loss_weight=500.0),
                 teacher_reduction: str = 'sum',
                 student_recorders: Optional[Dict[str, Dict]] = None,
                 teacher_recorders: Optional[Dict[str, Dict]] = None,
                 connectors: Optional[Dict[str, Dict]] = None,
                 distill_losses: Optional[Dict[str, Dict]] = None,
                 loss_forward_mappings: Optional[Dict[str, Dict]] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg)
        key = 'model.distiller'
        if teacher_reduction not in ('sum', 'mean'):
            raise FEEDConfigError(
                f'{key}.teacher_reduction',
                f"must be 'sum' or 'mean', got {teacher_reduction!r}")
        self.student_feature = parse_feature_spec(student_feature,
                                                  f'{key}.student_feature')
        self.teacher_feature = parse_feature_spec(teacher_feature,
                                                  f'{key}.teacher_feature')
        self.translator_cfg = _as_dict(translator, f'{key}.translator')
        self.feed_loss_cfg = _as_dict(feed_loss, f'{key}.feed_loss')
        self.teacher_reduction = teacher_reduction

        self._student_recorder_cfgs = self._check_recorder_cfgs(
            student_recorders, f'{key}.student_recorders')
        self._teacher_recorder_cfgs = {
            name: self._check_recorder_cfgs(
                cfgs, f'{key}.teacher_recorders.{name}')
            for name, cfgs in _as_dict(teacher_recorders,
                                       f'{key}.teacher_recorders').items()
        }
        self.connectors = nn.ModuleDict({
            name: self._build(cfg, f'{key}.connectors.{name}')
            for name, cfg in _as_dict(connectors,
                                      f'{key}.connectors').items()
        })
        self.distill_losses = nn.ModuleDict({
            name: self._build(cfg, f'{key}.distill_losses.{name}')
            for name, cfg in _as_dict(distill_losses,
                                      f'{key}.distill_losses').items()
        })
        for name in self.distill_losses:
            if name.startswith(FEED_LOSS_PREFIX):
                raise FEEDConfigError(
                    f'{key}.distill_losses.{name}',
                    f'names starting with {FEED_LOSS_PREFIX!r} are reserved '
                    'for the FEED terms')
        self.loss_forward_mappings = _as_dict(
            loss_forward_mappings, f'{key}.loss_forward_mappings')

        # Filled by build_feed(), once the teachers are known.
        self.student_recorders = RecorderManager(None)
        self.teacher_recorders: Dict[str, RecorderManager] = {}
        self.translators = nn.ModuleDict()
        self.feed_losses = nn.ModuleDict()
        self._feed_scales: Dict[str, float] = {}
        self._feature_specs: Dict[Optional[str], Dict[str, Any]] = {}
        # The config key of each feature location, for error messages.
        self._feature_keys: Dict[Optional[str], str] = {}

    @staticmethod
    def _build(cfg: Any,
               key: str,
               arg_key: Optional[Callable[[str], str]] = None) -> nn.Module:
        """Build a part from its config; ``arg_key`` maps an argument of
        the part to the config key that set it (default ``key.arg``)."""
        if isinstance(cfg, nn.Module):
            return cfg
        if not isinstance(cfg, Mapping) or 'type' not in cfg:
            raise FEEDConfigError(key, f'expected a config dict with a type, '
                                  f'got {cfg!r}')
        try:
            return MODELS.build(in_razor_scope(cfg))
        except FEEDConfigError as err:
            arg = _own_argument(err, cfg)
            if arg is None:
                raise
            raise FEEDConfigError(
                arg_key(arg) if arg_key else f'{key}.{arg}',
                err.message) from err
        except (AssertionError, KeyError, TypeError, ValueError) as err:
            # MMRazor's losses assert their arguments.
            raise FEEDConfigError(key, f'cannot build {cfg!r}: {err}') from err

    @staticmethod
    def _check_recorder_cfgs(cfgs: Optional[Dict[str, Dict]],
                             key: str) -> Dict[str, Dict]:
        cfgs = _as_dict(cfgs, key)
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

    # ------------------------------------------------------------------
    # Building, once the student and the teachers exist.
    def build_recorders(self, student: nn.Module,
                        teachers: Mapping[str, nn.Module],
                        teacher_features: Mapping[str, Optional[FeatureSpec]]
                        ) -> None:
        """Create and attach the recorders of the student and each teacher.

        Args:
            student (nn.Module): The student model.
            teachers (Mapping[str, nn.Module]): Teachers by name.
            teacher_features (Mapping[str, str | dict | None]): Per-teacher
                feature location overriding ``teacher_feature``.
        """
        unknown = set(self._teacher_recorder_cfgs) - set(teachers)
        if unknown:
            name = sorted(unknown)[0]
            raise FEEDConfigError(
                f'model.distiller.teacher_recorders.{name}',
                f'unknown teacher {name!r} (teachers: '
                f'{", ".join(teachers)}).' + _suggest(name, list(teachers)))

        self._feature_specs[None] = self.student_feature
        self._feature_keys[None] = 'model.distiller.student_feature'
        self.student_recorders = self._attach_recorders(
            student, 'the student', self.student_feature,
            self._student_recorder_cfgs, 'model.distiller.student_feature',
            'model.distiller.student_recorders')
        self.teacher_recorders = {}
        for name, teacher in teachers.items():
            override = teacher_features.get(name)
            feature_key = (f'model.teachers.{name}.feature' if override
                           is not None else 'model.distiller.teacher_feature')
            spec = (parse_feature_spec(override, feature_key)
                    if override is not None else self.teacher_feature)
            self._feature_specs[name] = spec
            self._feature_keys[name] = feature_key
            self.teacher_recorders[name] = self._attach_recorders(
                teacher, f'teacher {name!r}', spec,
                self._teacher_recorder_cfgs.get(name, {}), feature_key,
                f'model.distiller.teacher_recorders.{name}')
        self._check_loss_forward_mappings(list(teachers))

    @staticmethod
    def _attach_recorders(model: nn.Module, owner: str,
                          feature: Dict[str, Any], extra: Dict[str, Dict],
                          feature_key: str,
                          recorders_key: str) -> RecorderManager:
        check_module_source(model, feature['source'], feature_key, owner)
        for name, cfg in extra.items():
            if cfg['type'] in MODULE_RECORDER_TYPES:
                check_module_source(model, cfg['source'],
                                    f'{recorders_key}.{name}.source', owner)
        cfgs = dict(extra)
        cfgs[FEED_RECORDER] = dict(
            type=feature['type'], source=feature['source'])
        try:
            manager = RecorderManager(cfgs)
            manager.initialize(model)
        except (AssertionError, KeyError, TypeError,
                AttributeError, ImportError) as err:
            raise FEEDConfigError(recorders_key,
                                  f'cannot attach to {owner}: {err}') from err
        return manager

    def module_sources(self,
                       teacher: str,
                       outputs_only: bool = False) -> Optional[List[str]]:
        """Module paths recorded on ``teacher``, or None when one of its
        recorders is not a module recorder (then the teacher must run its
        full ``loss`` forward), or, with ``outputs_only``, not a module
        outputs recorder."""
        sources = []
        for recorder in self.teacher_recorders[teacher].recorders.values():
            # ModuleInputsRecorder derives from ModuleOutputsRecorder.
            if not isinstance(recorder, ModuleOutputsRecorder) or (
                    outputs_only
                    and isinstance(recorder, ModuleInputsRecorder)):
                return None
            sources.append(recorder.source)
        return sources

    def feed_feature(self, teacher: Optional[str] = None) -> torch.Tensor:
        """The recorded FEED feature map of ``teacher`` (None: the
        student)."""
        manager = (self.student_recorders
                   if teacher is None else self.teacher_recorders[teacher])
        recorder = manager.get_recorder(FEED_RECORDER)
        owner = 'the student' if teacher is None else f'teacher {teacher!r}'
        key = self._feature_keys[teacher]
        if not recorder.data_buffer:
            raise FEEDConfigError(
                key, f'the feature {recorder.source!r} of {owner} was not '
                'computed by its forward')
        record = recorder.data_buffer[0]
        data_idx = self._feature_specs[teacher]['data_idx']
        if isinstance(record, (tuple, list)):
            if data_idx is None:
                data_idx = -1
            if not -len(record) <= data_idx < len(record):
                raise FEEDConfigError(
                    f'{key}.data_idx', f'data_idx={data_idx} is out of range '
                    f'for the {len(record)} outputs of {recorder.source!r} '
                    f'of {owner}')
            record = record[data_idx]
        elif data_idx is not None:
            raise FEEDConfigError(
                f'{key}.data_idx', f'data_idx={data_idx} is set but '
                f'{recorder.source!r} of {owner} returns one tensor')
        if not isinstance(record, torch.Tensor) or record.dim() < 2:
            raise FEEDConfigError(
                key, f'the feature {recorder.source!r} of {owner} is not a '
                f'feature map tensor (got {type(record).__name__})')
        return record

    def build_feed(self, student_shape: torch.Size,
                   teacher_shapes: Mapping[str, torch.Size],
                   teacher_options: Mapping[str, Mapping[str, Any]]) -> None:
        """Build one translator and one FEED loss per teacher.

        Args:
            student_shape (torch.Size): Shape of the student's feature map
                from the dry run.
            teacher_shapes (Mapping[str, torch.Size]): Shape of each
                teacher's feature map from the dry run.
            teacher_options (Mapping[str, Mapping]): Per-teacher
                ``translator`` and ``feed_loss`` overrides and
                ``loss_weight``.
        """
        if len(student_shape) != 4:
            raise FEEDConfigError(
                'model.distiller.student_feature',
                f'FEED translates 4-D feature maps (N, C, H, W); the student '
                f'feature {self.student_feature["source"]!r} has shape '
                f'{tuple(student_shape)}')
        num_teachers = len(teacher_shapes)
        for name, t_shape in teacher_shapes.items():
            options = teacher_options.get(name, {})
            key = f'model.teachers.{name}'
            if len(t_shape) != 4:
                raise FEEDConfigError(
                    self._feature_keys[name], f'FEED needs a 4-D feature map '
                    f'of teacher {name!r}; '
                    f'{self._feature_specs[name]["source"]!r} has shape '
                    f'{tuple(t_shape)}')
            overrides = {
                section: _as_dict(options.get(section), f'{key}.{section}')
                for section in ('translator', 'feed_loss')
            }
            translator_key, loss_key = (partial(
                _option_key,
                override=overrides[section],
                teacher_key=key,
                section=section) for section in ('translator', 'feed_loss'))
            cfg = _merge(self.translator_cfg, overrides['translator'])
            for arg, inferred in (('in_channels', int(student_shape[1])),
                                  ('out_channels', int(t_shape[1]))):
                given = cfg.get(arg)
                if given is not None and given != inferred:
                    what = ('the student feature' if arg == 'in_channels'
                            else f'the feature of teacher {name!r}')
                    raise FEEDConfigError(
                        translator_key(arg),
                        f'is {given} but {what} has {inferred} channels')
                cfg[arg] = inferred
            self.translators[name] = self._build(cfg, translator_key(None),
                                                 translator_key)
            loss_cfg = _merge(self.feed_loss_cfg, overrides['feed_loss'])
            self.feed_losses[name] = self._build(loss_cfg, loss_key(None),
                                                 loss_key)
            self._check_feed_pair(name, student_shape, t_shape, loss_cfg,
                                  loss_key)
            weight = loss_weight_value(
                options.get('loss_weight', 1.0), f'{key}.loss_weight')
            self._feed_scales[name] = weight / (
                num_teachers if self.teacher_reduction == 'mean' else 1)

    def _check_feed_pair(self, name: str, student_shape: torch.Size,
                         teacher_shape: torch.Size, loss_cfg: Mapping,
                         loss_key: Callable[[str], str]) -> None:
        """Translate a dummy student map and align it with the teacher's,
        so that maps the FEED loss cannot compare (e.g. spatial sizes that
        differ under ``spatial_mismatch='error'``) fail at build time rather
        than at the first iteration."""
        loss = self.feed_losses[name]
        if not hasattr(loss, 'align'):
            return
        translator = self.translators[name]
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
            arg = _own_argument(err, loss_cfg)
            raise FEEDConfigError(
                loss_key(arg) if arg else f'model.teachers.{name}.translator',
                err.message) from err

    # ------------------------------------------------------------------
    # Losses.
    def get_record(self,
                   recorder: str,
                   from_student: bool,
                   from_teacher: Optional[str] = None,
                   record_idx: int = 0,
                   data_idx: Optional[int] = None,
                   connector: Optional[str] = None,
                   connector_idx: Optional[int] = None) -> Any:
        """Read one record (see ``loss_forward_mappings``)."""
        if from_student:
            manager = self.student_recorders
        else:
            manager = self.teacher_recorders[self._resolve_teacher(
                from_teacher)]
        data = manager.get_recorder(recorder).get_record_data(
            record_idx, data_idx)
        if connector:
            data = self.connectors[connector](data)
        if connector_idx is not None:
            data = data[connector_idx]
        return data

    def _resolve_teacher(self, from_teacher: Optional[str]) -> str:
        if from_teacher is None:
            return next(iter(self.teacher_recorders))
        return from_teacher

    def compute_feed_losses(self) -> Dict[str, torch.Tensor]:
        """The weighted FEED term of each teacher, ``loss_feed_{name}``."""
        student_feature = self.feed_feature(None)
        losses = {}
        for name, translator in self.translators.items():
            translated = translator(student_feature)
            loss = self.feed_losses[name](
                translated, self.feed_feature(name), teacher=name)
            losses[f'{FEED_LOSS_PREFIX}{name}'] = self._feed_scales[name] * loss
        return losses

    def compute_distill_losses(self) -> Dict[str, torch.Tensor]:
        """FEED terms plus the extra losses of ``loss_forward_mappings``."""
        losses = self.compute_feed_losses()
        for loss_name, forward_mappings in self.loss_forward_mappings.items():
            kwargs = {
                arg: self.get_record(**record)
                for arg, record in forward_mappings.items()
            }
            losses[loss_name] = self.distill_losses[loss_name](**kwargs)
        return losses

    def check_distill_losses(self) -> None:
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
        for loss_name, mappings in self.loss_forward_mappings.items():
            kwargs, described = {}, []
            for arg, record in mappings.items():
                data = self._dry_run_record(record,
                                            f'{key}.{loss_name}.{arg}')
                if data is None:
                    break
                kwargs[arg] = data
                shape = (tuple(data.shape) if isinstance(data, torch.Tensor)
                         else type(data).__name__)
                described.append(f'{arg} = {_record_owner(record)} record '
                                 f'{record["recorder"]!r} of shape {shape}')
            else:
                try:
                    with torch.no_grad():
                        self.distill_losses[loss_name](**kwargs)
                except (AssertionError, IndexError, KeyError, RuntimeError,
                        TypeError, ValueError) as err:
                    raise FEEDConfigError(
                        f'model.distiller.distill_losses.{loss_name}',
                        'fails on the records of the dry run ('
                        f'{"; ".join(described)}): {err}') from err

    def _dry_run_record(self, record: Mapping, key: str) -> Any:
        """What ``record`` reads from the dry run's records, or None when
        its recorder recorded nothing."""
        owner = _record_owner(record)
        manager = (
            self.student_recorders if record['from_student'] else
            self.teacher_recorders[self._resolve_teacher(
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
            return self.get_record(**record)
        except (AssertionError, IndexError, KeyError, RuntimeError,
                TypeError, ValueError) as err:  # connector, connector_idx
            raise FEEDConfigError(
                key, f'cannot read the {owner} record {name!r}: {err}') \
                from err

    def _check_loss_forward_mappings(self, teachers: List[str]) -> None:
        key = 'model.distiller.loss_forward_mappings'
        missing = set(self.distill_losses) - set(self.loss_forward_mappings)
        if missing:
            name = sorted(missing)[0]
            raise FEEDConfigError(
                f'{key}.{name}', f'the distill loss {name!r} has no forward '
                'mapping')
        for loss_name, mappings in self.loss_forward_mappings.items():
            loss_key = f'{key}.{loss_name}'
            if loss_name not in self.distill_losses:
                raise FEEDConfigError(
                    loss_key, f'{loss_name!r} is not in distill_losses.' +
                    _suggest(loss_name, list(self.distill_losses)))
            if not isinstance(mappings, Mapping):
                raise FEEDConfigError(loss_key, 'must be a dict of forward '
                                      f'argument -> record, got {mappings!r}')
            params = signature(self.distill_losses[loss_name].forward)\
                .parameters
            for arg, record in mappings.items():
                arg_key = f'{loss_key}.{arg}'
                if arg not in params:
                    raise FEEDConfigError(
                        arg_key,
                        f'{type(self.distill_losses[loss_name]).__name__}.'
                        f'forward has no argument {arg!r} (arguments: '
                        f'{", ".join(params)})')
                self._check_record(record, arg_key, teachers)
            required = [
                name for name, param in params.items()
                if param.default is Parameter.empty and param.kind in (
                    Parameter.POSITIONAL_OR_KEYWORD, Parameter.KEYWORD_ONLY)
            ]
            for arg in required:
                if arg not in mappings:
                    raise FEEDConfigError(
                        f'{loss_key}.{arg}', 'required argument of '
                        f'{type(self.distill_losses[loss_name]).__name__}.'
                        'forward has no mapping')

    def _check_record(self, record: Any, key: str,
                      teachers: List[str]) -> None:
        if not isinstance(record, Mapping):
            raise FEEDConfigError(key, f'a record is a dict, got {record!r}')
        unknown = set(record) - set(_RECORD_KEYS)
        if unknown:
            name = sorted(unknown)[0]
            raise FEEDConfigError(
                f'{key}.{name}', f'unknown record key (allowed: '
                f'{", ".join(_RECORD_KEYS)}).' + _suggest(name, _RECORD_KEYS))
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
            manager, owner = self.student_recorders, 'student_recorders'
        else:
            teacher = record.get('from_teacher')
            if teacher is None and len(teachers) > 1:
                raise FEEDConfigError(
                    f'{key}.from_teacher', 'is required with several '
                    f'teachers (teachers: {", ".join(teachers)})')
            teacher = self._resolve_teacher(teacher)
            if teacher not in self.teacher_recorders:
                raise FEEDConfigError(
                    f'{key}.from_teacher',
                    f'unknown teacher {teacher!r} (teachers: '
                    f'{", ".join(teachers)}).' + _suggest(teacher, teachers))
            manager = self.teacher_recorders[teacher]
            owner = f'teacher_recorders.{teacher}'
        if record['recorder'] not in manager.recorders:
            known = [n for n in manager.recorders if n != FEED_RECORDER]
            raise FEEDConfigError(
                f'{key}.recorder', f'{record["recorder"]!r} is not in '
                f'{owner} (recorders: {", ".join(known) or "none"}).' +
                _suggest(record['recorder'], known))
        connector = record.get('connector')
        if connector is not None and connector not in self.connectors:
            raise FEEDConfigError(
                f'{key}.connector', f'{connector!r} is not in connectors.' +
                _suggest(connector, list(self.connectors)))

    def clear_records(self) -> None:
        """Drop the recorded tensors so that activations are not held until
        the next step."""
        for manager in [self.student_recorders,
                        *self.teacher_recorders.values()]:
            for recorder in manager.recorders.values():
                recorder.reset_data_buffer()
