import copy
import os.path as osp
import re
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.structures import BaseDataElement
from mmrazor.models.algorithms.base import BaseAlgorithm, LossResults
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from feed_mm.models.distillers import FEEDDistiller
from feed_mm.models.distillers.feed_distiller import in_razor_scope
from feed_mm.utils import FEEDConfigError
from .nonfinite_loss import NonFiniteLossGuard
from .teacher_forward import (ModuleTap, StopForward, TeacherGroup,
                              cast_floats, parse_autocast, teacher_autocast)

TEACHER_OPTION_KEYS = ('model', 'ckpt', 'feature', 'loss_weight', 'translator',
                       'feed_loss')
_TEACHER_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
ModelSpec = Union[str, Dict, nn.Module]


def build_model(spec: ModelSpec, key: str) -> BaseModel:
    """Build a student or teacher from a model dict, a built model, or a
    ``'package::path/to/config.py'`` string (or ``dict(cfg_path=...)``).

    A model dict whose type is not in MMRazor's registry is built in
    MMPretrain's scope, so mmpretrain model dicts work unprefixed.
    """
    if isinstance(spec, nn.Module):
        model = spec
    else:
        if isinstance(spec, str):
            spec = dict(cfg_path=spec, pretrained=False)
        if not isinstance(spec, Mapping):
            raise FEEDConfigError(
                key, 'expected a model config dict, a built model or a '
                f"'package::config.py' path, got {type(spec).__name__}")
        cfg = copy.deepcopy(dict(spec))
        if 'cfg_path' not in cfg:
            model_type = cfg.get('type')
            if model_type is None:
                raise FEEDConfigError(key, 'the model config has no type')
            # The nested builds (backbone, head, ...) resolve their types in
            # the default scope; a 'scope.Type' prefix alone does not switch
            # it, so the model is built under its own scope instead.
            if isinstance(model_type, str) and '_scope_' not in cfg:
                scope, _, name = model_type.rpartition('.')
                if scope:
                    cfg.update(type=name, _scope_=scope)
                else:
                    cfg['_scope_'] = ('mmrazor' if MODELS.get(model_type)
                                      else 'mmpretrain')
        try:
            model = MODELS.build(cfg)
        except FEEDConfigError:
            raise
        except Exception as err:  # the registry wraps all build errors
            raise FEEDConfigError(key, f'cannot build the model: {err}') \
                from err
    if not isinstance(model, BaseModel):
        raise FEEDConfigError(
            key, 'expected an MMEngine BaseModel (e.g. an mmpretrain '
            f'ImageClassifier), got {type(model).__name__}')
    return model


def extract_model_state(checkpoint: Any, model: nn.Module) -> Dict:
    """The weights of ``model`` in an mmengine/mmpretrain/FEED checkpoint.

    A FEED or MMRazor distillation checkpoint stores the student under
    ``architecture.``; a DDP-saved one under ``module.``. Both are unwrapped
    so that a trained student (e.g. an earlier sFEED generation) can be a
    teacher.
    """
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, Mapping) else checkpoint
    if not isinstance(state, Mapping):
        return {}
    own_keys = set(model.state_dict())
    # The DDP wrapper's prefix comes off first, so that a DDP-saved
    # distillation checkpoint ('module.architecture.') unwraps too.
    for prefix in ('module.', 'architecture.'):
        if own_keys.isdisjoint(state) and any(
                k.startswith(prefix) for k in state):
            state = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                                if k.startswith(prefix))
    return dict(state)


def resolve_checkpoint(path: str, key: str, owner: str) -> str:
    """A checkpoint file, or a work dir whose ``last_checkpoint`` names one
    (what MMEngine's CheckpointHook writes), so configs can point at a
    teacher's work dir whatever its schedule length."""
    if '://' in path or osp.isfile(path):
        return path
    if osp.isdir(path):
        pointer = osp.join(path, 'last_checkpoint')
        if not osp.isfile(pointer):
            raise FEEDConfigError(
                key, f'{path} is a directory without a last_checkpoint file: '
                f'no trained checkpoint of {owner} there (train it first)')
        with open(pointer) as f:
            target = f.read().strip()
        if not osp.isabs(target) and not osp.isfile(target):
            target = osp.join(path, osp.basename(target))
        if not osp.isfile(target):
            raise FEEDConfigError(
                key, f'{pointer} names {target}, which does not exist')
        return target
    raise FEEDConfigError(key, f'checkpoint file of {owner} not found: {path}')


def load_teacher_weights(teacher: nn.Module, ckpt: str, name: str) -> None:
    """Load a teacher checkpoint strictly, through MMEngine's checkpoint
    loader (and so feed_mm's safe unpickling)."""
    key = f'model.teachers.{name}.ckpt'
    if not isinstance(ckpt, str):
        raise FEEDConfigError(key, f'must be a path string, got {ckpt!r}')
    ckpt = resolve_checkpoint(ckpt, key, f'teacher {name!r}')
    checkpoint = CheckpointLoader.load_checkpoint(ckpt, map_location='cpu')
    state = extract_model_state(checkpoint, teacher)
    own = teacher.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(
        k for k in set(own) & set(state)
        if hasattr(state[k], 'shape') and state[k].shape != own[k].shape)
    if missing or unexpected or mismatched:
        parts = []
        for label, keys in (('missing keys', missing),
                            ('unexpected keys', unexpected)):
            if keys:
                parts.append(f'{len(keys)} {label} ({", ".join(keys[:4])}'
                             f'{", ..." if len(keys) > 4 else ""})')
        for k in mismatched[:4]:
            parts.append(f'shape of {k}: checkpoint '
                         f'{tuple(state[k].shape)} vs model '
                         f'{tuple(own[k].shape)}')
        raise FEEDConfigError(
            key, f'checkpoint {ckpt} does not match the model of teacher '
            f'{name!r}: ' + '; '.join(parts))
    teacher.load_state_dict(state, strict=True)


def normalize_teachers(teachers: Any) -> 'OrderedDict[str, Dict[str, Any]]':
    """Teachers as an ordered ``name -> options`` dict.

    Accepts a dict ``name -> dict(model=..., ckpt=..., **options)`` or
    ``name -> (model, ckpt[, options])``, or a list of those values (named
    ``t0``, ``t1``, ... in order).
    """
    key = 'model.teachers'
    if isinstance(teachers, (list, tuple)):
        teachers = OrderedDict((f't{i}', spec) for i, spec in enumerate(teachers))
    if not isinstance(teachers, Mapping):
        raise FEEDConfigError(
            key, 'must be a dict of teacher name -> dict(model=..., '
            f'ckpt=...) or a list of those, got {type(teachers).__name__}')
    if not teachers:
        raise FEEDConfigError(key, 'FEED needs at least one teacher')
    normalized: 'OrderedDict[str, Dict[str, Any]]' = OrderedDict()
    for name, spec in teachers.items():
        t_key = f'{key}.{name}'
        if not isinstance(name, str) or not _TEACHER_NAME.match(name):
            raise FEEDConfigError(
                t_key, 'a teacher name must be an identifier (letters, '
                'digits, underscores), as it names modules and loss terms')
        if isinstance(spec, (list, tuple)):
            if not 1 <= len(spec) <= 3 or (len(spec) == 3 and
                                           not isinstance(spec[2], Mapping)):
                raise FEEDConfigError(
                    t_key, 'a teacher tuple is (model, ckpt) or (model, '
                    f'ckpt, options_dict), got {spec!r}')
            options = dict(spec[2]) if len(spec) == 3 else {}
            options.update(model=spec[0],
                           ckpt=spec[1] if len(spec) > 1 else None)
        elif isinstance(spec, Mapping):
            options = dict(spec)
        else:
            raise FEEDConfigError(
                t_key, 'a teacher is dict(model=..., ckpt=...), got '
                f'{type(spec).__name__}')
        for option in options:
            if option not in TEACHER_OPTION_KEYS:
                raise FEEDConfigError(
                    f'{t_key}.{option}', 'unknown teacher option (allowed: '
                    f'{", ".join(TEACHER_OPTION_KEYS)})')
        if 'model' not in options:
            raise FEEDConfigError(f'{t_key}.model', 'is required')
        normalized[name] = options
    return normalized


def build_distiller(cfg: Dict) -> FEEDDistiller:
    """Build the distiller config, checking that it is a FEEDDistiller."""
    if not isinstance(cfg, Mapping):
        raise FEEDConfigError('model.distiller',
                              f'expected a config dict, got {cfg!r}')
    cfg = dict(cfg)
    cfg.setdefault('type', 'FEEDDistiller')
    try:
        distiller = MODELS.build(in_razor_scope(cfg))
    except FEEDConfigError:
        raise
    except Exception as err:
        raise FEEDConfigError('model.distiller', str(err)) from err
    if not isinstance(distiller, FEEDDistiller):
        raise FEEDConfigError(
            'model.distiller',
            f'FEEDDistill needs a FEEDDistiller, got {type(distiller).__name__}')
    return distiller


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

    Args:
        architecture (dict | BaseModel | str): The student: a model dict,
            a built model, or ``dict(cfg_path='mmpretrain::...',
            pretrained=False)``.
        teachers (dict | list): Ordered ``name -> dict(model=..., ckpt=...,
            feature=None, loss_weight=1.0, translator=None, feed_loss=None)``
            (or ``name -> (model, ckpt[, options])``, or a list named
            ``t0, t1, ...``). ``model`` is built like ``architecture``;
            ``ckpt`` is a checkpoint path (None keeps a random teacher, for
            tests and benchmarks only); the other options override the
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
        teacher_autocast (str, optional): Run the teachers under autocast
            in ``'bf16'`` or ``'fp16'``; their maps are cast back to the
            input's dtype, so every loss is computed in full precision.
            Defaults to None (full precision).
        batch_teachers (bool): Run teachers of one architecture (same model
            config, same recorded modules) as a single forward vmapped over
            their stacked weights instead of one forward each. It needs
            ``teacher_norm_eval=True`` and module recorders on the teachers;
            it holds the activations of a group's teachers at once. Under
            ``teacher_autocast`` a group runs wholly in that dtype (autocast
            does not reach inside ``vmap``). ``vmap`` turns convolutions into
            grouped ones, which were slower than sequential forwards on CPU
            and on an H200 (docs/benchmark.md). Defaults to False.
        channels_last (bool): Put student, translators, teachers and the
            training batches in ``channels_last`` memory format.
            Defaults to False.
        nonfinite_loss (str): When a training loss term is NaN or infinite:
            ``'error'`` stops training with a
            :class:`~feed_mm.utils.NonFiniteLossError` naming the term and
            the iteration, before the optimizer step (the checkpoints saved
            so far stay those of good iterations); ``'skip'`` logs a warning
            and skips that optimizer step, leaving parameters, optimizer
            state and norm statistics unchanged. The flags are read just
            before the optimizer step, so the check never stalls a GPU
            before the backward pass. Under DDP all processes agree.
            Defaults to ``'error'``.
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
                 nonfinite_loss: str = 'error',
                 data_preprocessor: Optional[Union[Dict, nn.Module]] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        teacher_specs = normalize_teachers(teachers)
        student = build_model(architecture, 'model.architecture')
        if isinstance(data_preprocessor, Mapping) and \
                'type' not in data_preprocessor:
            data_preprocessor = dict(
                data_preprocessor, type='mmpretrain.ClsDataPreprocessor')
        super().__init__(student, data_preprocessor, init_cfg)

        self.teachers = nn.ModuleDict()
        for name, spec in teacher_specs.items():
            teacher = build_model(spec['model'], f'model.teachers.{name}.model')
            # Same reason as MMRazor: inplace ops in a frozen teacher could
            # overwrite a recorded feature map.
            for module in teacher.modules():
                if hasattr(module, 'inplace'):
                    module.inplace = False
            if spec.get('ckpt') is not None:
                load_teacher_weights(teacher, spec['ckpt'], name)
            else:
                print_log(
                    f'Teacher {name!r} has no checkpoint: it keeps its '
                    'random initialisation.', logger='current',
                    level=30)
            # Runner.init_weights must not re-initialise loaded teachers.
            teacher._is_init = True
            for param in teacher.parameters():
                param.requires_grad_(False)
            self.teachers[name] = teacher
        self.teacher_ckpts = {
            name: spec.get('ckpt') for name, spec in teacher_specs.items()
        }

        if not isinstance(distiller, nn.Module):
            distiller = build_distiller(distiller)
        self.distiller = distiller
        self.distiller.build_recorders(
            self.student, self.teachers,
            {name: spec.get('feature') for name, spec in teacher_specs.items()})
        self.teacher_norm_eval = teacher_norm_eval
        self.student_trainable = student_trainable
        self.calculate_student_loss = calculate_student_loss
        self.save_teachers = save_teachers
        # May be set by MMRazor's StopDistillHook.
        self.distillation_stopped = False
        self._loss_guard = NonFiniteLossGuard(self, nonfinite_loss)

        self._teacher_dtype = parse_autocast(teacher_autocast)
        for option, value in (('batch_teachers', batch_teachers),
                              ('channels_last', channels_last)):
            if not isinstance(value, bool):
                raise FEEDConfigError(f'model.{option}',
                                      f'must be True or False, got {value!r}')
        if batch_teachers and not teacher_norm_eval:
            raise FEEDConfigError(
                'model.batch_teachers', 'needs teacher_norm_eval=True: a '
                'batched forward cannot update the teachers\' norm statistics')
        self._taps: Dict[str, Optional[ModuleTap]] = {}
        for name, teacher in self.teachers.items():
            sources = self.distiller.module_sources(name)
            # Without module sources (method/function recorders) a teacher
            # runs its full loss forward, which cannot be stopped.
            self._taps[name] = (
                ModuleTap(teacher, sources, stop=teacher_early_stop)
                if sources else None)
        self._teacher_groups = self._group_teachers(
            teacher_specs) if batch_teachers else [[name] for name in
                                                   self.teachers]
        self._batched = {
            tuple(names): TeacherGroup(
                [self.teachers[n] for n in names], self._taps[names[0]])
            for names in self._teacher_groups if len(names) > 1
        }
        self.channels_last = channels_last

        student_shape, teacher_shapes = self._dry_run(input_shape)
        self.distiller.build_feed(
            student_shape, teacher_shapes,
            {name: spec for name, spec in teacher_specs.items()})

        self._register_state_dict_hook(self._drop_teacher_state)
        self._register_load_state_dict_pre_hook(self._fill_teacher_state)
        # Frozen teachers take no part in gradient synchronisation.
        self._ddp_params_and_buffers_to_ignore = [
            f'teachers.{name}' for name, _ in self.teachers.named_parameters()
        ] + [f'teachers.{name}' for name, _ in self.teachers.named_buffers()]
        if channels_last:
            self.to(memory_format=torch.channels_last)
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

    def _group_teachers(self, specs: Mapping[str, Dict[str, Any]]
                        ) -> List[List[str]]:
        """Group the teachers that one batched forward can run: the same
        model (config, or structure for a built module), the same weight
        shapes and the same module records."""
        groups: Dict[tuple, List[str]] = {}
        for name, teacher in self.teachers.items():
            sources = self.distiller.module_sources(name, outputs_only=True)
            if not sources:
                key: tuple = (name, )
            else:
                model = specs[name]['model']
                key = (repr(model) if isinstance(model, (str, Mapping)) else
                       repr(teacher), type(teacher),
                       tuple((k, tuple(v.shape), v.dtype)
                             for k, v in teacher.state_dict().items()),
                       tuple(sources))
            groups.setdefault(key, []).append(name)
        batched = [names for names in groups.values() if len(names) > 1]
        if batched:
            print_log(
                'Teachers run as batched forwards: ' + '; '.join(
                    ', '.join(names) for names in batched), logger='current')
        return list(groups.values())

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
                    self._guarded(lambda: self.student(dummy, mode='tensor'),
                                  'the student')
                student_shape = self.distiller.feed_feature(None).shape
                teacher_shapes = {}
                for name in self.teachers:
                    self._forward_teacher(name, dummy, None, probe=True)
                    teacher_shapes[name] = self.distiller.feed_feature(
                        name).shape
                self.distiller.check_distill_losses()
        finally:
            self.distiller.clear_records()
            self.train(was_training)
        return student_shape, teacher_shapes

    @staticmethod
    def _guarded(forward, owner: str):
        try:
            return forward()
        except StopForward:
            raise
        except (RuntimeError, ValueError, AssertionError) as err:
            raise FEEDConfigError(
                'model.input_shape', f'the dry run of {owner} failed on a '
                f'dummy batch: {err}') from err

    def _forward_teacher(self,
                         name: str,
                         inputs: torch.Tensor,
                         data_samples: Optional[List[BaseDataElement]],
                         probe: bool = False) -> None:
        teacher = self.teachers[name]
        tap = self._taps[name]
        recorders = self.distiller.teacher_recorders[name]
        with recorders, torch.no_grad(), teacher_autocast(
                self._teacher_dtype, inputs.device):
            if tap is not None or probe:

                def forward():
                    return teacher(inputs, mode='tensor')
            else:

                def forward():
                    return teacher(inputs, data_samples, mode='loss')

            if probe:
                forward = (lambda f=forward: self._guarded(
                    f, f'teacher {name!r}'))
            if tap is not None:
                with tap:
                    forward()
            else:
                forward()
        if self._teacher_dtype is not None:
            for recorder in recorders.recorders.values():
                recorder.data_buffer[:] = cast_floats(recorder.data_buffer,
                                                      inputs.dtype)

    def _run_teachers(self, inputs: torch.Tensor,
                      data_samples: Optional[List[BaseDataElement]]) -> None:
        """Fill every teacher's records for ``inputs``, one forward per
        teacher or per batched group."""
        for names in self._teacher_groups:
            group = self._batched.get(tuple(names))
            if group is None:
                self._forward_teacher(names[0], inputs, data_samples)
                continue
            with torch.no_grad():
                outputs = group(inputs, self._teacher_dtype)
            for name, records in zip(names, outputs):
                for recorder in self.distiller.teacher_recorders[
                        name].recorders.values():
                    recorder.reset_data_buffer()
                    recorder.data_buffer.append(
                        cast_floats(records[recorder.source], inputs.dtype))

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
        self._run_teachers(batch_inputs, data_samples)

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

    @torch.no_grad()
    def feed_feature_pairs(self, inputs: torch.Tensor
                           ) -> Dict[str, Tuple[torch.Tensor, torch.Tensor]]:
        """For each teacher, the translated student map and the teacher's
        map brought to its size: what the FEED loss compares (used by the
        reconstruction-error analysis).

        Args:
            inputs (Tensor): A preprocessed batch.

        Returns:
            dict: ``name -> (translated_student, teacher_feature)``.
        """
        self._run_teachers(inputs, None)
        with self.distiller.student_recorders:
            self.student(inputs, mode='tensor')
        student_feature = self.distiller.feed_feature(None)
        pairs = {}
        for name, translator in self.distiller.translators.items():
            translated = translator(student_feature)
            teacher_feature = self.distiller.feed_losses[name].align(
                translated, self.distiller.feed_feature(name), name)
            pairs[name] = (translated, teacher_feature)
        self.distiller.clear_records()
        return pairs

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

    # ------------------------------------------------------------------
    # Checkpoints hold the student and the translators only.
    def _drop_teacher_state(self, module, state_dict, prefix, local_metadata):
        if self.save_teachers:
            return state_dict
        for key in [k for k in state_dict if k.startswith(prefix + 'teachers.')]:
            del state_dict[key]
        return state_dict

    def _fill_teacher_state(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint without teacher weights keeps the teachers loaded from
        # their own checkpoints, and strict loading does not miss them.
        for key, value in self.teachers.state_dict().items():
            state_dict.setdefault(f'{prefix}teachers.{key}', value)

