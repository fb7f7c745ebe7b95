"""FEEDDistill: frozen teachers, gradients, train/eval modes, checkpoints,
teacher early stop and teacher config errors."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample
from torch.nn.modules.batchnorm import _BatchNorm

import feed_mm  # noqa: F401
from feed_mm.utils import FEEDConfigError
from tests.test_models.feed_fixtures import (batch, build_classifier,
                                             build_feed, classifier,
                                             count_calls, kd_distiller,
                                             save_checkpoint, two_teachers)


def raw_data(n=4, seed=0):
    """A data batch as a dataloader gives it: 0..255 pixel values."""
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 256, (n, 3, 32, 32), generator=gen).float()
    return dict(
        inputs=inputs,
        data_samples=[DataSample().set_gt_label(i % 10) for i in range(n)])


def clone_state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.fixture(scope='module')
def algo():
    return build_feed()


# ----------------------------------------------------------------------
# Gradients.
def test_gradients_reach_student_and_translators_never_teachers(algo):
    algo.train()
    algo.zero_grad()
    losses = algo.loss(*batch())
    loss, _ = algo.parse_losses(losses)
    loss.backward()
    for name, param in algo.student.named_parameters():
        assert param.requires_grad, name
        assert param.grad is not None, name
    for name, translator in algo.distiller.translators.items():
        params = list(translator.parameters())
        assert params
        for param in params:
            assert param.grad is not None, name
        assert any(p.grad.abs().sum() > 0 for p in params), name
    teacher_params = list(algo.teachers.named_parameters())
    assert teacher_params
    for name, param in teacher_params:
        assert not param.requires_grad, name
        assert param.grad is None, name
    algo.zero_grad()


def test_feed_term_alone_reaches_backbone_and_its_own_translator(algo):
    algo.train()
    algo.zero_grad()
    losses = algo.loss(*batch())
    losses['distill.loss_feed_t0'].backward()
    assert algo.student.backbone.conv1.weight.grad.abs().sum() > 0
    # The FEED term does not involve the student's classifier.
    assert algo.student.head.fc.weight.grad is None
    assert all(p.grad is not None
               for p in algo.distiller.translators['t0'].parameters())
    # Fused first convolutions give t1's first conv a zero gradient (the
    # backward of their concatenation), separate ones none.
    assert all(p.grad is None or not p.grad.any()
               for p in algo.distiller.translators['t1'].parameters())
    assert all(p.grad is None for p in algo.teachers.parameters())
    algo.zero_grad()


def test_teachers_unchanged_by_sgd_steps():
    algo = build_feed()
    teachers_before = clone_state(algo.teachers)
    student_before = clone_state(algo.student)
    translators_before = clone_state(algo.distiller.translators)
    assert any('running_mean' in k for k in teachers_before)
    wrapper = OptimWrapper(
        torch.optim.SGD(
            algo.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4))
    for step in range(3):
        algo.train()
        log_vars = algo.train_step(raw_data(seed=step), wrapper)
        assert {'loss', 'student.loss', 'distill.loss_feed_t0',
                'distill.loss_feed_t1'} <= set(log_vars)
    after = algo.teachers.state_dict()
    assert set(after) == set(teachers_before)
    for key, value in teachers_before.items():
        assert torch.equal(after[key], value), key
    # The student and the translators did train.
    student_after = algo.student.state_dict()
    assert not torch.equal(student_after['backbone.conv1.weight'],
                           student_before['backbone.conv1.weight'])
    assert not torch.equal(student_after['backbone.bn1.running_mean'],
                           student_before['backbone.bn1.running_mean'])
    translators_after = algo.distiller.translators.state_dict()
    assert not torch.equal(translators_after['t1.layers.0.weight'],
                           translators_before['t1.layers.0.weight'])
    assert all(p.grad is None for p in algo.teachers.parameters())


def test_student_trainable_false_trains_translators_only():
    algo = build_feed(student_trainable=False)
    losses = algo.loss(*batch())
    assert not losses['student.loss'].requires_grad
    sum(v for k, v in losses.items() if k.startswith('distill.')).backward()
    assert all(p.grad is None for p in algo.student.parameters())
    assert all(p.grad is not None
               for p in algo.distiller.translators.parameters())


def test_calculate_student_loss_and_distillation_stopped():
    algo = build_feed(calculate_student_loss=False)
    losses = algo.loss(*batch())
    assert set(losses) == {'distill.loss_feed_t0', 'distill.loss_feed_t1'}
    student_only = build_feed()
    student_only.distillation_stopped = True
    assert set(student_only.loss(*batch())) == {'student.loss'}


def test_teacher_inplace_ops_disabled(algo):
    teacher_flags = [
        m.inplace for m in algo.teachers.modules() if hasattr(m, 'inplace')
    ]
    assert teacher_flags and not any(teacher_flags)
    # The student is left as built.
    assert any(m.inplace for m in algo.student.modules()
               if hasattr(m, 'inplace'))


# ----------------------------------------------------------------------
# Train and eval modes.
def assert_modes(algo, student_training):
    assert all(m.training is student_training
               for m in algo.student.modules())
    assert all(m.training is False for m in algo.teachers.modules())


def test_teachers_stay_in_eval_mode(algo):
    assert_modes(algo, True)  # after construction
    algo.train()
    assert_modes(algo, True)
    algo.train(True)
    assert_modes(algo, True)
    algo.eval()
    assert_modes(algo, False)
    algo.train(True)
    assert_modes(algo, True)
    assert algo.distiller.training


def test_teacher_bn_follows_train_mode_without_norm_eval():
    algo = build_feed(
        teachers=dict(t0=dict(model=classifier(16), ckpt=None)),
        teacher_norm_eval=False)
    algo.train()
    teacher = algo.teachers['t0']
    bns = [m for m in teacher.modules() if isinstance(m, _BatchNorm)]
    others = [m for m in teacher.modules() if not isinstance(m, _BatchNorm)]
    assert bns and all(m.training for m in bns)
    assert all(not m.training for m in others)
    # BN in train mode uses and updates batch statistics.
    before = teacher.backbone.bn1.running_mean.clone()
    algo.loss(*batch())
    assert not torch.equal(teacher.backbone.bn1.running_mean, before)
    assert all(not p.requires_grad for p in teacher.parameters())
    algo.eval()
    assert all(not m.training for m in teacher.modules())


def test_teacher_bn_statistics_frozen_by_default(algo):
    algo.train()
    before = clone_state(algo.teachers)
    algo.loss(*batch(seed=3))
    after = algo.teachers.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items())


# ----------------------------------------------------------------------
# Checkpoints.
def test_state_dict_has_no_teachers_by_default(algo):
    state = algo.state_dict()
    assert not any(k.startswith('teachers.') for k in state)
    assert any(k.startswith('architecture.') for k in state)
    assert any(k.startswith('distiller.translators.t0.') for k in state)
    assert any(k.startswith('distiller.translators.t1.') for k in state)


def test_state_dict_with_save_teachers():
    algo = build_feed(save_teachers=True)
    state = algo.state_dict()
    teacher_keys = {k for k in state if k.startswith('teachers.')}
    assert teacher_keys == {
        f'teachers.{k}'
        for k in algo.teachers.state_dict()
    }
    assert torch.equal(state['teachers.t0.head.fc.weight'],
                       algo.teachers['t0'].head.fc.weight)


def test_load_state_dict_strict_without_teacher_keys(algo):
    state = algo.state_dict()
    fresh = build_feed()
    own_teachers = clone_state(fresh.teachers)
    result = fresh.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    fresh_state = fresh.state_dict()
    for key, value in state.items():
        assert torch.equal(fresh_state[key], value), key
    # The teachers keep their own weights.
    after = fresh.teachers.state_dict()
    assert all(torch.equal(after[k], v) for k, v in own_teachers.items())
    # A checkpoint with teacher weights loads them.
    with_teachers = build_feed(save_teachers=True)
    fresh.load_state_dict(with_teachers.state_dict(), strict=True)
    assert torch.equal(fresh.teachers['t1'].head.fc.weight,
                       with_teachers.teachers['t1'].head.fc.weight)
    # A teacher with loss_weight=0 has no translator; a checkpoint saved
    # when it still had one loads.
    zero = build_feed(teachers=two_teachers(t1=dict(loss_weight=0)))
    assert list(zero.distiller.translators) == ['t0']
    assert 'distill.loss_feed_t1' not in zero.loss(*batch())
    zero.load_state_dict(state, strict=True)


def test_translators_of_unknown_teachers_fail_strict_loading(algo):
    """A checkpoint from another teacher set (translators of t0 and t1)
    does not load strictly into a model whose teachers are t0 and t2."""
    other = build_feed(teachers=dict(
        t0=dict(model=classifier(16), ckpt=None),
        t2=dict(model=classifier(4), ckpt=None)))
    with pytest.raises(RuntimeError) as info:
        other.load_state_dict(algo.state_dict(), strict=True)
    assert 'Unexpected key(s)' in str(info.value)
    assert 'distiller.translators.t1.' in str(info.value)
    result = other.load_state_dict(algo.state_dict(), strict=False)
    assert all(key.startswith('distiller.translators.t1.')
               for key in result.unexpected_keys)
    assert all(key.startswith('distiller.translators.t2.')
               for key in result.missing_keys)
    assert result.unexpected_keys and result.missing_keys


# ----------------------------------------------------------------------
# Teacher early stop.
def test_teacher_forward_stops_after_its_feed_map():
    algo = build_feed(
        teachers=dict(t0=dict(model=classifier(16), ckpt=None)))
    counts, _ = count_calls(algo.teachers['t0'],
                            ['backbone', 'neck', 'head'])
    losses = algo.loss(*batch())
    assert counts == dict(backbone=1, neck=0, head=0)
    assert torch.isfinite(losses['distill.loss_feed_t0'])


def test_whole_teacher_runs_outside_of_loss(algo):
    # The stopper only acts inside the distillation forward: the same
    # teacher still predicts.
    algo.eval()
    with torch.no_grad():
        logits = algo.teachers['t0'](batch()[0], mode='tensor')
    algo.train()
    assert logits.shape == (4, 10)


def test_teacher_head_runs_with_logit_recorder():
    algo = build_feed(distiller=kd_distiller(from_teacher='t0'))
    t0_counts, _ = count_calls(algo.teachers['t0'], ['neck', 'head'])
    t1_counts, _ = count_calls(algo.teachers['t1'], ['neck', 'head'])
    losses = algo.loss(*batch())
    assert t0_counts == dict(neck=1, head=1)
    assert t1_counts == dict(neck=0, head=0)
    assert torch.isfinite(losses['distill.loss_kd'])


# ----------------------------------------------------------------------
# Teacher checkpoints.
def test_teacher_checkpoint_is_loaded(tmp_path):
    trained = build_classifier(classifier(16))
    ckpt = save_checkpoint(trained, tmp_path / 'teacher.pth')
    algo = build_feed(teachers=dict(t0=dict(model=classifier(16), ckpt=ckpt)))
    expected = trained.state_dict()
    got = algo.teachers['t0'].state_dict()
    assert all(torch.equal(got[k], v) for k, v in expected.items())
    # Re-initialising the algorithm (as the runner does) keeps them.
    algo.init_weights()
    got = algo.teachers['t0'].state_dict()
    assert all(torch.equal(got[k], v) for k, v in expected.items())
    assert algo.teacher_ckpts == dict(t0=ckpt)


@pytest.mark.parametrize('pointer', ['absolute', 'relative'])
def test_teacher_ckpt_may_be_a_work_dir(tmp_path, pointer):
    trained = build_classifier(classifier(4))
    work_dir = tmp_path / 'work_dir'
    work_dir.mkdir()
    ckpt = save_checkpoint(trained, work_dir / 'epoch_3.pth')
    # A relative pointer (e.g. written from another working directory)
    # falls back to the file of the same name in the work dir.
    target = ckpt if pointer == 'absolute' else \
        'work_dirs/old_run/epoch_3.pth'
    (work_dir / 'last_checkpoint').write_text(target)
    algo = build_feed(teachers=dict(
        t0=dict(model=classifier(4), ckpt=str(work_dir))))
    assert torch.equal(algo.teachers['t0'].head.fc.weight,
                       trained.head.fc.weight)
    assert torch.equal(algo.teachers['t0'].backbone.bn1.running_var,
                       trained.backbone.bn1.running_var)


def test_work_dir_without_last_checkpoint_raises(tmp_path):
    with pytest.raises(FEEDConfigError) as info:
        build_feed(teachers=dict(
            t0=dict(model=classifier(4), ckpt=str(tmp_path))))
    assert info.value.key == 'model.teachers.t0.ckpt'
    assert 'last_checkpoint' in str(info.value)


@pytest.mark.parametrize('prefix', ['', 'module.'])
def test_feed_checkpoint_loads_as_teacher(tmp_path, algo, prefix):
    # '': what MMEngine's CheckpointHook saves; 'module.': a FEED model
    # saved from its DDP wrapper (extract_model_state documents both).
    state = {prefix + k: v for k, v in algo.state_dict().items()}
    ckpt = save_checkpoint(state, tmp_path / 'feed.pth')
    gen2 = build_feed(
        architecture=classifier(4),
        teachers=dict(g1=dict(model=classifier(8), ckpt=ckpt)))
    student_state = algo.student.state_dict()
    teacher_state = gen2.teachers['g1'].state_dict()
    assert set(teacher_state) == set(student_state)
    for key, value in student_state.items():
        assert torch.equal(teacher_state[key], value), key


@pytest.mark.parametrize('other,words', [
    (dict(type='mmpretrain.ImageClassifier',
          backbone=dict(type='CifarResNet', depth=8, base_channels=8),
          neck=dict(type='GlobalAveragePooling'),
          head=dict(type='LinearClsHead', num_classes=10, in_channels=32)),
     'missing keys'),
    (classifier(16, depth=34), 'unexpected keys'),
])
def test_checkpoint_of_another_architecture_raises(tmp_path, other, words):
    ckpt = save_checkpoint(build_classifier(other), tmp_path / 'other.pth')
    with pytest.raises(FEEDConfigError) as info:
        build_feed(teachers=dict(
            t0=dict(model=classifier(16), ckpt=ckpt),
            t1=dict(model=classifier(4), ckpt=None)))
    assert info.value.key == 'model.teachers.t0.ckpt'
    message = str(info.value)
    assert words in message
    assert "'t0'" in message


def test_checkpoint_with_other_shapes_raises(tmp_path):
    ckpt = save_checkpoint(
        build_classifier(classifier(8)), tmp_path / 'narrow.pth')
    with pytest.raises(FEEDConfigError) as info:
        build_feed(teachers=dict(t1=dict(model=classifier(16), ckpt=ckpt)))
    assert info.value.key == 'model.teachers.t1.ckpt'
    assert 'shape' in str(info.value) and "'t1'" in str(info.value)


# ----------------------------------------------------------------------
# Teacher config errors.
@pytest.mark.parametrize('teachers,key', [
    (dict(), 'model.teachers'),
    ([], 'model.teachers'),
    ('t0', 'model.teachers'),
    (dict(t0=dict(model=classifier(16), ckpt=None, wieght=1)),
     'model.teachers.t0.wieght'),
    (dict(t0=dict(model=classifier(16), ckpt='/no/such/teacher.pth')),
     'model.teachers.t0.ckpt'),
    (dict(t0=dict(ckpt=None)), 'model.teachers.t0.model'),
    ({'bad name': dict(model=classifier(16), ckpt=None)},
     'model.teachers.bad name'),
    (dict(t0=dict(model=dict(type='NoSuchClassifier'), ckpt=None)),
     'model.teachers.t0.model'),
    (dict(t0=dict(model=classifier(16), ckpt=None, loss_weight=-1)),
     'model.teachers.t0.loss_weight'),
])
def test_bad_teacher_configs_name_the_key(teachers, key):
    with pytest.raises(FEEDConfigError) as info:
        build_feed(teachers=teachers)
    assert info.value.key == key


def test_unknown_teacher_option_message_lists_allowed():
    with pytest.raises(FEEDConfigError) as info:
        build_feed(teachers=two_teachers(t1=dict(wieght=1)))
    assert info.value.key == 'model.teachers.t1.wieght'
    assert 'loss_weight' in str(info.value)


def test_missing_checkpoint_message_names_the_path():
    with pytest.raises(FEEDConfigError) as info:
        build_feed(teachers=two_teachers(t1=dict(ckpt='/no/such/t1.pth')))
    assert info.value.key == 'model.teachers.t1.ckpt'
    assert '/no/such/t1.pth' in str(info.value)


def test_bad_input_shape_names_the_key():
    with pytest.raises(FEEDConfigError) as info:
        build_feed(input_shape=(3, 32))
    assert info.value.key == 'model.input_shape'


def test_built_modules_are_accepted():
    student = build_classifier(classifier(8))
    teacher = build_classifier(classifier(16))
    algo = build_feed(
        architecture=student,
        teachers=dict(t0=dict(model=teacher, ckpt=None)))
    assert algo.student is student
    assert algo.teachers['t0'] is teacher
    assert all(not p.requires_grad for p in teacher.parameters())
    assert copy.deepcopy(algo).loss(*batch())['distill.loss_feed_t0'] > 0
