"""What a training step does when a loss term is NaN or infinite."""
import logging
import weakref
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
# torch.optim deletes its `optimizer` attribute; the module is there.
import torch.optim.optimizer as torch_optimizer
from mmengine.dist import all_reduce
from mmengine.logging import MessageHub, print_log

from feed_mm.utils import FEEDConfigError, NonFiniteLossError

NONFINITE_LOSS_MODES = ('error', 'skip')


def _iteration() -> Optional[int]:
    """The running training iteration, counted from 1 over the whole run as
    MMEngine's logs count it; None outside a runner."""
    done = MessageHub.get_current_instance().get_info('iter')
    return None if done is None else done + 1


@dataclass
class _StepLosses:
    """The loss terms of one training step, not yet read on the host."""
    iteration: Optional[int]
    names: List[str]
    values: List[torch.Tensor]
    # 1.0 where a term is not finite in this process.
    flags: torch.Tensor


class NonFiniteLossGuard:
    """Checks the loss terms of training steps before their optimizer step.

    Reading a flag on the host waits for the device, so the check does not
    happen where the losses are parsed: that would stall a GPU before its
    backward pass. The flags are read in a pre-hook of the optimizer step
    that updates the model (after the backward pass has been queued), or,
    when no step came (a step that AMP's gradient scaler skipped), at the
    next training forward.

    With ``'error'`` a NaN or infinite term raises
    :class:`~feed_mm.utils.NonFiniteLossError`, naming the term and the
    iteration, before the optimizer step: the parameters, the optimizer
    state and the checkpoints are those of the last good iteration. With
    ``'skip'`` a warning names the term and the iteration, and the optimizer
    step finds no gradients: parameters and optimizer state (momentum,
    Adam's moments and step counts) stay as they are, and the buffers the
    forward changed (norm statistics) get their values from before it back.
    With gradient accumulation the whole accumulated step is checked, and
    skipped, at once. Under DDP the processes agree: a term that is not
    finite in one process stops or skips the step in all of them.

    Args:
        model (nn.Module): The model whose training steps it checks.
        mode (str): ``'error'`` or ``'skip'``.
    """

    def __init__(self, model: nn.Module, mode: str) -> None:
        if mode not in NONFINITE_LOSS_MODES:
            raise FEEDConfigError(
                'model.nonfinite_loss',
                f"must be 'error' or 'skip', got {mode!r}")
        if not hasattr(torch_optimizer, 'register_optimizer_step_pre_hook'):
            raise FEEDConfigError(
                'model.nonfinite_loss',
                'the check needs torch >= 2.0 (optimizer step hooks)')
        self.mode = mode
        self._unchecked: List[_StepLosses] = []
        # The model's parameters, listed once: walking the modules each
        # step costs milliseconds on the host for a deep network.
        self._params: Optional[List[nn.Parameter]] = None
        self._param_ids: set = set()
        self._handle = None
        # 'skip': the model's buffers with their values from before the
        # forward of the first unchecked step.
        self._buffers: List[Tuple[torch.Tensor, torch.Tensor]] = []
        model.register_forward_pre_hook(self._before_forward, with_kwargs=True)

    def __getstate__(self) -> Dict[str, Any]:
        """A copy (``copy.deepcopy`` of the model, pickling) starts with no
        step pending: the pending steps and the global hook belong to the
        model they were taken from."""
        state = dict(self.__dict__)
        state.update(_unchecked=[], _buffers=[], _handle=None)
        return state

    def check(self, model: nn.Module, log_vars: Dict[str, torch.Tensor]
              ) -> None:
        """Take the loss terms of a training step, to be checked before its
        optimizer step.

        Args:
            model (nn.Module): The model being trained (not a DDP wrapper).
            log_vars (dict): What ``parse_losses`` logs: the total ``loss``
                and its terms (every key containing ``loss``).
        """
        names = [name for name in log_vars if 'loss' in name]
        if not names:
            return
        values = [log_vars[name].detach() for name in names]
        flags = torch.stack([~torch.isfinite(v).all() for v in values]).float()
        self._unchecked.append(
            _StepLosses(_iteration(), names, values, flags))
        if self._params is None:
            self._params = list(model.parameters())
            self._param_ids = {id(param) for param in self._params}
        if self._handle is None:
            # The hook is global (every optimizer): through a weak reference
            # it keeps neither the guard nor the model alive.
            before_step = weakref.WeakMethod(self._before_step)

            def hook(optimizer, args, kwargs):
                method = before_step()
                if method is not None:
                    method(optimizer, args, kwargs)

            self._handle = torch_optimizer.register_optimizer_step_pre_hook(
                hook)

    def _before_forward(self, model: nn.Module, args: Tuple,
                        kwargs: Dict[str, Any]) -> None:
        """Forward pre-hook of training forwards."""
        if not (model.training and kwargs.get('mode') == 'loss'):
            return
        if self._unchecked and all(param.grad is None
                                   for param in model.parameters()):
            # The last update ended without an optimizer step (AMP's
            # GradScaler skips steps with non-finite gradients, then the
            # gradients are set to None): check it now.
            self._resolve()
        if self.mode == 'skip' and not self._unchecked:
            self._buffers = [(buffer, buffer.detach().clone())
                             for buffer in model.buffers()]

    def _before_step(self, optimizer: torch.optim.Optimizer, args,
                     kwargs) -> None:
        """Optimizer step pre-hook: check the unchecked steps before an
        optimizer over the model's parameters updates them."""
        if any(
                id(param) in self._param_ids
                for group in optimizer.param_groups
                for param in group['params']):
            self._resolve()

    def _resolve(self) -> None:
        """Read the flags of the unchecked steps; raise, or skip the update,
        if a term was not finite."""
        steps, self._unchecked = self._unchecked, []
        buffers, self._buffers = self._buffers, []
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        if not steps:
            return
        # One collective per update (not per accumulated step): every
        # process resolves at the same point, so they all take part.
        flags = torch.cat([step.flags for step in steps])
        all_reduce(flags, op='max')
        read = iter(flags.tolist())  # the one wait for the device
        per_step = [[next(read) for _ in step.names] for step in steps]
        bad = [(step, flag) for step, flag in zip(steps, per_step)
               if any(flag)]
        if not bad:
            return
        step, flag = bad[0]
        named = [name for name, f in zip(step.names, flag) if f]
        # The total is only named when no single term is (finite terms
        # whose sum overflows).
        terms = [name for name in named if name != 'loss'] or named
        values = dict(zip(step.names, step.values))
        described = ', '.join(
            f'{name} = {values[name].item()}'
            if not torch.isfinite(values[name]).all() else
            f'{name} (not finite in another process)' for name in terms)
        where = ('in a training step' if step.iteration is None else
                 f'at training iteration {step.iteration}')
        if self.mode == 'error':
            raise NonFiniteLossError(
                terms, step.iteration,
                f'Non-finite loss {where}: {described}. Stopped before the '
                'optimizer step, so the parameters and the checkpoints '
                'saved so far are those of the last good iteration. Set '
                "model.nonfinite_loss='skip' to skip such steps instead.")
        print_log(
            f'Non-finite loss {where}: {described}. Skipping its optimizer '
            'step: parameters and optimizer state are left unchanged.',
            logger='current',
            level=logging.WARNING)
        for param in self._params:
            param.grad = None
        # Only now: autograd refuses a backward pass through buffers that
        # were modified in place after the forward.
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)
