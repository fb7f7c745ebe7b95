"""The optimised teacher paths (autocast, channels_last) compute what the
plain path computes, and teachers hold no autograd graph."""
import copy

import pytest
import torch

from feed_mm.utils import FEEDConfigError
from tests.test_models.feed_fixtures import (batch, build_feed, classifier,
                                             count_calls)

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


def test_teachers_hold_no_autograd_graph():
    algo = build_feed(teachers=three_same_teachers())
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
    (dict(channels_last=1), 'model.channels_last'),
])
def test_bad_teacher_forward_options(options, key):
    with pytest.raises(FEEDConfigError) as info:
        build_feed(teachers=three_same_teachers(), **options)
    assert info.value.key == key


def test_a_deepcopy_keeps_stopping_early():
    algo = build_feed(teachers=three_same_teachers())
    copied = copy.deepcopy(algo)
    calls, _ = count_calls(copied.teachers['t0'], ['backbone', 'head'])
    original_calls, _ = count_calls(algo.teachers['t0'], ['head'])
    assert_same_losses(algo, copied, *batch())
    assert calls == dict(backbone=1, head=0)
    assert original_calls == dict(head=0)
