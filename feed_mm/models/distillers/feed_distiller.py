"""FEEDDistiller: what FEED records, translates and compares, in the order
of a step: recorders -> translators -> losses. Its build-time checks are in
``validation.py``."""
from functools import partial
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Union

import torch
import torch.nn as nn
from mmrazor.models.distillers.base_distiller import BaseDistiller
from mmrazor.models.task_modules import (ModuleInputsRecorder,
                                         ModuleOutputsRecorder,
                                         RecorderManager)
from mmrazor.registry import MODELS

from feed_mm.models.connectors import translate_all
from feed_mm.utils import FEEDConfigError, loss_weight_value
from .building import attach_recorders, build_part, merge_cfgs
from .validation import (FEED_LOSS_PREFIX, FEED_RECORDER, as_dict,
                         check_feed_pair, check_loss_forward_mappings,
                         check_recorder_cfgs, check_teacher_names, option_key,
                         parse_feature_spec, select_feature)

if TYPE_CHECKING:  # the algorithm's type; only its options are read here
    from feed_mm.models.algorithms.teacher_spec import TeacherSpec

FeatureSpec = Union[str, Dict[str, Any]]


@MODELS.register_module()
class FEEDDistiller(BaseDistiller):
    """Distiller of FEED: student and per-teacher recorders, one translator
    and one FEED loss term per teacher, plus any other MMRazor losses.

    The FEED part needs no hand-written mappings. :class:`FEEDDistill`
    builds it in two phases: :meth:`build_recorders` once the models exist
    (the FEED feature of the student and of each teacher: ``teacher_feature``
    or the teacher's own ``feature``), then, after a dry run,
    :meth:`build_feed`: per teacher ``name`` a translator
    ``translators[name]`` whose channels are the dry run's, and a loss term
    logged as ``loss_feed_{name}``. The terms are combined as in the paper,
    ``beta * sum_n w_n * L_n`` (``w_n`` = 1 unless a teacher sets
    ``loss_weight``; a teacher with ``loss_weight=0`` gets no translator and
    no FEED term, for teachers that only other losses read), or averaged over teachers with
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
        fuse_translators (bool): Run the first convolutions of translators
            of one geometry as one convolution (same outputs and parameters
            as separate ones; :func:`translate_all`). Defaults to True.
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
                 fuse_translators: bool = True,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg)
        key = 'model.distiller'
        if not isinstance(fuse_translators, bool):
            raise FEEDConfigError(
                f'{key}.fuse_translators',
                f'must be True or False, got {fuse_translators!r}')
        self.fuse_translators = fuse_translators
        if teacher_reduction not in ('sum', 'mean'):
            raise FEEDConfigError(
                f'{key}.teacher_reduction',
                f"must be 'sum' or 'mean', got {teacher_reduction!r}")
        self.student_feature = parse_feature_spec(student_feature,
                                                  f'{key}.student_feature')
        self.teacher_feature = parse_feature_spec(teacher_feature,
                                                  f'{key}.teacher_feature')
        self.translator_cfg = as_dict(translator, f'{key}.translator')
        self.feed_loss_cfg = as_dict(feed_loss, f'{key}.feed_loss')
        self.teacher_reduction = teacher_reduction

        self._student_recorder_cfgs = check_recorder_cfgs(
            student_recorders, f'{key}.student_recorders')
        self._teacher_recorder_cfgs = {
            name: check_recorder_cfgs(cfgs, f'{key}.teacher_recorders.{name}')
            for name, cfgs in as_dict(teacher_recorders,
                                      f'{key}.teacher_recorders').items()
        }
        self.connectors = nn.ModuleDict({
            name: build_part(cfg, f'{key}.connectors.{name}')
            for name, cfg in as_dict(connectors, f'{key}.connectors').items()
        })
        self.distill_losses = nn.ModuleDict({
            name: build_part(cfg, f'{key}.distill_losses.{name}')
            for name, cfg in as_dict(distill_losses,
                                     f'{key}.distill_losses').items()
        })
        for name in self.distill_losses:
            if name.startswith(FEED_LOSS_PREFIX):
                raise FEEDConfigError(
                    f'{key}.distill_losses.{name}',
                    f'names starting with {FEED_LOSS_PREFIX!r} are reserved '
                    'for the FEED terms')
        self.loss_forward_mappings = as_dict(
            loss_forward_mappings, f'{key}.loss_forward_mappings')

        # Filled by build_recorders() and build_feed(), once the teachers
        # are known.
        self.student_recorders = RecorderManager(None)
        self.teacher_recorders: Dict[str, RecorderManager] = {}
        self.translators = nn.ModuleDict()
        self.feed_losses = nn.ModuleDict()
        self._feed_scales: Dict[str, float] = {}
        self._feature_specs: Dict[Optional[str], Dict[str, Any]] = {}
        # The config key of each feature location, for error messages.
        self._feature_keys: Dict[Optional[str], str] = {}

    # ------------------------------------------------------------------
    # Phase 1, once the models exist: recorders.
    def build_recorders(self, student: nn.Module,
                        teachers: Mapping[str, nn.Module],
                        specs: Mapping[str, 'TeacherSpec']) -> None:
        """Create and attach the recorders of the student and each teacher
        (a teacher's ``feature`` overrides ``teacher_feature``), and check
        ``loss_forward_mappings`` against them."""
        check_teacher_names(list(self._teacher_recorder_cfgs), list(teachers))
        self._feature_specs[None] = self.student_feature
        self._feature_keys[None] = 'model.distiller.student_feature'
        self.student_recorders = attach_recorders(
            student, 'the student', self.student_feature,
            self._student_recorder_cfgs, 'model.distiller.student_feature',
            'model.distiller.student_recorders')
        self.teacher_recorders = {}
        for name, teacher in teachers.items():
            override = specs[name].feature
            feature_key = (f'model.teachers.{name}.feature' if override
                           is not None else 'model.distiller.teacher_feature')
            spec = (parse_feature_spec(override, feature_key)
                    if override is not None else self.teacher_feature)
            self._feature_specs[name] = spec
            self._feature_keys[name] = feature_key
            self.teacher_recorders[name] = attach_recorders(
                teacher, f'teacher {name!r}', spec,
                self._teacher_recorder_cfgs.get(name, {}), feature_key,
                f'model.distiller.teacher_recorders.{name}')
        check_loss_forward_mappings(self, list(teachers))

    # Phase 2, after the dry run: translators and FEED losses.
    def build_feed(self, student_shape: torch.Size,
                   teacher_shapes: Mapping[str, torch.Size],
                   specs: Mapping[str, 'TeacherSpec']) -> None:
        """Build one translator ``C_s -> C_t`` and one FEED loss per
        teacher from the feature shapes of the dry run, with the teacher's
        ``translator`` and ``feed_loss`` overrides and ``loss_weight``."""
        if len(student_shape) != 4:
            raise FEEDConfigError(
                'model.distiller.student_feature',
                f'FEED translates 4-D feature maps (N, C, H, W); the student '
                f'feature {self.student_feature["source"]!r} has shape '
                f'{tuple(student_shape)}')
        for name, t_shape in teacher_shapes.items():
            spec = specs[name]
            weight = loss_weight_value(spec.loss_weight,
                                       f'{spec.key}.loss_weight')
            if weight == 0:
                # A teacher only other losses read (logit KD, DKD...): no
                # translator to train, no FEED term.
                continue
            if len(t_shape) != 4:
                raise FEEDConfigError(
                    self._feature_keys[name], f'FEED needs a 4-D feature map '
                    f'of teacher {name!r}; '
                    f'{self._feature_specs[name]["source"]!r} has shape '
                    f'{tuple(t_shape)}')
            overrides = dict(
                translator=as_dict(spec.translator, f'{spec.key}.translator'),
                feed_loss=as_dict(spec.feed_loss, f'{spec.key}.feed_loss'))
            translator_key, loss_key = (partial(
                option_key, override=overrides[section],
                teacher_key=spec.key, section=section)
                                        for section in overrides)
            cfg = merge_cfgs(self.translator_cfg, overrides['translator'])
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
            self.translators[name] = build_part(
                cfg, translator_key(None), translator_key)
            loss_cfg = merge_cfgs(self.feed_loss_cfg, overrides['feed_loss'])
            self.feed_losses[name] = build_part(
                loss_cfg, loss_key(None), loss_key)
            check_feed_pair(self.translators[name], self.feed_losses[name],
                            name, student_shape, t_shape, loss_cfg, loss_key)
            self._feed_scales[name] = weight / (
                len(teacher_shapes) if self.teacher_reduction == 'mean' else 1)

    # ------------------------------------------------------------------
    # A step: the records give the features, the losses compare them.
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

    def compute_feed_losses(self) -> Dict[str, torch.Tensor]:
        """The weighted FEED term of each teacher, ``loss_feed_{name}``."""
        translated = self.translate(self.feed_feature(None))
        losses = {}
        for name in self.translators:
            loss = self.feed_losses[name](
                translated[name], self.feed_feature(name), teacher=name)
            losses[FEED_LOSS_PREFIX + name] = self._feed_scales[name] * loss
        return losses

    def translate(self, student_feature: torch.Tensor
                  ) -> Dict[str, torch.Tensor]:
        """The student map through every teacher's translator, with the
        first convolutions fused under ``fuse_translators``.

        Args:
            student_feature (Tensor): The student's FEED map.

        Returns:
            dict: ``teacher name ->`` translated map, in teacher order.
        """
        return translate_all(self.translators, student_feature,
                             self.fuse_translators)

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
        return select_feature(recorder.data_buffer[0],
                              self._feature_specs[teacher]['data_idx'], key,
                              recorder.source, owner)

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
        if from_teacher is None:
            return next(iter(self.teacher_recorders))
        return from_teacher

    def clear_records(self) -> None:
        """Drop the recorded tensors so that activations are not held until
        the next step."""
        for manager in [self.student_recorders,
                        *self.teacher_recorders.values()]:
            for recorder in manager.recorders.values():
                recorder.reset_data_buffer()

    def module_sources(self,
                       teacher: Optional[str],
                       outputs_only: bool = False) -> Optional[List[str]]:
        """Module paths recorded on ``teacher`` (None: the student), or None
        when one of its recorders is not a module recorder (then the teacher
        must run its full ``loss`` forward), or, with ``outputs_only``, not a
        module outputs recorder."""
        manager = (self.student_recorders
                   if teacher is None else self.teacher_recorders[teacher])
        sources = []
        for recorder in manager.recorders.values():
            # ModuleInputsRecorder derives from ModuleOutputsRecorder.
            if not isinstance(recorder, ModuleOutputsRecorder) or (
                    outputs_only
                    and isinstance(recorder, ModuleInputsRecorder)):
                return None
            sources.append(recorder.source)
        return sources
