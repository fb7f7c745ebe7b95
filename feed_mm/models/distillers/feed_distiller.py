"""FEEDDistiller: what FEED records, translates and compares, in the order
of a step: recorders -> translators -> FEED losses, beside any loss of
MMRazor's ``ConfigurableDistiller``, which it extends with one recorder
manager per teacher."""
import dataclasses
from inspect import Parameter, signature
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Union

import torch
import torch.nn as nn
from mmrazor.models.distillers import ConfigurableDistiller
from mmrazor.models.task_modules import (ModuleOutputsRecorder,
                                         RecorderManager)
from mmrazor.registry import MODELS

from feed_mm.utils import FEEDConfigError, loss_weight_value
from .validation import (CALL_ERRORS, FEED_GRID_RECORDER, FEED_LOSS_PREFIX,
                         FEED_RECORDER, MODULE_RECORDER_TYPES,
                         FeatureLocation, as_dict, build_part, channel_args,
                         check_module_source, locate_feature_map,
                         parse_feature, select_feature, suggest, token_grid)

if TYPE_CHECKING:  # the algorithm's type; only its options are read here
    from feed_mm.models.algorithms.teacher_spec import TeacherSpec

MAPPINGS_KEY = 'model.distiller.loss_forward_mappings'


@MODELS.register_module()
class FEEDDistiller(ConfigurableDistiller):
    """Distiller of FEED: per teacher ``name`` a translator
    ``translators[name]`` of the student's FEED map and a FEED loss term
    ``loss_feed_{name}``, combined as in the paper, ``beta * sum_n w_n *
    L_n`` (beta: the FEED loss's ``loss_weight``; ``w_n``: the teacher's
    ``loss_weight``, 1 by default, 0 for a teacher only other losses read:
    no translator, no term), or averaged (``teacher_reduction='mean'``).
    :class:`FEEDDistill` builds it in two phases: :meth:`build_recorders`
    once the models exist, :meth:`build_feed` once a dry run has measured
    the maps.

    Other MMRazor losses live beside FEED as in MMRazor's
    ``ConfigurableDistiller``, whose connectors, losses, forward mappings
    and checks it reuses; teacher recorders are given per teacher, and a
    record read from a teacher names it with ``from_teacher`` (optional
    with one teacher), e.g. logit KD:
    ``student_recorders=dict(logits=dict(type='ModuleOutputs',
    source='head.fc'))``, ``teacher_recorders=dict(t0=dict(logits=...))``,
    ``distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4))``,
    ``loss_forward_mappings=dict(loss_kd=dict(preds_S=dict(recorder=
    'logits', from_student=True), preds_T=dict(recorder='logits',
    from_student=False, from_teacher='t0')))``.

    Args:
        student_feature (str | dict): The student's FEED map, shared by all
            translators: ``'auto'`` (the last 4-D map the model computes
            before global pooling, found by the dry run and logged), a
            module path, or ``dict(source=..., data_idx=...,
            type='ModuleOutputs'|'ModuleInputs')`` (``data_idx`` picks an
            element of a tuple output, by default the last). Defaults to
            ``'auto'``.
        teacher_feature (str | dict): Every teacher's FEED map unless the
            teacher sets ``feature``. Defaults to ``'auto'``.
        translator (dict): Config of each teacher's translator: a
            :class:`FEEDTranslator` or any MMRazor connector, its channels
            (``in_channels``/``out_channels``, or MMRazor's
            ``in_channel``/``out_channel``) inferred. Defaults to
            ``dict(type='FEEDTranslator')``.
        feed_loss (dict): Config of each teacher's loss, called as
            ``loss(translated_student_map, teacher_map)``: FEED's
            :class:`FEEDLoss` or a feature loss of MMRazor's (``L2Loss``:
            FitNets' hint from every teacher). Defaults to
            ``dict(type='FEEDLoss')``.
        teacher_reduction (str): ``'sum'`` (the paper) or ``'mean'`` of the
            FEED terms over teachers. Defaults to ``'sum'``.
        student_recorders, connectors, distill_losses,
            loss_forward_mappings (dict, optional): The extra losses, as in
            ``ConfigurableDistiller``.
        teacher_recorders (dict, optional): Per teacher, its recorders as in
            ``ConfigurableDistiller``: ``{teacher: {recorder: cfg}}``.
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self,
                 student_feature: Union[str, Dict] = 'auto',
                 teacher_feature: Union[str, Dict] = 'auto',
                 translator: Dict = dict(type='FEEDTranslator'),
                 feed_loss: Dict = dict(type='FEEDLoss'),
                 teacher_reduction: str = 'sum',
                 student_recorders: Optional[Dict[str, Dict]] = None,
                 teacher_recorders: Optional[Dict[str, Dict]] = None,
                 connectors: Optional[Dict[str, Dict]] = None,
                 distill_losses: Optional[Dict[str, Dict]] = None,
                 loss_forward_mappings: Optional[Dict[str, Dict]] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        key = 'model.distiller'
        as_dict(connectors, f'{key}.connectors')
        for name in as_dict(distill_losses, f'{key}.distill_losses'):
            if name.startswith(FEED_LOSS_PREFIX):
                raise FEEDConfigError(
                    f'{key}.distill_losses.{name}',
                    f'names starting with {FEED_LOSS_PREFIX!r} are reserved '
                    'for the FEED terms')
        # The recorders (and with them the mapping check) are built once the
        # models exist: build_recorders().
        super().__init__(connectors=connectors,
                         distill_losses=distill_losses,
                         init_cfg=init_cfg)
        if teacher_reduction not in ('sum', 'mean'):
            raise FEEDConfigError(
                f'{key}.teacher_reduction',
                f"must be 'sum' or 'mean', got {teacher_reduction!r}")
        self.teacher_reduction = teacher_reduction
        self.student_location = parse_feature(student_feature,
                                              f'{key}.student_feature')
        self.teacher_location = parse_feature(teacher_feature,
                                              f'{key}.teacher_feature')
        self.translator_cfg = as_dict(translator, f'{key}.translator')
        self.feed_loss_cfg = as_dict(feed_loss, f'{key}.feed_loss')
        self._student_recorder_cfgs = _recorder_cfgs(
            student_recorders, f'{key}.student_recorders')
        self._teacher_recorder_cfgs = {
            name: _recorder_cfgs(cfgs, f'{key}.teacher_recorders.{name}')
            for name, cfgs in as_dict(teacher_recorders,
                                      f'{key}.teacher_recorders').items()}
        self._mappings = as_dict(loss_forward_mappings, MAPPINGS_KEY)
        # Filled by build_recorders() and build_feed().
        self.teacher_recorders: Dict[str, RecorderManager] = {}
        self.teacher_locations: Dict[str, FeatureLocation] = {}
        self.translators = nn.ModuleDict()
        self.feed_losses = nn.ModuleDict()
        # w_n of each FEED term (divided by N under 'mean').
        self.feed_weights: Dict[str, float] = {}

    # ------------------------------------------------------------------
    # A training step: the recorded maps -> translators -> losses.
    def compute_distill_losses(self) -> Dict[str, torch.Tensor]:
        """The FEED term of each teacher, ``loss_feed_{name}``, then the
        extra losses of ``loss_forward_mappings``."""
        translated = self.translate(self.student_map())
        losses = {}
        for name, mapped in translated.items():
            term = self.feed_losses[name](mapped, self.teacher_map(name))
            losses[FEED_LOSS_PREFIX + name] = self.feed_weights[name] * term
        losses.update(super().compute_distill_losses())
        return losses

    def translate(self, student_map: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The student's map through every teacher's translator."""
        return {name: translator(student_map)
                for name, translator in self.translators.items()}

    def student_map(self) -> torch.Tensor:
        """The student's recorded FEED map."""
        return self._feed_map(self.student_recorders, self.student_location,
                              'the student')

    def teacher_map(self, name: str) -> torch.Tensor:
        """Teacher ``name``'s recorded FEED map."""
        return self._feed_map(self.teacher_recorders[name],
                              self.teacher_locations[name],
                              f'teacher {name!r}')

    # ------------------------------------------------------------------
    # Building, phase 1, once the models exist: the recorders.
    def build_recorders(self, student: nn.Module,
                        teachers: Mapping[str, nn.Module],
                        specs: Mapping[str, 'TeacherSpec'],
                        dummy: torch.Tensor) -> None:
        """Attach the FEED recorder and the extra recorders to the student
        and each teacher (a teacher's ``feature`` overrides
        ``teacher_feature``; an ``'auto'`` FEED map is located by a forward
        on ``dummy``), then check ``loss_forward_mappings`` against them."""
        unknown = sorted(set(self._teacher_recorder_cfgs) - set(teachers))
        if unknown:
            raise FEEDConfigError(
                f'model.distiller.teacher_recorders.{unknown[0]}',
                f'unknown teacher {unknown[0]!r} (teachers: '
                f'{", ".join(teachers)}).' + suggest(unknown[0], teachers))
        self.student_location = _located(self.student_location, student,
                                         dummy, 'the student')
        self.student_recorders = _attach_recorders(
            student, 'the student', self.student_location,
            self._student_recorder_cfgs, 'model.distiller.student_recorders')
        for name, teacher in teachers.items():
            feature = specs[name].feature
            if feature is None:
                location = self.teacher_location
            else:
                location = parse_feature(feature,
                                         f'model.teachers.{name}.feature')
            location = _located(location, teacher, dummy, f'teacher {name!r}')
            self.teacher_locations[name] = location
            self.teacher_recorders[name] = _attach_recorders(
                teacher, f'teacher {name!r}', location,
                self._teacher_recorder_cfgs.get(name, {}),
                f'model.distiller.teacher_recorders.{name}')
        self._check_mappings(list(teachers))
        self.loss_forward_mappings = self._mappings

    def _check_mappings(self, teachers: List[str]) -> None:
        """MMRazor's check of ``loss_forward_mappings`` (arguments of each
        loss's forward, recorders, connectors), run per teacher on the
        records read from it, after FEED's own: every loss has a mapping
        and every teacher record names a known teacher, required with
        several (otherwise a loss would silently be left out or read the
        first teacher)."""
        missing = sorted(set(self.distill_losses) - set(self._mappings))
        if missing:
            raise FEEDConfigError(
                f'{MAPPINGS_KEY}.{missing[0]}',
                f'the distill loss {missing[0]!r} has no forward mapping')
        by_teacher: Dict[str, Dict[str, Dict]] = {}
        for loss_name, mappings in self._mappings.items():
            mappings = as_dict(mappings, f'{MAPPINGS_KEY}.{loss_name}')
            student_records = {arg: record for arg, record in mappings.items()
                               if _from_student(record)}
            for arg, record in mappings.items():
                if _from_student(record):
                    continue
                teacher = self._record_teacher(
                    record, teachers, f'{MAPPINGS_KEY}.{loss_name}.{arg}')
                by_teacher.setdefault(teacher, {}).setdefault(
                    loss_name, dict(student_records))[arg] = record
            if len(student_records) == len(mappings):
                by_teacher.setdefault(teachers[0], {})[loss_name] = mappings
        for teacher, mappings in by_teacher.items():
            # MMRazor's check knows no forward(**kwargs) (a loss over any
            # number of teachers): those are checked on the dry run only.
            mappings = {name: mapping for name, mapping in mappings.items()
                        if name not in self.distill_losses
                        or not _takes_any_keyword(self.distill_losses[name])}
            self._check_loss_forward_mappings(
                self.distill_losses, mappings, self.student_recorders,
                self.teacher_recorders[teacher])

    def _record_teacher(self, record: Any, teachers: List[str],
                        key: str) -> str:
        teacher = as_dict(record, key).get('from_teacher')
        if teacher is None and len(teachers) > 1:
            raise FEEDConfigError(
                f'{key}.from_teacher', 'is required with several teachers '
                f'(teachers: {", ".join(teachers)})')
        teacher = self.resolve_teacher(teacher)
        if teacher not in teachers:
            raise FEEDConfigError(
                f'{key}.from_teacher',
                f'unknown teacher {teacher!r} (teachers: '
                f'{", ".join(teachers)}).' + suggest(teacher, teachers))
        return teacher

    def check_extra_losses(self) -> None:
        """On the dry run's records, what MMRazor leaves to the first step:
        each mapped record's ``record_idx`` is one the model records,
        ``data_idx`` picks from a tuple or list (on a tensor it would
        silently pick the first sample), and each loss computes on its
        records (teacher logits of another number of classes fail here,
        named). A loss whose records the dry run does not fill (method
        recorders) is left to training."""
        for loss_name, mappings in self.loss_forward_mappings.items():
            inputs, described = {}, []
            for arg, record in mappings.items():
                data = self._dry_run_record(
                    record, f'{MAPPINGS_KEY}.{loss_name}.{arg}')
                if data is None:
                    break
                inputs[arg] = data
                shape = tuple(getattr(data, 'shape', ())) or \
                    type(data).__name__
                described.append(f'{arg} = {self._owner(record)} record '
                                 f'{record["recorder"]!r} of shape {shape}')
            else:
                try:
                    with torch.no_grad():
                        self.distill_losses[loss_name](**inputs)
                except CALL_ERRORS as err:
                    raise FEEDConfigError(
                        f'model.distiller.distill_losses.{loss_name}',
                        f'fails on the records of the dry run '
                        f'({"; ".join(described)}): {err}') from err

    def _dry_run_record(self, record: Mapping, key: str) -> Any:
        """What ``record`` reads from the dry run, its indices checked; None
        when its recorder recorded nothing."""
        if record.get('from_student'):
            manager = self.student_recorders
        else:
            manager = self.teacher_recorders[self.resolve_teacher(
                record.get('from_teacher'))]
        owner = self._owner(record)
        name = record['recorder']
        buffer = manager.get_recorder(name).data_buffer
        if not buffer:
            return None
        index = record.get('record_idx', 0)
        if not -len(buffer) <= index < len(buffer):
            raise FEEDConfigError(
                f'{key}.record_idx', f'is {index}, but the {owner} records '
                f'{name!r} {len(buffer)} time(s) per forward')
        data_idx = record.get('data_idx')
        if data_idx is not None and not isinstance(buffer[index],
                                                   (tuple, list)):
            raise FEEDConfigError(
                f'{key}.data_idx', f'is {data_idx}, but the {owner} record '
                f'{name!r} is one {type(buffer[index]).__name__}, not a '
                'tuple or list')
        return self.get_record(**record)

    def _owner(self, record: Mapping) -> str:
        if record.get('from_student'):
            return 'student'
        return f'teacher {self.resolve_teacher(record.get("from_teacher"))!r}'

    # Building, phase 2, on the dry run's records: translators and losses.
    def build_feed(self, specs: Mapping[str, 'TeacherSpec']) -> None:
        """One translator ``C_s -> C_t`` and one FEED loss per teacher,
        sized by the maps the dry run recorded and checked on them, with the
        teacher's ``translator`` / ``feed_loss`` overrides; kept for the
        teachers with a non-zero ``loss_weight``."""
        student_map = self.student_map()
        if student_map.dim() != 4:
            raise FEEDConfigError(
                self.student_location.key, 'FEED translates 4-D feature '
                f'maps (N, C, H, W); the student feature '
                f'{self.student_location.source!r} has shape '
                f'{tuple(student_map.shape)}')
        for name, spec in specs.items():
            weight = loss_weight_value(spec.loss_weight,
                                       f'{spec.key}.loss_weight')
            location = self.teacher_locations[name]
            teacher_map = self.teacher_map(name)
            if teacher_map.dim() != 4:
                raise FEEDConfigError(
                    location.key, f'FEED needs a 4-D feature map of teacher '
                    f'{name!r}; {location.source!r} has shape '
                    f'{tuple(teacher_map.shape)}')
            translator = self._build_translator(spec, student_map,
                                                teacher_map)
            loss_key = _option_key(spec, 'feed_loss')
            loss = build_part(_merged(self.feed_loss_cfg, spec, 'feed_loss'),
                              loss_key(None), loss_key)
            # Maps the loss cannot compare (spatial sizes under
            # spatial_mismatch='error', or a loss that does not resize)
            # fail now, not at the first step; in eval mode the dummy batch
            # does not move norm statistics.
            translated = translator.eval()(student_map)
            try:
                loss(translated, teacher_map)
            except FEEDConfigError as err:
                arg = err.key.partition('.')[2]
                raise FEEDConfigError(
                    loss_key(arg) if arg else f'{spec.key}.translator',
                    f'teacher {name!r}: {err.message}') from err
            except CALL_ERRORS as err:
                raise FEEDConfigError(
                    loss_key(None), f'cannot compare the translated student '
                    f'feature of shape {tuple(translated.shape)} with the '
                    f'feature of teacher {name!r} of shape '
                    f'{tuple(teacher_map.shape)}: {err}') from err
            if weight == 0:
                continue  # checked like the others, but nothing to train
            self.translators[name] = translator
            self.feed_losses[name] = loss
            if self.teacher_reduction == 'mean':
                weight = weight / len(specs)
            self.feed_weights[name] = weight

    def _build_translator(self, spec: 'TeacherSpec',
                          student_map: torch.Tensor,
                          teacher_map: torch.Tensor) -> nn.Module:
        """The teacher's translator, its channels inferred from the maps
        (an explicit value is checked)."""
        key = _option_key(spec, 'translator')
        cfg = _merged(self.translator_cfg, spec, 'translator')
        inferred = (student_map.shape[1], teacher_map.shape[1])
        owners = ('the student feature',
                  f'the feature of teacher {spec.name!r}')
        for arg, channels, owner in zip(channel_args(cfg, key(None)),
                                        inferred, owners):
            if cfg.get(arg) is None:
                cfg[arg] = channels
            elif cfg[arg] != channels:
                raise FEEDConfigError(
                    key(arg), f'is {cfg[arg]} but {owner} has {channels} '
                    'channels')
        return build_part(cfg, key(None), key)

    # ------------------------------------------------------------------
    # Records.
    def get_record(self,
                   recorder: str,
                   from_student: bool,
                   from_teacher: Optional[str] = None,
                   record_idx: int = 0,
                   data_idx: Optional[int] = None,
                   connector: Optional[str] = None,
                   connector_idx: Optional[int] = None) -> Any:
        """One record of ``loss_forward_mappings``, as MMRazor's, from the
        student or from the teacher ``from_teacher``."""
        if from_student:
            manager = self.student_recorders
        else:
            manager = self.teacher_recorders[self.resolve_teacher(
                from_teacher)]
        data = manager.get_recorder(recorder).get_record_data(
            record_idx, data_idx)
        if connector:
            data = self.connectors[connector](data)
        if connector_idx is not None:
            data = data[connector_idx]
        return data

    def resolve_teacher(self, from_teacher: Optional[str]) -> str:
        """The teacher a record reads: ``from_teacher``, or the only one."""
        return from_teacher or next(iter(self.teacher_recorders))

    def clear_records(self) -> None:
        """Drop the recorded tensors, so that activations are not held
        until the next step."""
        for manager in [self.student_recorders,
                        *self.teacher_recorders.values()]:
            for recorder in manager.recorders.values():
                recorder.reset_data_buffer()

    def _feed_map(self, manager: RecorderManager, location: FeatureLocation,
                  owner: str) -> torch.Tensor:
        buffer = manager.get_recorder(FEED_RECORDER).data_buffer
        if not buffer:
            raise FEEDConfigError(
                location.key, f'the feature {location.source!r} of {owner} '
                'was not computed by its forward')
        hw = None
        if location.tokens is not None:
            # The patch embedding returns (tokens, (H, W)).
            hw = manager.get_recorder(FEED_GRID_RECORDER).data_buffer[0][1]
        return select_feature(buffer[0], location, owner, hw)


def module_sources(manager: RecorderManager) -> Optional[List[str]]:
    """The module paths a recorder manager records, or None when one of its
    recorders is not a module recorder (its model must then run a whole
    ``loss`` forward, which cannot be stopped early or compiled)."""
    sources = []
    for recorder in manager.recorders.values():
        # ModuleInputsRecorder derives from ModuleOutputsRecorder.
        if not isinstance(recorder, ModuleOutputsRecorder):
            return None
        sources.append(recorder.source)
    return sources


def _recorder_cfgs(cfgs: Optional[Dict[str, Dict]],
                   key: str) -> Dict[str, Dict]:
    """Extra recorders ``name -> cfg``, none named like the FEED recorder
    (which would silently replace it)."""
    cfgs = as_dict(cfgs, key)
    for reserved in (FEED_RECORDER, FEED_GRID_RECORDER):
        if reserved in cfgs:
            raise FEEDConfigError(
                f'{key}.{reserved}', f'the recorder name {reserved!r} is '
                'reserved for the FEED features')
    return cfgs


def _attach_recorders(model: nn.Module, owner: str,
                      location: FeatureLocation, extra: Dict[str, Dict],
                      recorders_key: str) -> RecorderManager:
    """The FEED recorder of ``location`` plus the ``extra`` recorders,
    attached to ``model`` (with the patch grid of a vision transformer's
    tokens). A module path that is not in the model would record nothing
    (MMRazor's recorder does not check): it is named."""
    cfgs = {}
    for name, cfg in extra.items():
        if isinstance(cfg, Mapping) and \
                cfg.get('type') in MODULE_RECORDER_TYPES:
            check_module_source(model, cfg.get('source'),
                                f'{recorders_key}.{name}.source', owner)
        # Built in MMRazor's scope, whatever the caller's default scope.
        cfgs[name] = dict(cfg, _scope_='mmrazor')
    cfgs[FEED_RECORDER] = dict(type=location.type, source=location.source,
                               _scope_='mmrazor')
    if location.tokens is not None:
        cfgs[FEED_GRID_RECORDER] = dict(type='ModuleOutputs',
                                        source=location.tokens.grid_source,
                                        _scope_='mmrazor')
    manager = RecorderManager(cfgs)
    manager.initialize(model)
    return manager


def _takes_any_keyword(loss: nn.Module) -> bool:
    return any(param.kind is Parameter.VAR_KEYWORD
               for param in signature(loss.forward).parameters.values())


def _from_student(record: Any) -> bool:
    return isinstance(record, Mapping) and record.get('from_student') is True


def _located(location: FeatureLocation, model: nn.Module,
             dummy: torch.Tensor, owner: str) -> FeatureLocation:
    """``location`` with its source found (for an ``'auto'`` one) and
    checked, and the token grid of a vision transformer's module."""
    source = location.source
    if source is None:
        source = locate_feature_map(model, dummy, owner, location.key)
    check_module_source(model, source, location.key, owner)
    return dataclasses.replace(location, source=source,
                               tokens=token_grid(model, source))


def _merged(base: Dict, spec: 'TeacherSpec', section: str) -> Dict:
    """The distiller's ``section`` config with the teacher's overrides."""
    override = as_dict(getattr(spec, section), f'{spec.key}.{section}')
    return {**base, **override}


def _option_key(spec: 'TeacherSpec', section: str):
    """``arg ->`` the config key that set ``arg`` of a teacher's
    ``translator`` or ``feed_loss`` (the teacher's override, else the
    distiller's default); ``None ->`` the key of the section itself."""
    override = as_dict(getattr(spec, section), f'{spec.key}.{section}')
    owner = f'{spec.key}.{section}'
    default = f'model.distiller.{section}'

    def key(arg: Optional[str]) -> str:
        if arg is None:
            return owner if override else default
        return f'{owner}.{arg}' if arg in override else f'{default}.{arg}'

    return key
