"""NonFiniteLossHook: a NaN loss term stops ('error') or skips ('skip') the
update before the optimizer touches anything."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper

import feed_mm.engine.hooks.nonfinite_loss_hook as nonfinite_loss
from feed_mm.engine import NonFiniteLossHook
from feed_mm.utils import FEEDConfigError, NonFiniteLossError
from tests.test_models.feed_fixtures import batch, build_feed


def sgd(algo, **kwargs):
    params = [p for p in algo.parameters() if p.requires_grad]
    return OptimWrapper(
        torch.optim.SGD(params, lr=0.1, momentum=0.9), **kwargs)


def data(seed=0):
    inputs, samples = batch(seed=seed)
    return dict(inputs=inputs, data_samples=samples)


def pending_step(algo, seed=1, backward=True):
    """Forward and loss parsing (the check's input) of a training step,
    and its backward, without the optimizer step."""
    losses = algo(**algo.data_preprocessor(data(seed), True), mode='loss')
    loss, _ = algo.parse_losses(losses)
    if backward:
        loss.backward()


def assert_unrelated_optimizers_step():
    """An optimizer over other parameters steps as usual."""
    param = torch.nn.Parameter(torch.ones(2))
    param.grad = torch.ones(2)
    torch.optim.SGD([param], lr=1.0).step()
    assert torch.equal(param.detach(), torch.zeros(2))


def poison(algo, teacher='t1'):
    with torch.no_grad():
        for param in algo.teachers[teacher].parameters():
            param.fill_(float('nan'))


def training_state(algo, optim_wrapper):
    """Trainable parameters, buffers of the student and translators, and
    the optimizer's state, copied."""
    return copy.deepcopy(
        dict(
            params={
                name: p
                for name, p in algo.named_parameters() if p.requires_grad
            },
            buffers={
                name: b
                for name, b in algo.named_buffers()
                if not name.startswith('teachers.')
            },
            optimizer=optim_wrapper.optimizer.state_dict()))


def assert_same_state(got, expected, buffers=True):
    """Same parameters and optimizer state; with ``buffers``, also the same
    norm statistics ('error' leaves those of the stopped forward: training
    ends there)."""
    assert got['params'].keys() == expected['params'].keys()
    for group in ('params', 'buffers') if buffers else ('params', ):
        for name, value in expected[group].items():
            assert torch.equal(got[group][name], value), name
    momentum = [(s['momentum_buffer'], expected['optimizer']['state'][i]
                 ['momentum_buffer'])
                for i, s in got['optimizer']['state'].items()]
    assert momentum and all(torch.equal(a, b) for a, b in momentum)


@pytest.fixture
def trained():
    """A FEED model watched by the hook and its optimizer, after one good
    update (momentum exists)."""
    hooks = []

    def make(mode, **wrapper):
        algo = build_feed()
        hooks.append(NonFiniteLossHook(mode))
        hooks[-1].attach(algo)
        optim_wrapper = sgd(algo, **wrapper)
        for _ in range(wrapper.get('accumulative_counts', 1)):
            algo.train_step(data(), optim_wrapper)
        return algo, optim_wrapper

    yield make
    for hook in hooks:
        hook.detach()


def test_error_names_the_term_and_stops_before_the_step(trained):
    algo, optim_wrapper = trained('error')
    before = training_state(algo, optim_wrapper)
    poison(algo)
    with pytest.raises(NonFiniteLossError,
                       match=r'distill\.loss_feed_t1 = nan\. Stopped before '
                       'the optimizer step') as err:
        algo.train_step(data(1), optim_wrapper)
    assert err.value.terms == ['distill.loss_feed_t1']
    # Raised after the backward pass was queued (the check waits for the
    # optimizer step), but before the step.
    assert algo.student.backbone.conv1.weight.grad is not None
    assert_same_state(training_state(algo, optim_wrapper), before,
                      buffers=False)


def test_skip_leaves_parameters_optimizer_and_statistics(trained,
                                                         monkeypatch):
    warnings = []
    monkeypatch.setattr(nonfinite_loss, 'print_log',
                        lambda msg, **kwargs: warnings.append(msg))
    algo, optim_wrapper = trained('skip')
    before = training_state(algo, optim_wrapper)
    healthy = copy.deepcopy(algo.teachers['t1'].state_dict())
    poison(algo)
    algo.train_step(data(1), optim_wrapper)
    assert len(warnings) == 1
    assert 'distill.loss_feed_t1 = nan' in warnings[0]
    assert 'distill.loss_feed_t0' not in warnings[0]
    assert_same_state(training_state(algo, optim_wrapper), before)

    # Training goes on with the next good batch.
    algo.teachers['t1'].load_state_dict(healthy)
    algo.train_step(data(2), optim_wrapper)
    after = training_state(algo, optim_wrapper)
    assert not torch.equal(after['params']['architecture.head.fc.weight'],
                           before['params']['architecture.head.fc.weight'])
    assert len(warnings) == 1


@pytest.mark.parametrize('mode', ['error', 'skip'])
def test_accumulated_steps_are_checked_together(trained, mode, monkeypatch):
    monkeypatch.setattr(nonfinite_loss, 'print_log', lambda *a, **k: None)
    algo, optim_wrapper = trained(mode, accumulative_counts=2)
    before = training_state(algo, optim_wrapper)
    healthy = copy.deepcopy(algo.teachers['t1'].state_dict())
    poison(algo)
    # The first step of the window only accumulates gradients.
    algo.train_step(data(1), optim_wrapper)
    algo.teachers['t1'].load_state_dict(healthy)
    if mode == 'error':
        with pytest.raises(NonFiniteLossError, match='loss_feed_t1'):
            algo.train_step(data(2), optim_wrapper)
    else:
        algo.train_step(data(2), optim_wrapper)
    assert_same_state(training_state(algo, optim_wrapper), before,
                      buffers=mode == 'skip')


def test_step_that_never_came_is_checked_at_the_next_forward(trained):
    algo, optim_wrapper = trained('error')
    poison(algo)
    # As AMP's GradScaler does with non-finite gradients: no optimizer
    # step, gradients cleared.
    pending_step(algo)
    optim_wrapper.zero_grad()
    with pytest.raises(NonFiniteLossError, match='loss_feed_t1'):
        algo.train_step(data(2), optim_wrapper)


def test_other_optimizers_are_left_alone(trained):
    algo, optim_wrapper = trained('error')
    poison(algo)
    pending_step(algo, backward=False)
    assert_unrelated_optimizers_step()
    with pytest.raises(NonFiniteLossError):
        optim_wrapper.step()


def test_unknown_mode_is_a_config_error():
    with pytest.raises(FEEDConfigError,
                       match='default_hooks.nonfinite_loss.mode'):
        NonFiniteLossHook('warn')
