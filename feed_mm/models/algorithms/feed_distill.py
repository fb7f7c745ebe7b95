"""FEEDDistill: the FEED algorithm (Park & Kwak), read top-down: building
the teachers, the dry run that sizes the translators, the training step
(:meth:`FEEDDistill.loss`). Teacher specs live in ``teacher_spec.py``, how
frozen teachers run in ``teacher_forward.py``, the recorders, translators
and losses in :class:`~feed_mm.models.distillers.FEEDDistiller`."""
from functools import partial
from typing import Dict, List, Mapping, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.structures import BaseDataElement
from mmrazor.models.algorithms.base import BaseAlgorithm, LossResults
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from feed_mm.models.distillers import FEEDDistiller
from feed_mm.models.distillers.feed_distiller import module_sources
from feed_mm.models.distillers.validation import build_part, guard_dry_run
from feed_mm.utils import FEEDConfigError
from .compiling import compile_feed, parse_compile
from .teacher_forward import (ModuleTap, forward_teacher, parse_autocast,
                              resolve_autocast)
from .teacher_spec import (ModelSpec, TeacherSpec, build_model, build_teacher,
                           parse_teachers)


@MODELS.register_module()
class FEEDDistill(BaseAlgorithm):
    """FEED: feature-level ensemble knowledge distillation from N frozen
    teachers (Park & Kwak), as an MMRazor algorithm: the student's task loss
    plus, per teacher, the FEED loss between the teacher's map and the
    student's map through that teacher's translator (:class:`FEEDDistiller`).
    Teachers are frozen: no gradients, eval mode (norm layers too unless
    ``teacher_norm_eval=False``), a forward without autograd that stops
    after the deepest module a loss reads. Checkpoints hold the student and
    the translators; teachers come from their own checkpoints
    (``teacher_ckpts``).

    Args:
        architecture (dict | BaseModel | str): The student: a model dict, a
            built model, an MMPretrain model name (``'resnet18_8xb32_in1k'``)
            or config path (``'mmpretrain::...'``), or MMRazor's
            ``dict(cfg_path=..., pretrained=False)``.
        teachers (dict | list): Ordered ``name -> dict(model=..., ckpt=...,
            feature=None, loss_weight=1.0, translator=None, feed_loss=None)``
            (a list: named ``t0, t1, ...``). ``model`` as ``architecture``;
            ``ckpt``: a checkpoint file, a work dir or a URL, by default the
            released weights of a model named by the zoo (None: random, only
            with ``allow_random_teachers``); the other options override the
            distiller's for this teacher.
        distiller (dict): :class:`FEEDDistiller` config. Defaults to
            ``dict(type='FEEDDistiller')``.
        input_shape (Sequence[int]): ``(C, H, W)`` of the dry run that
            measures the FEED maps (feed_mm's tools take it from the training
            pipeline when a config does not write it). Defaults to
            ``(3, 32, 32)``.
        teacher_norm_eval (bool): Keep teachers' norm layers in eval mode.
            Defaults to True.
        student_trainable (bool): Whether the student gets gradients.
            Defaults to True.
        calculate_student_loss (bool): Whether the student's own task loss
            is optimised. Defaults to True.
        save_teachers (bool): Store teacher weights in checkpoints.
            Defaults to False.
        teacher_autocast (str, optional): Teachers under autocast in
            ``'bf16'``/``'fp16'``, their maps cast back (losses in full
            precision); ``'auto'``: fp16 on CUDA, bf16 on a CPU with native
            bf16, else none. Defaults to None (exact).
        channels_last (bool): Models and batches in ``channels_last``.
            Defaults to False.
        compile (bool | dict): ``torch.compile`` (True, or its arguments) of
            the models' units and the translators (``compiling.py``).
            Defaults to False.
        allow_random_teachers (bool): Accept ``ckpt=None`` teachers (tests
            and benchmarks). Defaults to False.
        data_preprocessor (dict, optional): Defaults to the student's.
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self,
                 architecture: ModelSpec,
                 teachers: Union[Dict, List],
                 distiller: Dict = dict(type='FEEDDistiller'),
                 input_shape: Sequence[int] = (3, 32, 32),
                 teacher_norm_eval: bool = True,
                 student_trainable: bool = True,
                 calculate_student_loss: bool = True,
                 save_teachers: bool = False,
                 teacher_autocast: Optional[str] = None,
                 channels_last: bool = False,
                 compile: Union[bool, Dict] = False,
                 allow_random_teachers: bool = False,
                 data_preprocessor: Optional[Union[Dict, nn.Module]] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        for option, value in (('allow_random_teachers', allow_random_teachers),
                              ('channels_last', channels_last)):
            if not isinstance(value, bool):
                raise FEEDConfigError(f'model.{option}',
                                      f'must be True or False, got {value!r}')
        specs = parse_teachers(teachers, allow_random_teachers)
        student = build_model(architecture, 'model.architecture')
        if isinstance(data_preprocessor, Mapping) and \
                'type' not in data_preprocessor:
            data_preprocessor = dict(
                data_preprocessor, type='mmpretrain.ClsDataPreprocessor')
        super().__init__(student, data_preprocessor, init_cfg)
        self.teacher_norm_eval = teacher_norm_eval
        self.student_trainable = student_trainable
        self.calculate_student_loss = calculate_student_loss
        self.save_teachers = save_teachers
        self.teacher_autocast = parse_autocast(teacher_autocast)
        self.channels_last = channels_last
        # May be set by MMRazor's StopDistillHook.
        self.distillation_stopped = False
        # Set by LossStatsHook: log the gradient norms at the student's map.
        self.probe_map_grads = False

        # 1. The frozen teachers, and the recorders of every model.
        self.teachers = nn.ModuleDict(
            {name: build_teacher(spec) for name, spec in specs.items()})
        self.teacher_ckpts = {name: spec.ckpt for name, spec in specs.items()}
        self.distiller = self._build_distiller(distiller)
        dummy = _dummy_batch(input_shape)
        self.distiller.build_recorders(self.student, self.teachers, specs,
                                       dummy)
        # Without module sources (method/function recorders) a teacher runs
        # its full loss forward, which cannot be stopped early.
        self._taps: Dict[str, Optional[ModuleTap]] = {}
        for name, teacher in self.teachers.items():
            sources = module_sources(self.distiller.teacher_recorders[name])
            self._taps[name] = ModuleTap(teacher, sources) if sources else None

        # 2. A dry run records the maps that size the translators.
        self._dry_run(dummy, specs)

        self._register_state_dict_hook(self._drop_teacher_state)
        self._register_load_state_dict_pre_hook(self._fill_teacher_state)
        # Frozen teachers take no part in gradient synchronisation.
        self._ddp_params_and_buffers_to_ignore = [
            f'teachers.{name}' for name, _ in self.teachers.named_parameters()
        ] + [f'teachers.{name}' for name, _ in self.teachers.named_buffers()]
        if channels_last:
            self.to(memory_format=torch.channels_last)
        # ``'student'``, compiled teachers and ``'distiller'`` -> the
        # units whose compiled versions run (empty when eager).
        self.compiled_units = compile_feed(self, parse_compile(compile))
        self.train()

    # ------------------------------------------------------------------
    # 3. The training step.
    def loss(self,
             batch_inputs: torch.Tensor,
             data_samples: Optional[List[BaseDataElement]] = None
             ) -> LossResults:
        """Student task loss plus the FEED terms (and any extra distill
        losses), as a dict of named losses."""
        if self.channels_last and batch_inputs.dim() == 4:
            batch_inputs = batch_inputs.contiguous(
                memory_format=torch.channels_last)
        self.run_teachers(batch_inputs, data_samples)
        with self.distiller.student_recorders, torch.set_grad_enabled(
                self.student_trainable and torch.is_grad_enabled()):
            student_losses = self.student(batch_inputs, data_samples,
                                          mode='loss')
        losses: Dict[str, torch.Tensor] = {}
        if self.calculate_student_loss:
            losses.update(add_prefix(student_losses, 'student'))
        if not self.distillation_stopped:
            losses.update(add_prefix(
                self.distiller.compute_distill_losses(), 'distill'))
        if self.probe_map_grads and torch.is_grad_enabled():
            losses.update(self._map_grad_norms(losses))
        self.distiller.clear_records()
        return losses

    def _map_grad_norms(self, losses: LossResults) -> Dict[str, torch.Tensor]:
        """The norms of the task loss's and of the distillation losses'
        gradients at the student's FEED map, ``student.map_grad_norm`` and
        ``distill.map_grad_norm`` (logged, not optimised: no 'loss' in their
        names). The graph is kept for the step's own backward pass."""
        feature = self.distiller.student_map()
        norms = {}
        for part in ('student', 'distill'):
            terms = [value for name, value in losses.items()
                     if name.startswith(f'{part}.') and 'loss' in name]
            grad = None
            if terms and feature.requires_grad:
                grad = torch.autograd.grad(sum(terms), feature,
                                           retain_graph=True,
                                           allow_unused=True)[0]
            norms[f'{part}.map_grad_norm'] = (
                torch.zeros(()) if grad is None else grad.detach().norm())
        return norms

    def run_teachers(self, inputs: torch.Tensor,
                     data_samples: Optional[List[BaseDataElement]],
                     guard=None) -> None:
        """Fill every teacher's records for ``inputs``."""
        dtype = resolve_autocast(self.teacher_autocast, inputs.device)
        for name, teacher in self.teachers.items():
            teacher_guard = None
            if guard is not None:
                teacher_guard = partial(guard, owner=f'teacher {name!r}')
            forward_teacher(teacher, inputs, data_samples,
                            self.distiller.teacher_recorders[name],
                            self._taps[name], dtype, teacher_guard)

    # ------------------------------------------------------------------
    def _build_distiller(self, cfg: Union[Dict, nn.Module]) -> FEEDDistiller:
        distiller = build_part(dict(dict(type='FEEDDistiller'), **cfg) if
                               isinstance(cfg, Mapping) else cfg,
                               'model.distiller')
        if not isinstance(distiller, FEEDDistiller):
            raise FEEDConfigError(
                'model.distiller', 'FEEDDistill needs a FEEDDistiller, got '
                f'{type(distiller).__name__}')
        return distiller

    def _dry_run(self, dummy: torch.Tensor,
                 specs: Mapping[str, TeacherSpec]) -> None:
        """Run student and teachers once on a dummy batch; on their records,
        build the translators and losses and check the other losses."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                with self.distiller.student_recorders:
                    guard_dry_run(lambda: self.student(dummy, mode='tensor'),
                                  'the student')
                self.run_teachers(dummy, None, guard=guard_dry_run)
                self.distiller.build_feed(specs)
                self.distiller.check_extra_losses()
        finally:
            self.distiller.clear_records()
            self.train(was_training)

    @property
    def student(self) -> nn.Module:
        """The student."""
        return self.architecture

    def train(self, mode: bool = True) -> 'FEEDDistill':
        """Set the student's mode; teachers stay in eval mode (their norm
        layers follow ``mode`` only when ``teacher_norm_eval`` is False)."""
        super().train(mode)
        if hasattr(self, 'teachers'):
            self.teachers.eval()
            if mode and not self.teacher_norm_eval:
                for module in self.teachers.modules():
                    if isinstance(module, _BatchNorm):
                        module.train()
        return self

    # Checkpoints hold the student and the translators only.
    def _drop_teacher_state(self, module, state_dict, prefix, local_metadata):
        if not self.save_teachers:
            teacher_keys = [key for key in state_dict
                            if key.startswith(prefix + 'teachers.')]
            for key in teacher_keys:
                del state_dict[key]
        return state_dict

    def _fill_teacher_state(self, state_dict, prefix, *args):
        # A checkpoint without teacher weights keeps the teachers loaded
        # from their own checkpoints, and strict loading does not miss them.
        for key, value in self.teachers.state_dict().items():
            state_dict.setdefault(f'{prefix}teachers.{key}', value)
        # A checkpoint saved when a loss_weight=0 teacher still had a
        # translator loads without it. Translators of teachers this model
        # does not have (another teacher set) stay: strict loading names
        # them as unexpected keys.
        translators = f'{prefix}distiller.translators.'
        for key in list(state_dict):
            if not key.startswith(translators):
                continue
            teacher = key[len(translators):].split('.')[0]
            if teacher in self.teachers and \
                    teacher not in self.distiller.translators:
                del state_dict[key]


def _dummy_batch(input_shape: Sequence[int]) -> torch.Tensor:
    """The dry run's batch of two zero images of ``input_shape``."""
    if (not isinstance(input_shape, (list, tuple)) or
            not all(isinstance(v, int) and v > 0 for v in input_shape)):
        raise FEEDConfigError(
            'model.input_shape', f'must be a (C, H, W) sequence of positive '
            f'ints, got {input_shape!r}')
    return torch.zeros(2, *input_shape)
