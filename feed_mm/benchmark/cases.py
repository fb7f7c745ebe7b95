"""What the benchmark measures: the models of each case (the plain
student, a frozen teacher, FEED with N teachers and an option variant,
MMRazor's Factor Transfer), the batch, and one step of each. A new row of
the benchmark is a new case of :func:`build_case` or a new option of
:data:`~feed_mm.benchmark.setting.OPTION_ARGS`."""
import dataclasses
from functools import partial
from typing import Any, Callable, Dict, Tuple

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS

import feed_mm  # noqa: F401 - torch shims and registries before any build
from feed_mm.apis.analysis import recorded_feed_features
from feed_mm.models.algorithms.teacher_forward import ModuleTap
from feed_mm.models.algorithms.teacher_spec import build_model
from feed_mm.models.distillers.validation import (FeatureLocation,
                                                  locate_feature_map,
                                                  parse_feature)
from .setting import Setting, parse_variant

# SGD as in the paper's CIFAR schedule; a small lr keeps random-label
# training finite (NaNs or denormals would change the timings).
OPTIMIZER = dict(lr=0.01, momentum=0.9, weight_decay=5e-4)


def _razor_build(cfg: Dict) -> nn.Module:
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(cfg)


def _classifier(setting: Setting, model: Dict) -> nn.Module:
    return build_model(
        dict(model, data_preprocessor=setting.preprocessor), 'model')


def build_student(setting: Setting) -> nn.Module:
    """The plain mmpretrain classifier, in train mode."""
    return _classifier(setting, setting.model).to(setting.device).train()


def build_teacher(setting: Setting) -> nn.Module:
    """A frozen teacher as FEED holds it: eval mode, no gradients."""
    teacher = _classifier(setting, setting.teacher).to(
        setting.device).eval()
    teacher.requires_grad_(False)
    return teacher


def build_feed(setting: Setting, n: int, variant: str = '') -> nn.Module:
    """FEEDDistill with ``n`` teachers of the setting's teacher model (random
    weights) and the options of ``variant``."""
    algo = _razor_build(
        dict(
            type='FEEDDistill',
            architecture=setting.model,
            teachers={
                f't{i}': dict(model=setting.teacher, ckpt=None)
                for i in range(n)
            },
            allow_random_teachers=True,
            input_shape=setting.input_shape,
            data_preprocessor=setting.preprocessor,
            distiller=setting.distiller,
            **(parse_variant(variant) if variant else {})))
    return algo.to(setting.device).train()


def feed_location(setting: Setting, key: str,
                  model: nn.Module) -> FeatureLocation:
    """Where FEED reads ``model``'s map: the distiller's ``key``, or for
    ``'auto'`` (the recipe's) the module the dry run finds."""
    location = parse_feature(setting.distiller.get(key, 'auto'), key)
    if location.source is not None:
        return location
    dummy = torch.zeros(2, *setting.input_shape)
    return dataclasses.replace(location, source=locate_feature_map(
        model, dummy, f'the benchmark\'s {key[:-8]}', key))


def build_mmrazor_ft(setting: Setting, channels: Tuple[int, int]) -> nn.Module:
    """MMRazor's Factor Transfer student side: SingleTeacherDistill +
    ConfigurableDistiller + Translator + FTLoss on the same features and
    with FEED's beta; ``channels`` is ``(C_s, C_t)``."""
    feature = feed_location(setting, 'student_feature',
                            build_model(setting.model, 'student'))
    teacher_feature = feed_location(setting, 'teacher_feature',
                                    build_model(setting.teacher, 'teacher'))

    def record(spec, from_student: bool, **extra) -> Dict:
        # FEED reads the last element of a tuple output by default.
        data_idx = -1 if spec.data_idx is None else spec.data_idx
        return dict(recorder='feat', from_student=from_student,
                    data_idx=data_idx, **extra)

    student, teacher = (dict(
        model, _scope_='mmpretrain', type=model['type'].rpartition('.')[2])
                        for model in (setting.model, setting.teacher))
    algo = _razor_build(
        dict(
            type='SingleTeacherDistill',
            architecture=student,
            teacher=teacher,
            data_preprocessor=setting.preprocessor,
            distiller=dict(
                type='ConfigurableDistiller',
                student_recorders=dict(feat=dict(
                    type='ModuleOutputs', source=feature.source)),
                teacher_recorders=dict(feat=dict(
                    type='ModuleOutputs', source=teacher_feature.source)),
                connectors=dict(translator=dict(
                    type='Translator', in_channel=channels[0],
                    out_channel=channels[1], use_bn=False)),
                distill_losses=dict(loss_ft=dict(
                    type='FTLoss',
                    loss_weight=setting.distiller['feed_loss']['loss_weight'])),
                loss_forward_mappings=dict(loss_ft=dict(
                    s_feature=record(feature, True, connector='translator'),
                    t_feature=record(teacher_feature, False))))))
    # SingleTeacherDistill.train returns None.
    algo.to(setting.device).train()
    return algo


def make_batch(setting: Setting, seed: int = 0) -> Dict[str, Any]:
    """A batch as a dataloader gives it (0..255 pixel values, labelled
    data samples), already on the device."""
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randint(
        0, 256, (setting.batch_size, *setting.input_shape),
        generator=gen).float()
    labels = torch.randint(0, setting.num_classes, (setting.batch_size, ),
                           generator=gen)
    return dict(
        inputs=inputs.to(setting.device),
        data_samples=[
            DataSample().set_gt_label(int(label)).to(setting.device)
            for label in labels
        ])


def make_optim_wrapper(model: nn.Module) -> OptimWrapper:
    """SGD with momentum over the trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    return OptimWrapper(optimizer=torch.optim.SGD(params, **OPTIMIZER))


def weight_bytes(model: nn.Module) -> int:
    """Bytes of a model's parameters and buffers."""
    return sum(t.numel() * t.element_size()
               for t in (*model.parameters(), *model.buffers()))


CASES = ('student', 'teacher_full', 'teacher_backbone', 'feed', 'mmrazor_ft')


def build_case(setting: Setting, spec: Dict[str, Any],
               batch: Dict[str, Any]) -> Tuple[nn.Module, Callable[[], Any]]:
    """Build the model of a case and the closure that runs one step of it.

    Args:
        setting (Setting): The benchmark setting.
        spec (dict): ``case`` (one of :data:`CASES`), with ``n`` and
            ``variant`` for ``'feed'`` and ``channels`` for ``'mmrazor_ft'``.
        batch (dict): The batch of :func:`make_batch`.

    Returns:
        tuple: The model and its step.
    """
    case = spec['case']
    if case in ('teacher_full', 'teacher_backbone'):
        teacher = build_teacher(setting)
        return teacher, teacher_forwards(setting, teacher, batch)[case]
    if case == 'student':
        model = build_student(setting)
    elif case == 'feed':
        model = build_feed(setting, spec['n'], spec.get('variant', ''))
    elif case == 'mmrazor_ft':
        model = build_mmrazor_ft(setting, tuple(spec['channels']))
    else:
        raise ValueError(f'unknown benchmark case {case!r} (one of {CASES})')
    optim_wrapper = make_optim_wrapper(model)
    return model, partial(model.train_step, batch, optim_wrapper)


def teacher_forwards(setting: Setting, teacher: nn.Module,
                     batch: Dict[str, Any]) -> Dict[str, Callable[[], Any]]:
    """A teacher's forward alone on ``batch`` (preprocessed once, outside
    the timing), without autograd: ``teacher_full`` (backbone, neck and
    head) and ``teacher_backbone`` (stopped after the module FEED reads, as
    FEED's early stop does)."""
    inputs = teacher.data_preprocessor(batch, False)['inputs']
    source = feed_location(setting, 'teacher_feature', teacher).source
    tap = ModuleTap(teacher, [source])

    @torch.no_grad()
    def full() -> None:
        teacher(inputs, mode='tensor')

    @torch.no_grad()
    def backbone() -> None:
        with tap:
            teacher(inputs, mode='tensor')

    return dict(teacher_full=full, teacher_backbone=backbone)


def feature_shapes(algo: nn.Module, batch: Dict[str, Any]
                   ) -> Tuple[torch.Size, Dict[str, torch.Size]]:
    """Shapes of the student's and teachers' FEED maps on ``batch``."""
    inputs = algo.data_preprocessor(batch, False)['inputs']
    with recorded_feed_features(algo, inputs) as distiller:
        return (distiller.student_map().shape,
                {name: distiller.teacher_map(name).shape
                 for name in algo.teachers})


def teacher_phase(algo: nn.Module, batch: Dict[str, Any]) -> Callable[[], None]:
    """The teacher phase of FEED's step on ``batch``, as ``loss`` runs it
    (inputs preprocessed once, outside the timing)."""
    inputs = algo.data_preprocessor(batch, True)['inputs']
    if algo.channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    samples = batch['data_samples']

    def run() -> None:
        algo.run_teachers(inputs, samples)
        algo.distiller.clear_records()

    return run


def translators_step(algo: nn.Module,
                     student_shape: torch.Size) -> Callable[[], None]:
    """Forward and backward of all translators on a student-sized map, as
    the step runs them."""
    params = list(algo.distiller.translators.parameters())
    feature = torch.randn(
        student_shape, device=next(algo.parameters()).device,
        requires_grad=True)

    def run() -> None:
        feature.grad = None
        for param in params:
            param.grad = None
        sum(t.float().mean()
            for t in algo.distiller.translate(feature).values()).backward()

    return run


def quiet_logs() -> None:
    # Every build would warn that its random teachers have no checkpoint.
    MMLogger.get_instance('feed_mm_benchmark', log_level='ERROR')
