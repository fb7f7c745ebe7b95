"""What a training step does when a loss term is NaN or infinite."""
import logging
import weakref
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
# torch.optim deletes its `optimizer` attribute; the module is there.
import torch.optim.optimizer as torch_optimizer
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from feed_mm.utils import FEEDConfigError, NonFiniteLossError

#: The config key of the hook in feed_mm's runtime.
HOOK_KEY = 'default_hooks.nonfinite_loss'


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Checks every training step's loss terms before its optimizer step.

    With ``'error'`` a NaN or infinite term raises
    :class:`~feed_mm.utils.NonFiniteLossError`, naming the term and the
    iteration, before the optimizer step: parameters, optimizer state and
    the checkpoints saved so far are those of the last good iteration. With
    ``'skip'`` a warning names them, and the step leaves parameters,
    optimizer state and the buffers the forward changed (norm statistics)
    as they were. Gradient accumulation is checked, and skipped, per update;
    under DDP a term that is not finite in one process stops or skips the
    update in all of them.

    Reading a flag waits for the device, so the terms are taken as the
    model's loss forward returns them and read in a pre-hook of the
    optimizer step, once the backward pass is queued (or at the next
    forward, when AMP's gradient scaler skipped the step).

    Args:
        mode (str): ``'error'`` or ``'skip'``. Defaults to ``'error'``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, mode: str = 'error') -> None:
        if mode not in ('error', 'skip'):
            raise FEEDConfigError(f'{HOOK_KEY}.mode',
                                  f"must be 'error' or 'skip', got {mode!r}")
        self.mode = mode
        self._pending: List[Tuple[Optional[int], List[str], List[
            torch.Tensor], torch.Tensor]] = []
        self._buffers: List[Tuple[torch.Tensor, torch.Tensor]] = []
        self._handles: List[Any] = []
        self._iteration: Optional[int] = None

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self.attach(model)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Any = None) -> None:
        self._iteration = runner.iter + 1  # counted from 1, as logged

    def after_train(self, runner) -> None:
        self._resolve()  # a last update that never reached its step
        self.detach()

    def attach(self, model: nn.Module) -> None:
        """Watch ``model``'s loss forwards and every optimizer over its
        parameters (the runner calls this before training)."""
        self.detach()
        self._params = list(model.parameters())
        param_ids = {id(param) for param in self._params}
        # The global step hook keeps neither this hook nor the model alive
        # when a run ends in an exception before after_train.
        hook = weakref.ref(self)

        def before_step(optimizer, args, kwargs):
            if hook() is not None and any(
                    id(p) in param_ids for group in optimizer.param_groups
                    for p in group['params']):
                hook()._resolve()

        self._handles = [
            model.register_forward_pre_hook(self._before_forward,
                                            with_kwargs=True),
            model.register_forward_hook(self._after_forward,
                                        with_kwargs=True),
            torch_optimizer.register_optimizer_step_pre_hook(before_step),
        ]

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles, self._pending, self._buffers = [], [], []

    def _before_forward(self, model: nn.Module, args: Tuple,
                        kwargs: Dict[str, Any]) -> None:
        if not (model.training and kwargs.get('mode') == 'loss'):
            return
        if self._pending and all(p.grad is None for p in self._params):
            # The last update ended without an optimizer step (AMP's
            # GradScaler skipped it and cleared the gradients): check now.
            self._resolve()
        if self.mode == 'skip' and not self._pending:
            self._buffers = [(buffer, buffer.detach().clone())
                             for buffer in model.buffers()]

    def _after_forward(self, model: nn.Module, args: Tuple,
                       kwargs: Dict[str, Any], losses: Any) -> None:
        if not (model.training and kwargs.get('mode') == 'loss'
                and isinstance(losses, dict)):
            return
        terms = {name: sum(v.mean() for v in value) if isinstance(
            value, (list, tuple)) else value.mean()
            for name, value in losses.items() if 'loss' in name}
        if not terms:
            return
        # The total, as parse_losses sums it: finite terms may overflow.
        terms['loss'] = sum(terms.values())
        values = [value.detach() for value in terms.values()]
        flags = torch.stack([~torch.isfinite(v) for v in values]).float()
        self._pending.append((self._iteration, list(terms), values, flags))

    def _resolve(self) -> None:
        """Read the flags of the pending steps; raise, or skip the update,
        if a term was not finite."""
        steps, self._pending = self._pending, []
        buffers, self._buffers = self._buffers, []
        if not steps:
            return
        # One collective per update, at the same point in every process.
        flags = torch.cat([step[3] for step in steps])
        all_reduce(flags, op='max')
        read = iter(flags.tolist())  # the one wait for the device
        for iteration, names, values, _ in steps:
            bad = [name for name in names if next(read)]
            if bad:
                break
        else:
            return
        # The total only when no single term is named.
        terms = [name for name in bad if name != 'loss'] or bad
        by_name = dict(zip(names, values))
        described = ', '.join(
            f'{name} = {by_name[name].item()}'
            if not torch.isfinite(by_name[name]) else
            f'{name} (not finite in another process)' for name in terms)
        where = ('in a training step' if iteration is None else
                 f'at training iteration {iteration}')
        if self.mode == 'error':
            self.detach()
            raise NonFiniteLossError(
                terms, iteration,
                f'Non-finite loss {where}: {described}. Stopped before the '
                'optimizer step, so the parameters and the checkpoints '
                f"saved so far are those of the last good iteration. Set "
                f"{HOOK_KEY}.mode='skip' to skip such steps instead.")
        print_log(
            f'Non-finite loss {where}: {described}. Skipping its optimizer '
            'step: parameters and optimizer state are left unchanged.',
            logger='current', level=logging.WARNING)
        for param in self._params:
            param.grad = None
        # Only now: autograd refuses a backward pass through buffers that
        # were modified in place after the forward.
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)
