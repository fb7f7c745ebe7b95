"""Property-based fuzzing of FEED configs.

Hypothesis draws FEEDDistill configs (0 to 4 teachers, student and teachers
of random widths and recorded stages, feature locations, teacher names,
per-teacher options, FEED loss and translator settings, an extra KD loss on
logits) and, for each, the config keys it got wrong on purpose. A config
with no planted defect must build and take one SGD step; any other config
must raise FEEDConfigError naming one of its planted keys, and nothing
else (no bare KeyError/IndexError/TypeError or shape error from deep inside
torch, MMEngine or MMRazor).
"""
import copy
import math
import os
from typing import Any, Dict, List, Optional, Set, Tuple

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmpretrain.structures import DataSample

from feed_mm.utils import FEEDConfigError
from tests.helpers import build_razor_model

STUDENT_CLASSES = 10
LFM = 'model.distiller.loss_forward_mappings.loss_kd'
KD_LOSS = 'model.distiller.distill_losses.loss_kd'

# Module paths of a CifarResNet classifier and the stage whose output map
# (channels base * 2**stage, side size >> stage) they give.
STAGE_MODULES = {
    'backbone.layer1': 0,
    'backbone.layer2': 1,
    'backbone.layer3': 2,
    'backbone.layer3.0.conv1': 2,
}
# Feature locations that are valid for some models, and always invalid.
FEATURE_SPECS = [
    'backbone',
    dict(source='backbone', data_idx=-1),
    dict(source='backbone', data_idx=0),
    # Valid when the backbone returns two stages.
    dict(source='backbone', data_idx=1),
    'backbone.layer2',
    'backbone.layer3',
    'backbone.layer3.0.conv1',
    dict(source='backbone.layer3', type='ModuleInputs'),
    dict(source='backbone.layer3', type='ModuleInputs', data_idx=0),
]
BAD_FEATURE_SPECS = [
    dict(source='backbone', data_idx=-3),
    dict(source='backbone', data_idx='last'),
    dict(source='backbone.layer3', data_idx=0),
    dict(source='backbone', type='ModuleCalls'),
    dict(source='backbone', index=0),
    'neck',
    'head.fc',
    '',
    'backbone.layer9',
    42,
]
# Odds of a knob taking an invalid value: with ~25 knobs, about a third of
# the configs are valid, most others have one defect.
BAD_ODDS = [True] + [False] * 59


def pick(draw, valid, invalid=()):
    """One of ``valid``, or rarely one of ``invalid``."""
    if invalid and draw(st.sampled_from(BAD_ODDS)):
        return draw(st.sampled_from(invalid))
    return draw(st.sampled_from(valid))


class Plan:
    """A drawn config and what it should do: the planted defects (each a
    set of config keys that may be named for it) and, while it is valid,
    the channels and side sizes of the FEED maps."""

    def __init__(self) -> None:
        self.defects: List[Set[str]] = []

    def plant(self, *keys: str) -> None:
        self.defects.append(set(keys))

    @property
    def valid(self) -> bool:
        return not self.defects

    def allowed_keys(self) -> Set[str]:
        return set().union(*self.defects)


def classifier(base: int, out_indices: Tuple[int, ...],
               num_classes: int) -> Dict[str, Any]:
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(
            type='CifarResNet',
            depth=8,
            base_channels=base,
            out_indices=out_indices),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=base * 2**out_indices[-1]))


def resolve_feature(spec: Any, base: int, out_indices: Tuple[int, ...],
                    side: int, key: str, plan: Plan
                    ) -> Optional[Tuple[int, int]]:
    """(channels, side) of the map that ``spec`` records, or None after
    planting the defect it makes (under ``key``)."""
    if isinstance(spec, str):
        spec = dict(source=spec)
    if not isinstance(spec, dict):
        plan.plant(key)
        return None
    unknown = set(spec) - {'source', 'data_idx', 'type'}
    if unknown:
        plan.plant(f'{key}.{sorted(unknown)[0]}')
        return None
    if spec.get('type', 'ModuleOutputs') not in ('ModuleOutputs',
                                                 'ModuleInputs'):
        plan.plant(f'{key}.type')
        return None
    data_idx = spec.get('data_idx')
    if data_idx is not None and not isinstance(data_idx, int):
        plan.plant(f'{key}.data_idx')
        return None
    source = spec['source']
    if source == 'backbone.layer9':
        plan.plant(key)
        return None
    if source in ('neck', 'head.fc', ''):
        # Pooled features and logits are not maps (N, C, H, W).
        plan.plant(key, f'{key}.data_idx')
        return None
    if spec.get('type') == 'ModuleInputs':
        # The inputs of layer3 are (map of stage 1, ).
        stages: Tuple[int, ...] = (1, )
    elif source == 'backbone':
        stages = out_indices
    else:
        if data_idx is not None:
            plan.plant(f'{key}.data_idx')
            return None
        stage = STAGE_MODULES[source]
        return base * 2**stage, side >> stage
    if data_idx is None:
        data_idx = -1
    if not -len(stages) <= data_idx < len(stages):
        plan.plant(f'{key}.data_idx')
        return None
    stage = stages[data_idx]
    return base * 2**stage, side >> stage


@st.composite
def feed_configs(draw) -> Tuple[Dict[str, Any], Plan, Tuple[int, ...]]:
    plan = Plan()
    side = draw(st.sampled_from([16, 32]))
    input_shape: Any = pick(draw, [(3, side, side)],
                            [(1, side, side), (3, side)])
    if input_shape != (3, side, side):
        plan.plant('model.input_shape')

    s_base = draw(st.sampled_from([2, 4]))
    s_out = draw(st.sampled_from([(2, ), (1, 2)]))
    architecture = classifier(s_base, s_out, STUDENT_CLASSES)

    distiller: Dict[str, Any] = dict(type='FEEDDistiller')
    s_spec = pick(draw, ['backbone'] * 3 + FEATURE_SPECS, BAD_FEATURE_SPECS)
    distiller['student_feature'] = s_spec
    s_map = resolve_feature(s_spec, s_base, s_out, side,
                            'model.distiller.student_feature', plan)
    t_default = pick(draw, ['backbone'] * 3 + FEATURE_SPECS,
                     BAD_FEATURE_SPECS)
    distiller['teacher_feature'] = t_default

    reduction = pick(draw, ['sum', 'mean'], ['max', 3])
    distiller['teacher_reduction'] = reduction
    if reduction not in ('sum', 'mean'):
        plan.plant('model.distiller.teacher_reduction')

    feed_loss = pick(draw, [
        None,
        dict(type='FEEDLoss', loss_weight=500.0),
        dict(type='FEEDLoss', reduction='sum', loss_weight=0.5),
        dict(type='FEEDLoss', spatial_mismatch='error'),
    ], [
        dict(type='FEEDLoss', reduction='avg'),
        dict(type='FEEDLoss', loss_weight=-1.0),
        dict(type='FEEDLoss', loss_weight='beta'),
        dict(type='FEEDLoss', loss_weight=math.nan),
        'FEEDLoss',
    ])
    spatial_error_key = None
    if isinstance(feed_loss, str):
        plan.plant('model.distiller.feed_loss')
    elif feed_loss is not None:
        for arg, value in feed_loss.items():
            bad = dict(
                reduction=value not in ('mean', 'sum'),
                loss_weight=not isinstance(value, float) or
                not value >= 0).get(arg, False)
            if bad:
                plan.plant(f'model.distiller.feed_loss.{arg}')
        if feed_loss.get('spatial_mismatch') == 'error':
            spatial_error_key = 'model.distiller.feed_loss.spatial_mismatch'
    if feed_loss is not None:
        distiller['feed_loss'] = feed_loss

    translator = pick(
        draw, [None, 'in_ok', dict(type='FEEDTranslator', num_convs=2)],
        ['in_wrong', dict(type='FEEDTranslator', num_convs=0),
         'FEEDTranslator'])
    if translator in ('in_ok', 'in_wrong'):
        channels = s_map[0] if s_map else 8
        translator = dict(
            type='FEEDTranslator',
            in_channels=channels + (translator == 'in_wrong'))
        if s_map and translator['in_channels'] != s_map[0]:
            plan.plant('model.distiller.translator.in_channels')
    elif isinstance(translator, str):
        plan.plant('model.distiller.translator')
    elif translator is not None and translator['num_convs'] < 1:
        plan.plant('model.distiller.translator.num_convs')
    if translator is not None:
        distiller['translator'] = translator

    # Teachers.
    num_teachers = pick(draw, [1, 2, 3, 4], [0])
    if num_teachers == 0:
        plan.plant('model.teachers')
    names: List[str] = []
    for _ in range(num_teachers):
        name = pick(draw, ['t0', 't1', 'teacher_2', 'T3', '_t4'],
                    ['0t', 'a-b', 't.5', ''])
        if name not in names:
            names.append(name)
    teachers: Dict[str, Any] = {}
    teacher_classes = {}
    for name in names:
        key = f'model.teachers.{name}'
        if not name.isidentifier():
            plan.plant(key)
        base = draw(st.sampled_from([2, 4, 8]))
        out = draw(st.sampled_from([(2, ), (1, 2)]))
        # Other classes than the student's only matter to a logit loss.
        teacher_classes[name] = draw(
            st.sampled_from([STUDENT_CLASSES] * 3 + [7]))
        options: Dict[str, Any] = dict(
            model=classifier(base, out, teacher_classes[name]), ckpt=None)
        weight = pick(draw, [None, 1.0, 0.5, 0],
                      [-1.0, 'one', math.inf, math.nan])
        if weight is not None:
            options['loss_weight'] = weight
            if isinstance(weight, str) or not 0 <= weight < math.inf:
                plan.plant(f'{key}.loss_weight')
        if draw(st.booleans()):
            spec = pick(draw, FEATURE_SPECS, BAD_FEATURE_SPECS)
            options['feature'] = spec
            t_map = resolve_feature(spec, base, out, side, f'{key}.feature',
                                    plan)
            t_spatial_key = f'{key}.feature'
        else:
            t_map = resolve_feature(t_default, base, out, side,
                                    'model.distiller.teacher_feature', plan)
            t_spatial_key = 'model.distiller.teacher_feature'
        override = pick(draw, [None, 'out_ok'],
                        ['out_wrong', 'not_a_dict', dict(num_convs=0)])
        if override in ('out_ok', 'out_wrong'):
            channels = t_map[0] if t_map else 8
            options['translator'] = dict(
                out_channels=channels + (override == 'out_wrong'))
            if t_map and override == 'out_wrong':
                plan.plant(f'{key}.translator.out_channels')
        elif override == 'not_a_dict':
            options['translator'] = 3
            plan.plant(f'{key}.translator')
        elif override is not None:
            options['translator'] = override
            plan.plant(f'{key}.translator.num_convs')
        loss_override = pick(
            draw, [None, dict(reduction='sum'),
                   dict(spatial_mismatch='error')], [dict(reduction='none')])
        if loss_override is not None:
            options['feed_loss'] = loss_override
            if loss_override.get('reduction') == 'none':
                plan.plant(f'{key}.feed_loss.reduction')
        mismatch_key = (f'{key}.feed_loss.spatial_mismatch' if loss_override
                        and 'spatial_mismatch' in loss_override else
                        spatial_error_key)
        if mismatch_key and s_map and t_map and s_map[1] != t_map[1]:
            plan.plant(mismatch_key, 'model.distiller.student_feature',
                       t_spatial_key)
        if pick(draw, [False], [True]):
            options['wieght'] = 1.0
            plan.plant(f'{key}.wieght')
        teachers[name] = options

    # An extra KD loss on logits, beside FEED.
    if names and draw(st.booleans()):
        chosen = draw(st.sampled_from(names))
        logits = dict(type='ModuleOutputs', source='head.fc')
        s_source = pick(draw, ['head.fc'], ['head.fcc'])
        distiller['student_recorders'] = dict(
            logits=dict(logits, source=s_source))
        if s_source != 'head.fc':
            plan.plant('model.distiller.student_recorders.logits.source')
        t_target = pick(draw, [chosen], ['tz'])
        distiller['teacher_recorders'] = {t_target: dict(logits=logits)}
        if t_target != chosen:
            plan.plant(f'model.distiller.teacher_recorders.{t_target}')
        kd_type = pick(draw, ['KLDivergence'], ['KLDivergenze'])
        kd_reduction = pick(draw, ['batchmean', 'sum'], ['avg'])
        kd_weight = pick(draw, [1.0, -0.5], ['w'])
        distiller['distill_losses'] = dict(
            loss_kd=dict(
                type=kd_type,
                tau=4,
                reduction=kd_reduction,
                loss_weight=kd_weight))
        if kd_type != 'KLDivergence':
            plan.plant(KD_LOSS)
        if kd_reduction == 'avg':
            plan.plant(KD_LOSS, f'{KD_LOSS}.reduction')
        if kd_weight == 'w':
            plan.plant(KD_LOSS, f'{KD_LOSS}.loss_weight')
        if teacher_classes[chosen] != STUDENT_CLASSES:
            plan.plant(KD_LOSS)
        preds_t: Dict[str, Any] = dict(
            recorder='logits', from_student=False, from_teacher=chosen)
        mutation = pick(draw, [None, 'omit_teacher'], [
            'unknown_teacher', 'recorder', 'record_idx', 'data_idx',
            'extra_key', 'arg'
        ])
        if mutation == 'omit_teacher':
            del preds_t['from_teacher']
            if len(names) > 1:
                plan.plant(f'{LFM}.preds_T.from_teacher')
        elif mutation == 'unknown_teacher':
            preds_t['from_teacher'] = 'tz'
            plan.plant(f'{LFM}.preds_T.from_teacher')
        elif mutation == 'recorder':
            preds_t['recorder'] = 'logitz'
            plan.plant(f'{LFM}.preds_T.recorder')
        elif mutation == 'record_idx':
            preds_t['record_idx'] = 1
            plan.plant(f'{LFM}.preds_T.record_idx')
        elif mutation == 'data_idx':
            preds_t['data_idx'] = 0
            plan.plant(f'{LFM}.preds_T.data_idx')
        elif mutation == 'extra_key':
            preds_t['recoder'] = 'logits'
            plan.plant(f'{LFM}.preds_T.recoder')
        mapping = dict(
            preds_S=dict(recorder='logits', from_student=True),
            preds_T=preds_t)
        if mutation == 'arg':
            mapping['pred_T'] = mapping.pop('preds_T')
            plan.plant(f'{LFM}.pred_T', f'{LFM}.preds_T')
        distiller['loss_forward_mappings'] = dict(loss_kd=mapping)

    # A container of the wrong type.
    broken = pick(draw, [None], [
        'student_recorders', 'teacher_recorders', 'distill_losses',
        'loss_forward_mappings', 'connectors'
    ])
    if broken is not None:
        distiller[broken] = ['logits']
        plan.plant(f'model.distiller.{broken}')

    cfg = dict(
        type='FEEDDistill',
        architecture=architecture,
        teachers=teachers,
        distiller=distiller,
        input_shape=input_shape,
        allow_random_teachers=True)
    return cfg, plan, input_shape


def _train_step(algo, input_shape: Tuple[int, ...]) -> None:
    algo.train()
    params = [p for p in algo.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.01)
    inputs = torch.randn(2, *input_shape)
    samples = [DataSample().set_gt_label(i) for i in (3, 7)]
    loss, _ = algo.parse_losses(algo.loss(inputs, samples))
    assert torch.isfinite(loss), loss
    loss.backward()
    optimizer.step()


@settings(
    # A quick, fixed sample by default; FEED_MM_FUZZ_EXAMPLES=600 (or more)
    # for a deeper search.
    max_examples=int(os.environ.get('FEED_MM_FUZZ_EXAMPLES', 60)),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(feed_configs())
def test_feed_config_builds_and_trains_or_names_a_planted_key(drawn):
    cfg, plan, input_shape = copy.deepcopy(drawn)
    if plan.valid:
        algo = build_razor_model(cfg)
        _train_step(algo, input_shape)
        return
    with pytest.raises(FEEDConfigError) as info:
        build_razor_model(cfg)
    key = info.value.key
    assert key in plan.allowed_keys(), (key, str(info.value), plan.defects)
    assert str(info.value).startswith(key)
