"""The optimised teacher paths (autocast, channels_last, batched teachers)
compute what the plain path computes, and teachers hold no autograd
graph."""
import copy

import pytest
import torch

from feed_mm.utils import FEEDConfigError
from tests.test_models.feed_fixtures import (batch, build_feed, classifier,
                                             count_calls, kd_distiller)

LOGITS = dict(type='ModuleOutputs', source='head.fc')


def three_same_teachers(**extra):
    return {
        f't{i}': dict(model=classifier(8), ckpt=None, **extra)
        for i in range(3)
    }


def build_pair(teachers, distiller=None, **options):
    """A plain FEED model and one with ``options``, with equal weights."""
    plain = build_feed(teachers=teachers, distiller=distiller,
                       save_teachers=True)
    fast = build_feed(teachers=teachers, distiller=distiller,
                      save_teachers=True, **options)
    fast.load_state_dict(plain.state_dict(), strict=True)
    return plain, fast


def teacher_records(algo, inputs):
    """Every recorded teacher tensor after the teachers' forward."""
    algo.run_teachers(inputs, None)
    records = {
        (name, recorder_name): recorder.data_buffer[0]
        for name, manager in algo.distiller.teacher_recorders.items()
        for recorder_name, recorder in manager.recorders.items()
    }
    algo.distiller.clear_records()
    return records


def assert_same_records(plain, fast, inputs):
    """The teachers' records of ``fast`` equal those of ``plain``."""
    expected = teacher_records(plain, inputs)
    got = teacher_records(fast, inputs)
    assert expected.keys() == got.keys()
    for key in expected:
        torch.testing.assert_close(got[key], expected[key])
    return got


def assert_same_losses(plain, fast, inputs, samples, **tolerance):
    """The losses of ``fast`` equal those of ``plain``, all in fp32."""
    expected = plain.loss(inputs, samples)
    got = fast.loss(inputs, samples)
    assert expected.keys() == got.keys()
    for key in expected:
        assert got[key].dtype == torch.float32
        torch.testing.assert_close(got[key], expected[key], **tolerance)
    return expected, got


def test_same_architecture_teachers_form_one_group():
    teachers = three_same_teachers()
    teachers['t3'] = dict(model=classifier(4), ckpt=None)
    algo = build_feed(teachers=teachers, batch_teachers=True)
    assert algo.teacher_groups == [['t0', 't1', 't2'], ['t3']]
    assert build_feed(teachers=teachers).teacher_groups == [['t0'], ['t1'],
                                                            ['t2'], ['t3']]


def test_teachers_with_other_records_are_not_grouped():
    distiller = dict(teacher_recorders=dict(t1=dict(logits=LOGITS)))
    algo = build_feed(
        teachers=three_same_teachers(), distiller=distiller,
        batch_teachers=True)
    assert algo.teacher_groups == [['t0', 't2'], ['t1']]


def test_batched_teachers_equal_sequential_ones():
    teachers = three_same_teachers()
    distiller = kd_distiller(recorded=list(teachers), from_teacher='t2')
    plain, batched = build_pair(teachers, distiller, batch_teachers=True)
    assert batched.teacher_groups == [['t0', 't1', 't2']]
    inputs, samples = batch(6)
    got = assert_same_records(plain, batched, inputs)
    # The teachers differ, so the batch did not just repeat one of them.
    assert not torch.allclose(got[('t0', 'logits')], got[('t1', 'logits')])
    assert_same_losses(plain, batched, inputs, samples)


def test_batched_teachers_hold_their_weights_once_and_follow_loads():
    plain, batched = build_pair(three_same_teachers(), batch_teachers=True)
    inputs, _ = batch()
    teacher_records(batched, inputs)
    group = batched._batched[('t0', 't1', 't2')]
    stacked = group._params['backbone.conv1.weight']
    for index, name in enumerate(('t0', 't1', 't2')):
        weight = batched.teachers[name].backbone.conv1.weight
        assert weight.data_ptr() == stacked[index].data_ptr()
    # A later in-place load (e.g. a resumed checkpoint with teachers)
    # reaches the batched forward.
    other = build_feed(teachers=three_same_teachers(), save_teachers=True)
    batched.load_state_dict(other.state_dict(), strict=True)
    plain.load_state_dict(other.state_dict(), strict=True)
    assert_same_records(plain, batched, inputs)


def test_batched_teachers_restack_after_moving_the_model():
    plain, batched = build_pair(three_same_teachers(), batch_teachers=True)
    inputs, _ = batch()
    teacher_records(batched, inputs)
    # .to() with a dtype replaces every parameter tensor.
    batched.double()
    plain.double()
    got = assert_same_records(plain, batched, inputs.double())
    assert all(record[-1].dtype == torch.float64 for record in got.values())


@pytest.mark.parametrize('batch_teachers', [False, True])
def test_teachers_hold_no_autograd_graph(batch_teachers):
    algo = build_feed(
        teachers=three_same_teachers(), batch_teachers=batch_teachers)
    inputs, samples = batch()
    inputs.requires_grad_(True)
    algo.run_teachers(inputs, samples)
    for manager in algo.distiller.teacher_recorders.values():
        for recorder in manager.recorders.values():
            for record in recorder.data_buffer:
                tensors = record if isinstance(record, tuple) else (record, )
                for tensor in tensors:
                    assert not tensor.requires_grad
                    assert tensor.grad_fn is None
    algo.distiller.clear_records()
    losses = algo.loss(inputs, samples)
    sum(losses.values()).backward()
    assert all(p.grad is None for p in algo.teachers.parameters())


@pytest.mark.parametrize('dtype', ['bf16', 'fp16'])
def test_teacher_autocast_losses_match_full_precision(dtype):
    plain, fast = build_pair(three_same_teachers(), teacher_autocast=dtype)
    inputs, samples = batch()
    records = teacher_records(fast, inputs)
    # The losses read the maps in the student's precision.
    assert all(t.dtype == torch.float32 for r in records.values()
               for t in (r if isinstance(r, tuple) else (r, )))
    expected, got = assert_same_losses(
        plain, fast, inputs, samples, rtol=0.03, atol=1e-3)
    # Reduced precision did change the teachers' maps: the path was taken.
    assert not torch.equal(got['distill.loss_feed_t0'],
                           expected['distill.loss_feed_t0'])


@pytest.mark.parametrize('dtype', ['bf16', 'fp16'])
def test_autocast_and_batched_teachers_combine(dtype):
    plain, fast = build_pair(
        three_same_teachers(), teacher_autocast=dtype, batch_teachers=True)
    inputs, samples = batch()
    assert fast.teacher_groups == [['t0', 't1', 't2']]
    expected, got = assert_same_losses(
        plain, fast, inputs, samples, rtol=0.03, atol=1e-3)
    # Autocast does not reach into vmap: the group must lower the precision
    # itself, and the maps come back in the student's.
    assert not torch.equal(got['distill.loss_feed_t0'],
                           expected['distill.loss_feed_t0'])
    assert all(t.dtype == torch.float32
               for r in teacher_records(fast, inputs).values()
               for t in (r if isinstance(r, tuple) else (r, )))
    # The stacked weights themselves stay in full precision.
    assert fast.teachers['t2'].backbone.conv1.weight.dtype == torch.float32


def test_channels_last_gives_the_same_losses_and_gradients():
    plain, fast = build_pair(three_same_teachers(), channels_last=True)
    assert fast.student.backbone.conv1.weight.is_contiguous(
        memory_format=torch.channels_last)
    assert fast.teachers['t1'].backbone.conv1.weight.is_contiguous(
        memory_format=torch.channels_last)
    # Another memory layout sums in another order (and oneDNN's blocking
    # follows the free threads): equal up to float32 rounding.
    expected, got = assert_same_losses(
        plain, fast, *batch(), rtol=1e-5, atol=1e-6)
    sum(expected.values()).backward()
    sum(got.values()).backward()
    got_grad = fast.distiller.translators['t0'].layers[0].weight.grad
    expected_grad = plain.distiller.translators['t0'].layers[0].weight.grad
    # Single elements near zero may differ in their leading digits.
    assert (got_grad - expected_grad).norm() <= 1e-4 * expected_grad.norm()


@pytest.mark.parametrize('options,key', [
    (dict(teacher_autocast='int8'), 'model.teacher_autocast'),
    (dict(batch_teachers='yes'), 'model.batch_teachers'),
    (dict(channels_last=1), 'model.channels_last'),
    (dict(batch_teachers=True, teacher_norm_eval=False),
     'model.batch_teachers'),
])
def test_bad_teacher_forward_options(options, key):
    with pytest.raises(FEEDConfigError) as info:
        build_feed(teachers=three_same_teachers(), **options)
    assert info.value.key == key


@pytest.mark.parametrize('batch_teachers', [False, True])
def test_a_deepcopy_keeps_stopping_early(batch_teachers):
    algo = build_feed(
        teachers=three_same_teachers(), batch_teachers=batch_teachers)
    copied = copy.deepcopy(algo)
    calls, _ = count_calls(copied.teachers['t0'], ['backbone', 'head'])
    original_calls, _ = count_calls(algo.teachers['t0'], ['head'])
    assert_same_losses(algo, copied, *batch())
    assert calls == dict(backbone=1, head=0)
    assert original_calls == dict(head=0)
