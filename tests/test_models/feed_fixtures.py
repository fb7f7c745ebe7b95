"""Tiny FEED models shared by the model tests."""
import pytest
import torch
import torch.nn as nn
from mmpretrain.structures import DataSample

from feed_mm.utils import FEEDConfigError
from tests.helpers import build_razor_model

PREPROCESSOR = dict(
    type='mmpretrain.ClsDataPreprocessor',
    num_classes=10,
    mean=[125.0, 123.0, 114.0],
    std=[63.0, 62.0, 66.0])


def classifier(base=8, depth=18, out_indices=(3, )):
    """Tiny CIFAR ResNet classifier: the last stage has 8 * base channels
    at 4x4 (32x32 input)."""
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(
            type='ResNet_CIFAR',
            depth=depth,
            stem_channels=8,
            base_channels=base,
            out_indices=out_indices),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=10,
            in_channels=base * (8 if tuple(out_indices) == (3, ) else 4)))


def build_classifier(cfg):
    """A classifier dict of :func:`classifier` built in MMPretrain's
    scope."""
    cfg = dict(cfg)
    cfg['type'] = cfg['type'].split('.')[-1]
    return build_razor_model(dict(cfg, _scope_='mmpretrain'))


def save_checkpoint(model_or_state, path):
    """Save a model (or state dict) as an MMEngine-style checkpoint; returns
    the path."""
    state = (model_or_state.state_dict() if isinstance(
        model_or_state, nn.Module) else model_or_state)
    torch.save({'state_dict': state, 'meta': {}}, str(path))
    return str(path)


def two_teachers(**options):
    """Teachers t0 (128 channels) and t1 (32 channels), without
    checkpoints; ``options[name]`` adds or overrides teacher options."""
    teachers = dict(
        t0=dict(model=classifier(16), ckpt=None),
        t1=dict(model=classifier(4), ckpt=None))
    for name, extra in options.items():
        teachers[name].update(extra)
    return teachers


def build_feed(teachers=None, distiller=None, architecture=None, **kwargs):
    cfg = dict(
        type='FEEDDistill',
        architecture=architecture or classifier(8),
        teachers=two_teachers() if teachers is None else teachers,
        distiller=dict(type='FEEDDistiller', **(distiller or {})),
        data_preprocessor=PREPROCESSOR,
        allow_random_teachers=True)
    cfg.update(kwargs)
    return build_razor_model(cfg)


def assert_config_error(key, **build_kwargs):
    """``build_feed(**build_kwargs)`` raises a FEEDConfigError naming
    ``key``; returns it."""
    with pytest.raises(FEEDConfigError) as info:
        build_feed(**build_kwargs)
    assert info.value.key == key, str(info.value)
    return info.value


def kd_distiller(recorded=('t0', ), **preds_t):
    """A distiller with a logits KD loss beside FEED: student and teachers
    ``recorded`` record ``head.fc``; ``preds_t`` completes the teacher's
    record (``from_teacher``, ``record_idx``...)."""
    logits = dict(type='ModuleOutputs', source='head.fc')
    record_t = dict(recorder='logits', from_student=False)
    record_t.update(preds_t)
    return dict(
        student_recorders=dict(logits=logits),
        teacher_recorders={name: dict(logits=logits)
                           for name in recorded},
        distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4)),
        loss_forward_mappings=dict(
            loss_kd=dict(
                preds_S=dict(recorder='logits', from_student=True),
                preds_T=record_t)))


def batch(n=4, seed=0, size=32):
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(n, 3, size, size, generator=gen)
    samples = [DataSample().set_gt_label(i % 10) for i in range(n)]
    return inputs, samples


def count_calls(model, module_names):
    """Count the calls of named modules of ``model``."""
    modules = dict(model.named_modules())
    counts = {name: 0 for name in module_names}
    handles = []
    for name in module_names:

        def hook(module, inputs, name=name):
            counts[name] += 1

        # A pre-hook: a stopped forward never reaches the module at all.
        handles.append(modules[name].register_forward_pre_hook(hook))
    return counts, handles
