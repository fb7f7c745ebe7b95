"""FEEDDistill: the FEED algorithm (Park & Kwak), read top-down: building
the teachers, the dry run that sizes the translators, the training step
(:meth:`FEEDDistill.loss`). Teacher specs live in ``teacher_spec.py``, the
ways of running frozen teachers in ``teacher_forward.py``, the recorders,
translators and losses in :class:`~feed_mm.models.distillers.FEEDDistiller`.
"""
from functools import partial
from typing import (Callable, Dict, List, Mapping, Optional, Sequence,
                    Tuple, Union)

import torch
import torch.nn as nn
from mmengine.structures import BaseDataElement
from mmrazor.models.algorithms.base import BaseAlgorithm, LossResults
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from feed_mm.models.distillers import build_distiller
from feed_mm.models.distillers.validation import check_distill_losses
from feed_mm.utils import FEEDConfigError
from .compiling import compile_feed, parse_compile
from .nonfinite_loss import NonFiniteLossGuard
from .teacher_forward import (cast_floats, forward_teacher, guard_dry_run,
                              parse_autocast, plan_teacher_forwards,
                              resolve_autocast)
from .teacher_provenance import check_mismatch_mode, teacher_fingerprints
from .teacher_spec import ModelSpec, build_model, build_teacher, parse_teachers


@MODELS.register_module()
class FEEDDistill(BaseAlgorithm):
    """FEED: feature-level ensemble knowledge distillation from N frozen
    teachers (Park & Kwak), as an MMRazor algorithm.

    The student (``architecture``) is trained with its own task loss plus,
    for every teacher, the FEED loss between the teacher's feature map and
    the student's feature map passed through that teacher's translator
    (see :class:`FEEDDistiller`). Teachers are frozen: no gradients, eval
    mode (norm layers too unless ``teacher_norm_eval=False``), forward under
    ``torch.no_grad`` that stops after the deepest module a loss reads
    (no neck or head when only backbone features are used).

    Checkpoints hold the student and the translators; teachers are rebuilt
    from their own checkpoints (``save_teachers=True`` stores them too).
    Each teacher checkpoint's fingerprint (path, size, sha256) is kept in
    :attr:`teacher_fingerprints`;
    :class:`~feed_mm.engine.TeacherProvenanceHook` stores it in every
    checkpoint's ``meta`` and compares it when a checkpoint is resumed or
    loaded (``teacher_mismatch``).

    Args:
        architecture (dict | BaseModel | str): The student: a model dict,
            a built model, or ``dict(cfg_path='mmpretrain::...',
            pretrained=False)``.
        teachers (dict | list): Ordered ``name -> dict(model=..., ckpt=...,
            feature=None, loss_weight=1.0, translator=None, feed_loss=None)``
            (or ``name -> (model, ckpt[, options])``, or a list named
            ``t0, t1, ...``). ``model`` is built like ``architecture``;
            ``ckpt`` (required) is a checkpoint file or a teacher's work dir
            (None keeps a random teacher, only with
            ``allow_random_teachers``); the other options override the
            distiller's defaults for this teacher.
        distiller (dict): :class:`FEEDDistiller` config. Defaults to
            ``dict(type='FEEDDistiller')``.
        input_shape (Sequence[int]): ``(C, H, W)`` of the dry run that
            infers feature channels. Defaults to ``(3, 32, 32)``.
        teacher_norm_eval (bool): Keep teachers' norm layers in eval mode.
            Defaults to True.
        student_trainable (bool): Whether the student gets gradients.
            Defaults to True.
        calculate_student_loss (bool): Whether the student's own task loss
            is optimised. Defaults to True.
        teacher_early_stop (bool): Stop each teacher's forward once its
            recorded modules have run. Defaults to True.
        save_teachers (bool): Store teacher weights in checkpoints.
            Defaults to False.
        teacher_autocast (str, optional): Teachers under autocast in
            ``'bf16'``/``'fp16'``, maps cast back (losses in full precision);
            ``'auto'`` (the recipe's): fp16 on CUDA, bf16 on a CPU with native
            bf16, else none (docs/benchmark.md). Defaults to None (exact).
        batch_teachers (bool): Teachers of one model config and records as
            one forward vmapped over stacked weights (needs
            ``teacher_norm_eval``; slower on CPU and H200, docs/benchmark.md).
            Defaults to False.
        channels_last (bool): Put student, translators, teachers and the
            training batches in ``channels_last`` memory format.
            Defaults to False.
        compile (bool | dict): ``torch.compile`` (True, or its arguments) of
            the student's and teachers' units and the translators, with no
            recompilation after the warm-up (``compiling.py``); MMEngine's
            ``compile`` key comes here via ``tools/train.py``. Defaults to
            False.
        nonfinite_loss (str): A NaN/Inf loss term ``'error'``s before the
            optimizer step (naming term and iteration) or ``'skip'``s that
            step (:class:`.nonfinite_loss.NonFiniteLossGuard`). Defaults to
            ``'error'``.
        allow_random_teachers (bool): Accept ``ckpt=None`` teachers,
            which keep their random initialisation (tests and benchmarks).
            Defaults to False: every teacher needs a checkpoint.
        teacher_mismatch (str): A resumed/loaded checkpoint trained with
            other teacher files (by content): ``'error'``
            (:class:`~.teacher_provenance.TeacherMismatchError`) or
            ``'warn'``. Defaults to ``'error'``.
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
                 teacher_early_stop: bool = True,
                 save_teachers: bool = False,
                 teacher_autocast: Optional[str] = None,
                 batch_teachers: bool = False,
                 channels_last: bool = False,
                 compile: Union[bool, Dict] = False,
                 nonfinite_loss: str = 'error',
                 allow_random_teachers: bool = False,
                 teacher_mismatch: str = 'error',
                 data_preprocessor: Optional[Union[Dict, nn.Module]] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        for option, value in (('allow_random_teachers', allow_random_teachers),
                              ('batch_teachers', batch_teachers),
                              ('channels_last', channels_last)):
            if not isinstance(value, bool):
                raise FEEDConfigError(f'model.{option}',
                                      f'must be True or False, got {value!r}')
        self.teacher_mismatch = check_mismatch_mode(teacher_mismatch)
        specs = parse_teachers(teachers, allow_random_teachers)
        student = build_model(architecture, 'model.architecture')
        if isinstance(data_preprocessor, Mapping) and \
                'type' not in data_preprocessor:
            data_preprocessor = dict(
                data_preprocessor, type='mmpretrain.ClsDataPreprocessor')
        super().__init__(student, data_preprocessor, init_cfg)

        # 1. The frozen teachers, and the recorders of every model.
        self.teachers = nn.ModuleDict()
        for name, spec in specs.items():
            self.teachers[name] = build_teacher(spec)
        self.teacher_ckpts = {name: spec.ckpt for name, spec in specs.items()}
        self.teacher_fingerprints = teacher_fingerprints(specs)
        self.distiller = (distiller if isinstance(distiller, nn.Module) else
                          build_distiller(distiller))
        self.distiller.build_recorders(self.student, self.teachers, specs)

        self.teacher_norm_eval = teacher_norm_eval
        self.student_trainable = student_trainable
        self.calculate_student_loss = calculate_student_loss
        self.save_teachers = save_teachers
        # May be set by MMRazor's StopDistillHook.
        self.distillation_stopped = False
        self._loss_guard = NonFiniteLossGuard(self, nonfinite_loss)
        self.teacher_autocast = parse_autocast(teacher_autocast)
        if batch_teachers and not teacher_norm_eval:
            raise FEEDConfigError(
                'model.batch_teachers', 'needs teacher_norm_eval=True: a '
                'batched forward cannot update the teachers\' norm statistics')
        self.channels_last = channels_last
        self._taps, self._teacher_groups, self._batched = \
            plan_teacher_forwards(self.teachers, specs,
                                  self.distiller.module_sources,
                                  teacher_early_stop, batch_teachers)

        # 2. The dry run reads the feature shapes that size the translators.
        student_shape, teacher_shapes = self._dry_run(input_shape)
        self.distiller.build_feed(student_shape, teacher_shapes, specs)

        self._register_state_dict_hook(self._drop_teacher_state)
        self._register_load_state_dict_pre_hook(self._fill_teacher_state)
        # Frozen teachers take no part in gradient synchronisation.
        self._ddp_params_and_buffers_to_ignore = [
            f'teachers.{name}' for name, _ in self.teachers.named_parameters()
        ] + [f'teachers.{name}' for name, _ in self.teachers.named_buffers()]
        if channels_last:
            self.to(memory_format=torch.channels_last)
        self._compiled_units = compile_feed(self, parse_compile(compile))
        self.train()

    @property
    def student(self) -> nn.Module:
        """Alias of ``architecture``."""
        return self.architecture

    @property
    def teacher_groups(self) -> List[List[str]]:
        """Teacher names by forward: a group of several runs as one batched
        forward (``batch_teachers``), a single name runs alone."""
        return [list(names) for names in self._teacher_groups]

    @property
    def compiled_units(self) -> Dict[str, List[str]]:
        """Under ``compile``: ``'student'``, each compiled teacher's name and
        ``'distiller'`` -> the paths (methods for the distiller) whose
        compiled versions run; empty when eager."""
        return {name: list(units)
                for name, units in self._compiled_units.items()}

    # ------------------------------------------------------------------
    def _dry_run(self, input_shape: Sequence[int]
                 ) -> Tuple[torch.Size, Dict[str, torch.Size]]:
        """Run student and teachers once on a dummy batch to read the
        shapes of their FEED feature maps, and check the extra distill
        losses on its records."""
        if (not isinstance(input_shape, (list, tuple)) or
                not all(isinstance(v, int) and v > 0 for v in input_shape)):
            raise FEEDConfigError(
                'model.input_shape',
                f'must be a (C, H, W) sequence of positive ints, got '
                f'{input_shape!r}')
        dummy = torch.zeros(2, *input_shape)
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                with self.distiller.student_recorders:
                    guard_dry_run(lambda: self.student(dummy, mode='tensor'),
                                  'the student')
                student_shape = self.distiller.feed_feature(None).shape
                teacher_shapes = {}
                for name in self.teachers:
                    self._forward_teacher(
                        name, dummy, None,
                        partial(guard_dry_run, owner=f'teacher {name!r}'))
                    teacher_shapes[name] = self.distiller.feed_feature(
                        name).shape
                check_distill_losses(self.distiller)
        finally:
            self.distiller.clear_records()
            self.train(was_training)
        return student_shape, teacher_shapes

    # ------------------------------------------------------------------
    def loss(self,
             batch_inputs: torch.Tensor,
             data_samples: Optional[List[BaseDataElement]] = None
             ) -> LossResults:
        """Student task loss plus the FEED terms (and any extra distill
        losses), as a dict of named losses."""
        if self.channels_last and batch_inputs.dim() == 4:
            batch_inputs = batch_inputs.contiguous(
                memory_format=torch.channels_last)
        losses: Dict[str, torch.Tensor] = {}
        self.run_teachers(batch_inputs, data_samples)

        with self.distiller.student_recorders:
            if self.student_trainable:
                student_losses = self.student(
                    batch_inputs, data_samples, mode='loss')
            else:
                with torch.no_grad():
                    student_losses = self.student(
                        batch_inputs, data_samples, mode='loss')
        if self.calculate_student_loss:
            losses.update(add_prefix(student_losses, 'student'))

        if not self.distillation_stopped:
            losses.update(
                add_prefix(self.distiller.compute_distill_losses(),
                           'distill'))
        self.distiller.clear_records()
        return losses

    def run_teachers(self, inputs: torch.Tensor,
                     data_samples: Optional[List[BaseDataElement]]) -> None:
        """Fill every teacher's records for ``inputs``, one forward per
        teacher or per batched group."""
        for names in self._teacher_groups:
            group = self._batched.get(tuple(names))
            if group is None:
                self._forward_teacher(names[0], inputs, data_samples)
                continue
            with torch.no_grad():
                outputs = group(inputs, self._teacher_dtype(inputs))
            for name, records in zip(names, outputs):
                for recorder in self.distiller.teacher_recorders[
                        name].recorders.values():
                    recorder.reset_data_buffer()
                    recorder.data_buffer.append(
                        cast_floats(records[recorder.source], inputs.dtype))

    def _forward_teacher(self, name: str, inputs: torch.Tensor,
                         data_samples: Optional[List[BaseDataElement]],
                         guard: Optional[Callable] = None) -> None:
        forward_teacher(self.teachers[name], inputs, data_samples,
                        self.distiller.teacher_recorders[name],
                        self._taps[name], self._teacher_dtype(inputs), guard)

    def _teacher_dtype(self, inputs: torch.Tensor) -> Optional[torch.dtype]:
        """The teachers' autocast dtype for a batch on ``inputs``'s
        device."""
        return resolve_autocast(self.teacher_autocast, inputs.device)

    def parse_losses(self, losses: Dict[str, torch.Tensor]
                     ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """MMEngine's loss parsing, then the ``nonfinite_loss`` check.

        Both train steps call it between forward and backward: the model's
        own and, under DDP, MMEngine's wrapper (which bypasses the model's
        ``train_step``).
        """
        loss, log_vars = super().parse_losses(losses)
        self._loss_guard.check(self, log_vars)
        return loss, log_vars

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

    # ------------------------------------------------------------------
    # Checkpoints hold the student and the translators only.
    def _drop_teacher_state(self, module, state_dict, prefix, local_metadata):
        if self.save_teachers:
            return state_dict
        for key in [k for k in state_dict
                    if k.startswith(prefix + 'teachers.')]:
            del state_dict[key]
        return state_dict

    def _fill_teacher_state(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint without teacher weights keeps the teachers loaded from
        # their own checkpoints, and strict loading does not miss them.
        for key, value in self.teachers.state_dict().items():
            state_dict.setdefault(f'{prefix}teachers.{key}', value)
