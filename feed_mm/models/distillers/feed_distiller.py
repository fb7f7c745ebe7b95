"""FEEDDistiller: what FEED records, translates and compares, in the order
of a step: recorders -> translators -> FEED losses (and any other MMRazor
loss beside them)."""
import dataclasses
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Union

import torch
import torch.nn as nn
from mmrazor.models.distillers.base_distiller import BaseDistiller
from mmrazor.models.task_modules import (ModuleOutputsRecorder,
                                         RecorderManager)
from mmrazor.registry import MODELS

from feed_mm.utils import FEEDConfigError, loss_weight_value
from .validation import (CALL_ERRORS, FEED_LOSS_PREFIX, FEED_RECORDER,
                         FeatureLocation, as_dict, attach_recorders,
                         build_part, channel_args, check_recorder_cfgs,
                         locate_feature_map, parse_feature, select_feature,
                         suggest)

if TYPE_CHECKING:  # the algorithm's type; only its options are read here
    from feed_mm.models.algorithms.teacher_spec import TeacherSpec


@MODELS.register_module()
class FEEDDistiller(BaseDistiller):
    """Distiller of FEED: per teacher ``name`` a translator
    ``translators[name]`` of the student's FEED map and a FEED loss term
    ``loss_feed_{name}``, combined as in the paper, ``beta * sum_n w_n *
    L_n`` (beta: the FEED loss's ``loss_weight``; ``w_n``: the teacher's
    ``loss_weight``, 1 by default, 0 for a teacher only other losses read:
    no translator, no term), or averaged (``teacher_reduction='mean'``).
    :class:`FEEDDistill` builds it in two phases: :meth:`build_recorders`
    once the models exist, :meth:`build_feed` once a dry run has measured
    the maps.

    Other MMRazor losses live beside FEED, as in MMRazor's
    ``ConfigurableDistiller``; a record read from a teacher names it with
    ``from_teacher`` (optional with one teacher), e.g. logit KD:
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
        student_recorders, teacher_recorders, connectors, distill_losses,
            loss_forward_mappings (dict, optional): The extra losses, as in
            ``ConfigurableDistiller`` (``teacher_recorders`` per teacher:
            ``{teacher: {recorder: cfg}}``).
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
        super().__init__(init_cfg)
        key = 'model.distiller'
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
        self._student_recorder_cfgs = check_recorder_cfgs(
            student_recorders, f'{key}.student_recorders')
        self._teacher_recorder_cfgs = {
            name: check_recorder_cfgs(cfgs, f'{key}.teacher_recorders.{name}')
            for name, cfgs in as_dict(teacher_recorders,
                                      f'{key}.teacher_recorders').items()}
        self.connectors = nn.ModuleDict({
            name: build_part(cfg, f'{key}.connectors.{name}')
            for name, cfg in as_dict(connectors, f'{key}.connectors').items()})
        self.distill_losses = nn.ModuleDict()
        for name, cfg in as_dict(distill_losses,
                                 f'{key}.distill_losses').items():
            if name.startswith(FEED_LOSS_PREFIX):
                raise FEEDConfigError(
                    f'{key}.distill_losses.{name}',
                    f'names starting with {FEED_LOSS_PREFIX!r} are reserved '
                    'for the FEED terms')
            self.distill_losses[name] = build_part(
                cfg, f'{key}.distill_losses.{name}')
        self.loss_forward_mappings = as_dict(
            loss_forward_mappings, f'{key}.loss_forward_mappings')
        # Filled by build_recorders() and build_feed().
        self.student_recorders = RecorderManager(None)
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
        losses = {
            FEED_LOSS_PREFIX + name: self.feed_weights[name] *
            self.feed_losses[name](mapped, self.teacher_map(name))
            for name, mapped in translated.items()
        }
        for loss_name, mappings in self.loss_forward_mappings.items():
            losses[loss_name] = self.distill_losses[loss_name](**{
                arg: self.get_record(**record)
                for arg, record in mappings.items()})
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
        ``teacher_feature``); an ``'auto'`` FEED map is located by a forward
        on ``dummy``."""
        for name in sorted(set(self._teacher_recorder_cfgs) - set(teachers)):
            raise FEEDConfigError(
                f'model.distiller.teacher_recorders.{name}',
                f'unknown teacher {name!r} (teachers: '
                f'{", ".join(teachers)}).' + suggest(name, list(teachers)))
        self.student_location = _located(self.student_location, student,
                                         dummy, 'the student')
        self.student_recorders = attach_recorders(
            student, 'the student', self.student_location,
            self._student_recorder_cfgs, 'model.distiller.student_recorders')
        for name, teacher in teachers.items():
            feature = specs[name].feature
            location = self.teacher_location if feature is None else \
                parse_feature(feature, f'model.teachers.{name}.feature')
            location = _located(location, teacher, dummy, f'teacher {name!r}')
            self.teacher_locations[name] = location
            self.teacher_recorders[name] = attach_recorders(
                teacher, f'teacher {name!r}', location,
                self._teacher_recorder_cfgs.get(name, {}),
                f'model.distiller.teacher_recorders.{name}')

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
            location, teacher_map = (self.teacher_locations[name],
                                     self.teacher_map(name))
            if teacher_map.dim() != 4:
                raise FEEDConfigError(
                    location.key, f'FEED needs a 4-D feature map of teacher '
                    f'{name!r}; {location.source!r} has shape '
                    f'{tuple(teacher_map.shape)}')
            translator_key = _option_key(spec, 'translator')
            cfg = _merged(self.translator_cfg, spec, 'translator')
            for arg, inferred, what in zip(
                    channel_args(cfg, translator_key(None)),
                    (student_map.shape[1], teacher_map.shape[1]),
                    ('the student feature',
                     f'the feature of teacher {name!r}')):
                if cfg.get(arg) is None:
                    cfg[arg] = inferred
                elif cfg[arg] != inferred:
                    raise FEEDConfigError(
                        translator_key(arg), f'is {cfg[arg]} but {what} has '
                        f'{inferred} channels')
            translator = build_part(cfg, translator_key(None), translator_key)
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
            self.translators[name], self.feed_losses[name] = translator, loss
            self.feed_weights[name] = weight / (
                len(specs) if self.teacher_reduction == 'mean' else 1)

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
        """One record of ``loss_forward_mappings``."""
        manager = (self.student_recorders if from_student else
                   self.teacher_recorders[self.resolve_teacher(from_teacher)])
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
        return select_feature(buffer[0], location, owner)


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


def _located(location: FeatureLocation, model: nn.Module,
             dummy: torch.Tensor, owner: str) -> FeatureLocation:
    """``location`` with its source found, for an ``'auto'`` one."""
    if location.source is not None:
        return location
    return dataclasses.replace(
        location, source=locate_feature_map(model, dummy, owner,
                                            location.key))


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
