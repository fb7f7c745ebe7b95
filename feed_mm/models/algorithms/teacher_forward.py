"""How FEED runs its frozen teachers: without autograd, stopped once the
modules its losses read have run, optionally under autocast."""
from contextlib import nullcontext
from functools import lru_cache, partial
from typing import Any, Callable, Optional, Sequence, Union

import torch
import torch.nn as nn
from torch.utils._pytree import tree_map

from feed_mm.models.distillers.validation import StopForward
from feed_mm.utils import FEEDConfigError

AUTOCAST_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}


class ModuleTap:
    """Stops ``model``'s forward once the modules ``module_names`` have all
    run. Its hooks only act while the tap is entered, so the same teacher
    still runs whole for validation."""

    def __init__(self, model: nn.Module, module_names: Sequence[str]) -> None:
        modules = dict(model.named_modules())
        self.module_names = tuple(dict.fromkeys(module_names))
        self._pending: set = set()
        for name in self.module_names:
            # Registered after the recorders' hooks, so records are taken
            # before the forward is stopped. A partial of a bound method,
            # not a closure: a deepcopy of the model (e.g. an EMA copy) then
            # copies the tap with it and keeps stopping early.
            modules[name].register_forward_hook(partial(self._hook, name))

    def _hook(self, name: str, module: nn.Module, inputs: Any,
              outputs: Any) -> None:
        if name in self._pending:
            self._pending.discard(name)
            if not self._pending:
                raise StopForward

    def __enter__(self) -> 'ModuleTap':
        self._pending = set(self.module_names)
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> bool:
        self._pending = set()
        return exc_type is StopForward


# teacher_autocast='auto': the precision that measured fastest per device
# (docs/benchmark.md): bf16 on CPUs with native bf16, fp16 on CUDA.
AUTO = 'auto'


def parse_autocast(value: Optional[str]
                   ) -> Union[None, torch.dtype, str]:
    """The dtype of ``teacher_autocast`` ('bf16', 'fp16' or None), or
    ``'auto'``, which :func:`resolve_autocast` turns into one per device."""
    if value is None or value == AUTO:
        return value
    if value not in AUTOCAST_DTYPES:
        raise FEEDConfigError(
            'model.teacher_autocast', f'must be one of '
            f'{", ".join(map(repr, [*AUTOCAST_DTYPES, AUTO]))} or None, got '
            f'{value!r}')
    return AUTOCAST_DTYPES[value]


def resolve_autocast(setting: Union[None, torch.dtype, str],
                     device: torch.device) -> Optional[torch.dtype]:
    """The teachers' autocast dtype on ``device`` for a parsed
    ``teacher_autocast``."""
    if setting != AUTO:
        return setting
    if device.type == 'cuda':
        return torch.float16
    if device.type == 'cpu' and cpu_has_fast_bf16():
        return torch.bfloat16
    return None


@lru_cache(maxsize=None)
def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU; bf16 emulated on
    older CPUs is slower than fp32."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def cast_floats(records: Any, dtype: torch.dtype) -> Any:
    """``records`` with every floating tensor cast to ``dtype``: losses see
    the teachers' maps in the student's precision."""
    return tree_map(
        lambda t: t.to(dtype) if isinstance(t, torch.Tensor) and
        t.is_floating_point() and t.dtype != dtype else t, records)


def forward_teacher(teacher: nn.Module,
                    inputs: torch.Tensor,
                    data_samples: Optional[list],
                    recorders: Any,
                    tap: Optional[ModuleTap],
                    dtype: Optional[torch.dtype],
                    guard: Optional[Callable[[Callable[[], Any]], Any]] = None
                    ) -> None:
    """One frozen teacher's forward under its ``recorders``, without
    gradients: ``mode='tensor'`` when a ``tap`` stops it (or under the dry
    run's ``guard``), else the full ``loss`` forward that method recorders
    may need. Under ``dtype`` (autocast) the records are cast back to the
    inputs' dtype, so that every loss sees full-precision maps."""
    if tap is not None or guard is not None:
        forward = partial(teacher, inputs, mode='tensor')
    else:
        forward = partial(teacher, inputs, data_samples, mode='loss')
    with recorders, torch.no_grad(), torch.autocast(
            inputs.device.type, dtype, enabled=dtype is not None), \
            tap or nullcontext():
        guard(forward) if guard is not None else forward()
    if dtype is not None:
        for recorder in recorders.recorders.values():
            recorder.data_buffer[:] = cast_floats(recorder.data_buffer,
                                                  inputs.dtype)
