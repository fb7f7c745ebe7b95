"""RNGStateHook: a resumed epoch draws the random numbers of the
uninterrupted run."""
import random
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from feed_mm.engine import RNGStateHook
from feed_mm.engine.hooks.rng_state_hook import (CHECKPOINT_KEY,
                                                 get_rng_state, set_rng_state)


def draws():
    return (random.random(), float(np.random.rand()),
            float(torch.rand(1)))


def fake_runner(loop_type=EpochBasedTrainLoop, epoch=0, iter=0):
    loop = loop_type.__new__(loop_type)
    return SimpleNamespace(train_loop=loop, epoch=epoch, iter=iter)


def test_states_round_trip():
    state = get_rng_state()
    first = draws()
    set_rng_state(state)
    assert draws() == first


def run_first_epoch(hook, runner):
    """The hook's calls around one training epoch and its checkpoint."""
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    draws()
    hook.after_train_epoch(runner)
    checkpoint = dict(meta=dict(epoch=1, iter=4))
    hook.before_save_checkpoint(runner, checkpoint)
    return checkpoint


def test_resumed_epoch_draws_what_the_uninterrupted_one_draws():
    random.seed(0), np.random.seed(0), torch.manual_seed(0)
    hook, runner = RNGStateHook(), fake_runner()
    checkpoint = run_first_epoch(hook, runner)
    assert len(checkpoint[CHECKPOINT_KEY]) == 1  # one process
    # Validation between epochs draws too; the next epoch must not care.
    draws()
    hook.before_train_epoch(runner)
    expected = draws()

    # A new process, seeded afresh, resumes from the checkpoint.
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    resumed, runner = RNGStateHook(), fake_runner(epoch=1, iter=4)
    resumed.after_load_checkpoint(runner, checkpoint)
    resumed.before_train(runner)
    resumed.before_train_epoch(runner)
    assert draws() == expected


def test_load_from_does_not_restore_states():
    hook = RNGStateHook()
    checkpoint = run_first_epoch(hook, fake_runner())
    hook.before_train_epoch(fake_runner())
    after_checkpoint = draws()
    # load_from leaves the loop at epoch 0: the states are not the run's.
    fresh, runner = RNGStateHook(), fake_runner()
    fresh.after_load_checkpoint(runner, checkpoint)
    fresh.before_train(runner)
    np.random.seed(5), random.seed(5), torch.manual_seed(5)
    fresh.before_train_epoch(runner)
    assert draws() != after_checkpoint


def test_iteration_based_loops_are_left_alone():
    hook, runner = RNGStateHook(), fake_runner(IterBasedTrainLoop)
    checkpoint = run_first_epoch(hook, runner)
    assert CHECKPOINT_KEY not in checkpoint
