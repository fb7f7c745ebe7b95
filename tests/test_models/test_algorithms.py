"""FEEDDistill and FEEDDistiller on tiny mmpretrain classifiers."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

import feed_mm  # noqa: F401
from feed_mm.utils import FEEDConfigError
from tests.helpers import build_razor_model


def classifier(base=8, out_indices=(3, )):
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8,
                      base_channels=base, out_indices=out_indices),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10,
                  in_channels=base * 8 if out_indices == (3, ) else base * 4))


PREPROCESSOR = dict(type='mmpretrain.ClsDataPreprocessor', num_classes=10)


def feed(teachers=None, **kwargs):
    if teachers is None:
        teachers = dict(t0=dict(model=classifier(16)),
                        t1=dict(model=classifier(4)))
    return build_razor_model(
        dict(type='FEEDDistill', architecture=classifier(), teachers=teachers,
             data_preprocessor=PREPROCESSOR, **kwargs))


def batch(n=4):
    torch.manual_seed(1)
    return torch.randn(n, 3, 32, 32), [
        DataSample().set_gt_label(i % 10) for i in range(n)
    ]


def test_gradients_reach_student_and_translators_only():
    algo = feed()
    losses = algo.loss(*batch())
    assert set(losses) == {'student.loss', 'distill.loss_feed_t0',
                           'distill.loss_feed_t1'}
    sum(losses.values()).backward()
    for name, param in algo.named_parameters():
        if name.startswith('teachers.'):
            assert not param.requires_grad and param.grad is None, name
        elif name.startswith(('architecture.backbone',
                              'distiller.translators')):
            assert param.grad is not None, name
    for name in ('t0', 't1'):
        assert any(p.grad.abs().sum() > 0
                   for p in algo.distiller.translators[name].parameters())


def test_teachers_unchanged_and_in_eval_after_training_steps():
    algo = feed()
    before = copy.deepcopy(algo.teachers.state_dict())
    wrapper = OptimWrapper(torch.optim.SGD(algo.parameters(), lr=0.1,
                                           momentum=0.9))
    inputs, samples = batch()
    data = dict(inputs=[(x * 40 + 120).clamp(0, 255) for x in inputs],
                data_samples=samples)
    for _ in range(3):
        algo.train()
        log = algo.train_step(copy.deepcopy(data), wrapper)
    assert 'distill.loss_feed_t1' in log
    after = algo.teachers.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    algo.train(True)
    assert algo.student.training
    assert not any(m.training for m in algo.teachers.modules())


def test_teacher_norm_layers_follow_train_when_not_norm_eval():
    algo = feed(teacher_norm_eval=False)
    algo.train()
    bns = [m for m in algo.teachers.modules()
           if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(m.training for m in bns)
    assert not algo.teachers.training


def test_checkpoints_hold_student_and_translators_only():
    algo = feed()
    state = algo.state_dict()
    assert not any(k.startswith('teachers.') for k in state)
    assert any(k.startswith('distiller.translators.t1.') for k in state)
    fresh = feed()
    fresh.load_state_dict(state, strict=True)
    key = 'distiller.translators.t0.layers.0.weight'
    assert torch.equal(fresh.state_dict()[key], state[key])
    assert any(k.startswith('teachers.')
               for k in feed(save_teachers=True).state_dict())


def test_teacher_reduction_and_weights():
    summed = feed()
    inputs, samples = batch()
    base = summed.loss(inputs, samples)
    averaged = feed(distiller=dict(teacher_reduction='mean'))
    averaged.load_state_dict(summed.state_dict())
    averaged.teachers.load_state_dict(summed.teachers.state_dict())
    halved = averaged.loss(inputs, samples)
    for name in ('t0', 't1'):
        key = f'distill.loss_feed_{name}'
        assert torch.allclose(halved[key], base[key] / 2)
    weighted = feed(teachers=dict(
        t0=dict(model=classifier(16), loss_weight=3.0),
        t1=dict(model=classifier(4))))
    weighted.load_state_dict(summed.state_dict())
    weighted.teachers.load_state_dict(summed.teachers.state_dict())
    tripled = weighted.loss(inputs, samples)
    assert torch.allclose(tripled['distill.loss_feed_t0'],
                          base['distill.loss_feed_t0'] * 3)
    assert torch.allclose(tripled['distill.loss_feed_t1'],
                          base['distill.loss_feed_t1'])


def test_channels_are_inferred_and_explicit_values_checked():
    algo = feed()
    assert algo.distiller.translators.t0.in_channels == 64
    assert algo.distiller.translators.t0.out_channels == 128
    assert algo.distiller.translators.t1.out_channels == 32
    with pytest.raises(FEEDConfigError) as info:
        feed(teachers=dict(t0=dict(model=classifier(16),
                                   translator=dict(out_channels=99))))
    assert info.value.key == 'model.teachers.t0.translator.out_channels'
    assert '128' in str(info.value)


def test_one_teacher_reproduces_mmrazor_factor_transfer():
    student, teacher = classifier(), classifier(16)
    razor = build_razor_model(
        dict(type='SingleTeacherDistill',
             architecture=dict(student, _scope_='mmpretrain'),
             teacher=dict(teacher, _scope_='mmpretrain'),
             data_preprocessor=PREPROCESSOR,
             distiller=dict(
                 type='ConfigurableDistiller',
                 student_recorders=dict(
                     feat=dict(type='ModuleOutputs', source='backbone')),
                 teacher_recorders=dict(
                     feat=dict(type='ModuleOutputs', source='backbone')),
                 connectors=dict(translator=dict(
                     type='Translator', in_channel=64, out_channel=128,
                     use_bn=False)),
                 distill_losses=dict(
                     loss_ft=dict(type='FTLoss', loss_weight=500.0)),
                 loss_forward_mappings=dict(loss_ft=dict(
                     s_feature=dict(recorder='feat', from_student=True,
                                    data_idx=0, connector='translator'),
                     t_feature=dict(recorder='feat', from_student=False,
                                    data_idx=0))))))
    ours = feed(teachers=dict(t0=dict(model=teacher)),
                distiller=dict(feed_loss=dict(type='FEEDLoss',
                                              loss_weight=500.0)))
    ours.student.load_state_dict(razor.student.state_dict())
    ours.teachers.t0.load_state_dict(razor.teacher.state_dict())
    ours_translator = list(ours.distiller.translators.t0.parameters())
    razor_translator = list(
        razor.distiller.connectors.translator.parameters())
    with torch.no_grad():
        for dst, src in zip(ours_translator, razor_translator):
            dst.copy_(src)
    razor.train()
    ours.train()
    inputs, samples = batch()
    expected = razor.loss(inputs, samples)
    got = ours.loss(inputs, samples)
    assert torch.allclose(got['distill.loss_feed_t0'],
                          expected['distill.loss_ft'], atol=1e-6)
    assert torch.allclose(got['student.loss'], expected['student.loss'])


def _count_calls(algo, name='t0', module='neck'):
    calls = []
    # A pre-hook: the stopper may end the forward right after the module.
    dict(algo.teachers[name].named_modules())[module] \
        .register_forward_pre_hook(lambda *args: calls.append(1))
    algo.loss(*batch())
    return len(calls)


def test_teachers_stop_after_the_deepest_recorded_module():
    assert _count_calls(feed()) == 0
    assert _count_calls(feed(teacher_early_stop=False)) == 1


def test_mix_with_mmrazor_logit_kd():
    logits = dict(type='ModuleOutputs', source='head.fc')
    algo = feed(distiller=dict(
        student_recorders=dict(logits=logits),
        teacher_recorders=dict(t0=dict(logits=logits)),
        distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4)),
        loss_forward_mappings=dict(loss_kd=dict(
            preds_S=dict(recorder='logits', from_student=True),
            preds_T=dict(recorder='logits', from_student=False,
                         from_teacher='t0')))))
    losses = algo.loss(*batch())
    assert {'distill.loss_kd', 'distill.loss_feed_t0',
            'distill.loss_feed_t1'} <= set(losses)
    assert torch.isfinite(losses['distill.loss_kd'])
    # The KD loss reads t0's logits: its neck and classifier run, while
    # t1 stops after its backbone.
    assert _count_calls(algo, 't0', 'head.fc') == 1
    assert _count_calls(algo, 't1') == 0


def _mapping(**record):
    logits = dict(type='ModuleOutputs', source='head.fc')
    return dict(
        student_recorders=dict(logits=logits),
        teacher_recorders=dict(t0=dict(logits=logits),
                               t1=dict(logits=logits)),
        distill_losses=dict(loss_kd=dict(type='KLDivergence')),
        loss_forward_mappings=dict(loss_kd=dict(
            preds_S=dict(recorder='logits', from_student=True),
            preds_T=dict(recorder='logits', from_student=False, **record))))


@pytest.mark.parametrize('kwargs,key', [
    (dict(distiller=_mapping(from_teacher='t9')),
     'model.distiller.loss_forward_mappings.loss_kd.preds_T.from_teacher'),
    (dict(distiller=_mapping()),
     'model.distiller.loss_forward_mappings.loss_kd.preds_T.from_teacher'),
    (dict(distiller=_mapping(from_teacher='t0', recrd_idx=0)),
     'model.distiller.loss_forward_mappings.loss_kd.preds_T.recrd_idx'),
    (dict(distiller=dict(student_feature='backbone.layer9')),
     'model.distiller.student_feature'),
    (dict(teachers=dict(t0=dict(model=classifier(), feature='nope'))),
     'model.teachers.t0.feature'),
    (dict(teachers=dict()), 'model.teachers'),
    (dict(teachers=[]), 'model.teachers'),
    (dict(teachers=dict(t0=dict(model=classifier(), wieght=1))),
     'model.teachers.t0.wieght'),
    (dict(distiller=dict(distill_losses=dict(
        loss_kd=dict(type='KLDivergence')))),
     'model.distiller.loss_forward_mappings.loss_kd'),
    (dict(teachers=dict(t0=dict(model=classifier(), ckpt='missing.pth'))),
     'model.teachers.t0.ckpt'),
])
def test_bad_configs_name_the_key(kwargs, key):
    with pytest.raises(FEEDConfigError) as info:
        feed(**kwargs)
    assert info.value.key == key


def test_teacher_checkpoints(tmp_path):
    algo = feed()
    other = build_razor_model(dict(classifier(16), _scope_='mmpretrain'))
    good = tmp_path / 'teacher.pth'
    torch.save({'state_dict': other.state_dict(), 'meta': {}}, good)
    loaded = feed(teachers=dict(t0=dict(model=classifier(16),
                                        ckpt=str(good))))
    assert torch.equal(loaded.teachers.t0.head.fc.weight,
                       other.head.fc.weight)

    wrong = tmp_path / 'wrong.pth'
    torch.save({'state_dict': algo.student.state_dict()}, wrong)
    with pytest.raises(FEEDConfigError) as info:
        feed(teachers=dict(t0=dict(model=classifier(16), ckpt=str(wrong))))
    assert info.value.key == 'model.teachers.t0.ckpt'
    assert "teacher 't0'" in str(info.value) and 'shape' in str(info.value)

    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    feed_ckpt = work_dir / 'epoch_3.pth'
    torch.save({'state_dict': algo.state_dict()}, feed_ckpt)
    (work_dir / 'last_checkpoint').write_text(str(feed_ckpt))
    from_feed = feed(teachers=dict(g0=dict(model=classifier(),
                                           ckpt=str(work_dir))))
    assert torch.equal(from_feed.teachers.g0.head.fc.weight,
                       algo.student.head.fc.weight)
