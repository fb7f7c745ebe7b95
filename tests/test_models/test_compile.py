"""FEEDDistill(compile=...): compiled units, no recompilation after the
warm-up over epochs with a last partial batch, the losses of the eager
model, unchanged checkpoints. Dynamo runs with the ``eager`` backend: the
graphs and guards are dynamo's own, without the slow code generation."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper
from torch._dynamo.utils import counters

import feed_mm  # noqa: F401
from tests.test_models.feed_fixtures import (assert_config_error, batch,
                                             build_feed)

COMPILE = dict(backend='eager')
# An epoch of 21 samples in batches of 8: two full batches, a partial one.
EPOCH = (8, 8, 5)


def pair(**kwargs):
    """The same FEED model eager and compiled (identical weights)."""
    torch.manual_seed(0)
    eager = build_feed(**kwargs)
    compiled = build_feed(compile=COMPILE, **kwargs)
    compiled.load_state_dict(eager.state_dict())
    compiled.teachers.load_state_dict(eager.teachers.state_dict())
    return eager, compiled


def sgd(algo):
    return OptimWrapper(torch.optim.SGD(
        [p for p in algo.parameters() if p.requires_grad], lr=0.01,
        momentum=0.9))


def data(n, seed):
    inputs, samples = batch(n, seed)
    # 0..255 pixels, as the data preprocessor expects.
    return dict(inputs=list((inputs * 60 + 128).clamp(0, 255)),
                data_samples=samples)


def frames():
    return counters['frames']['total']


def test_units_are_the_modules_around_the_records():
    algo = build_feed(compile=COMPILE)
    units = algo.compiled_units
    assert units['student'] == ['backbone', 'head']
    assert units['t0'] == units['t1'] == ['backbone', 'head']
    assert units['distiller'] == ['translate']
    assert build_feed().compiled_units == {}


def test_recorded_submodule_splits_its_parent():
    # A record inside the backbone: the stages around it are units, the
    # recorded stage is one too (its hook runs outside its forward).
    algo = build_feed(
        distiller=dict(teacher_feature='backbone.layer3'),
        compile=COMPILE)
    assert algo.compiled_units['t0'] == [
        'backbone.conv1', 'backbone.bn1', 'backbone.layer1',
        'backbone.layer2', 'backbone.layer3', 'backbone.layer4', 'head'
    ]


def test_no_recompilation_after_warm_up_and_losses_of_eager():
    # Graphs cached by earlier tests would be reused: count from scratch.
    torch._dynamo.reset()
    eager, compiled = pair()
    optims = {'eager': sgd(eager), 'compiled': sgd(compiled)}
    before = frames()
    for epoch in range(3):
        # Epoch 0 is the warm-up: each unit compiles at the full and at the
        # partial batch size. After it, any compilation is an error.
        with torch._dynamo.config.patch(error_on_recompile=epoch > 0):
            for step, n in enumerate(EPOCH):
                batch_data = data(n, seed=10 * epoch + step)
                logs = {
                    name: algo.train_step(batch_data, optims[name])
                    for name, algo in (('eager', eager),
                                       ('compiled', compiled))
                }
                assert set(logs['eager']) == set(logs['compiled'])
                for key, value in logs['eager'].items():
                    torch.testing.assert_close(logs['compiled'][key], value,
                                               rtol=1e-4, atol=1e-5)
        if epoch == 0:
            warm = frames()
            # One graph per unit that runs and batch size: the student's
            # backbone and head, each teacher's backbone (teachers stop
            # before their heads) and the translators, at 8 and 5 samples.
            assert warm - before == 5 * 2
    assert frames() == warm


def test_checkpoints_and_resume_are_unchanged():
    eager, compiled = pair()
    optim = sgd(compiled)
    for step, n in enumerate(EPOCH):
        compiled.train_step(data(n, step), optim)
    state = compiled.state_dict()
    assert list(state) == list(eager.state_dict())
    assert not any('_orig_mod' in key for key in state)
    # Resumed into a fresh compiled model and into an eager one, the next
    # step gives the same losses.
    torch.manual_seed(1)
    resumed = build_feed(compile=COMPILE)
    resumed.load_state_dict(state)
    resumed.teachers.load_state_dict(compiled.teachers.state_dict())
    eager.load_state_dict(state)
    next_batch = data(8, 99)
    expected = eager.train_step(next_batch, sgd(eager))
    for algo in (resumed, compiled):
        logs = algo.train_step(next_batch, sgd(algo))
        for key, value in expected.items():
            torch.testing.assert_close(logs[key], value, rtol=1e-4,
                                       atol=1e-5)


def test_a_deepcopy_runs_its_own_weights():
    # EMA hooks deep-copy the model: the copy's compiled forwards must read
    # the copy's parameters, not the original's.
    algo = build_feed(compile=COMPILE).eval()
    twin = copy.deepcopy(algo)
    with torch.no_grad():
        for param in twin.student.backbone.parameters():
            param.mul_(0.5)
    inputs, _ = batch(2)
    with torch.no_grad():
        original = algo.student(inputs, mode='tensor')
        copied = twin.student(inputs, mode='tensor')
        torch.testing.assert_close(
            original, algo.student(inputs, mode='tensor'))
    assert not torch.allclose(original, copied)
    assert twin.student.backbone.forward.args[0] is twin.student.backbone


@pytest.mark.parametrize('value,message', [
    ('yes', "got 'yes'"),
    (3, 'got 3'),
])
def test_bad_compile_values_are_named(value, message):
    error = assert_config_error('model.compile', compile=value)
    assert message in str(error)


def test_compiled_with_the_fast_options_keeps_their_losses():
    # Autocast and channels_last are entered eagerly around the compiled
    # forwards: the graphs run under them.
    eager, compiled = pair(teacher_autocast='bf16', channels_last=True)
    optims = (sgd(eager), sgd(compiled))
    for step, n in enumerate((8, 5)):
        batch_data = data(n, seed=step)
        expected = eager.train_step(batch_data, optims[0])
        logs = compiled.train_step(batch_data, optims[1])
        for key, value in expected.items():
            torch.testing.assert_close(logs[key], value, rtol=1e-3,
                                       atol=1e-5)
