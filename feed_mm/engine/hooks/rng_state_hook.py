import logging
import random
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS
from mmengine.runner import IterBasedTrainLoop

#: The checkpoint key of the saved states: one dict per process, by rank.
CHECKPOINT_KEY = 'rng_state'


def get_rng_state() -> Dict[str, Any]:
    """This process's random number generator states: Python's, NumPy's
    global one, torch's CPU one and, once CUDA is in use, the current CUDA
    device's.

    Returns:
        dict: The states, made of the types a safely loaded checkpoint may
        hold (ints, floats, strings, tuples, lists, tensors).
    """
    name, key, *rest = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=(name, key.tolist(), *rest),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    """Set the generator states taken by :func:`get_rng_state`.

    Args:
        state (dict): The states.
    """
    random.setstate(state['python'])
    name, key, *rest = state['numpy']
    np.random.set_state((name, np.asarray(key, dtype=np.uint32), *rest))
    # A resume maps the checkpoint to the training device; generator states
    # are CPU byte tensors whatever the generator.
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'].cpu())


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Makes a resumed epoch-based run draw the random numbers of the
    uninterrupted run, so that it ends with the same weights.

    MMEngine seeds the generators once, when the runner starts, and its
    checkpoints do not hold their states: a run resumed from epoch N goes on
    with freshly seeded generators, so its random augmentations (MMPretrain's
    transforms draw from NumPy's global generator in the main process when
    ``num_workers=0``), dropout masks and so on differ from those the
    uninterrupted run draws in epoch N + 1.

    This hook takes every process's generator states at the end of each
    training epoch, stores them in the checkpoints (``rng_state``, by rank)
    and sets them at the start of the next training epoch; when resuming, it
    sets the checkpoint's states at the start of the resumed epoch. The
    uninterrupted run sets them too: validation between the epochs draws from
    the same generators (a dataloader takes its base seed from torch's), and
    the resumed run does not repeat it. States are restored only into as
    many processes as saved them, and only on resume (not ``load_from``).
    Iteration-based loops are left alone: MMEngine replays their skipped
    batches through the pipeline, which draws random numbers.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        # All processes' states the current (or next) training epoch
        # starts from.
        self._states: Optional[List[Dict[str, Any]]] = None
        # (epoch, iter, states) of a checkpoint loaded into this runner.
        self._loaded: Optional[Tuple[int, int, List[Dict[str, Any]]]] = None
        self._enabled = True

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the loaded states until training shows it resumed."""
        states = checkpoint.get(CHECKPOINT_KEY)
        meta = checkpoint.get('meta', {})
        if states is not None:
            self._loaded = (meta.get('epoch'), meta.get('iter'), states)

    def before_train(self, runner) -> None:
        """Adopt the loaded states if the loop resumed from them."""
        self._enabled = not isinstance(runner.train_loop, IterBasedTrainLoop)
        loaded, self._loaded = self._loaded, None
        # load_from leaves the loop at epoch 0, a resume where it was saved.
        if not self._enabled or loaded is None or loaded[:2] != (
                runner.epoch, runner.iter):
            return
        states = loaded[2]
        if len(states) != get_world_size():
            print_log(
                f'The checkpoint holds the random generator states of '
                f'{len(states)} processes, this run has {get_world_size()}: '
                'they are not restored, so the resumed run draws other '
                'random numbers than an uninterrupted one.',
                logger='current',
                level=logging.WARNING)
            return
        self._states = states

    def before_train_epoch(self, runner) -> None:
        """Start the epoch from the states the previous one ended with."""
        if not self._enabled:
            return
        if self._states is None:
            self._states = all_gather_object(get_rng_state())
        else:
            set_rng_state(self._states[get_rank()])

    def after_train_epoch(self, runner) -> None:
        """Take the states the next epoch starts from, before the
        checkpoint hook saves them."""
        if self._enabled:
            self._states = all_gather_object(get_rng_state())

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the states the current (or, at an epoch's end, the next)
        epoch starts from: an epoch-based loop resumes at an epoch's
        start."""
        if self._enabled and self._states is not None:
            checkpoint[CHECKPOINT_KEY] = self._states
