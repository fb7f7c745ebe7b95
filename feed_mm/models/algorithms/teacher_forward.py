"""How FEED runs its frozen teachers: stopped early, under autocast, and
teachers of one architecture as a single batched (vmapped) forward."""
from functools import lru_cache, partial
from typing import (Any, Callable, Dict, List, Mapping, Optional, Sequence,
                    Tuple, Union)

import torch
import torch.nn as nn
from mmengine.logging import print_log
from torch.func import functional_call, stack_module_state, vmap
from torch.utils._pytree import tree_map

from feed_mm.utils import FEEDConfigError
from .teacher_spec import TeacherSpec

AUTOCAST_DTYPES = {
    'bf16': torch.bfloat16,
    'bfloat16': torch.bfloat16,
    'fp16': torch.float16,
    'float16': torch.float16,
}


class StopForward(Exception):
    """Raised inside a teacher's forward once every tapped module has run:
    nothing after them is needed."""


class ModuleTap:
    """Catches the outputs of named modules of a model and, optionally,
    stops its forward as soon as all of them have run.

    Hooks are attached once and only act while the tap is entered, so the
    same teacher still runs whole for validation.

    Args:
        model (nn.Module): The model.
        module_names (Sequence[str]): Module paths whose outputs are the
            last thing needed from the forward.
        stop (bool): Stop the forward once they have all run.
            Defaults to True.
    """

    def __init__(self,
                 model: nn.Module,
                 module_names: Sequence[str],
                 stop: bool = True) -> None:
        modules = dict(model.named_modules())
        self.module_names = tuple(dict.fromkeys(module_names))
        self.stop = stop
        self.outputs: Dict[str, Any] = {}
        self._pending: set = set()
        self._armed = False
        for name in self.module_names:
            # Registered after the recorders' hooks, so records are taken
            # before the forward is stopped. A partial of a bound method,
            # not a closure: a deepcopy of the model (e.g. an EMA copy) then
            # copies the tap with it and keeps stopping early.
            modules[name].register_forward_hook(partial(self._hook, name))

    def _hook(self, name: str, module: nn.Module, inputs: Any,
              outputs: Any) -> None:
        if self._armed and name in self._pending:
            self._pending.discard(name)
            self.outputs[name] = outputs
            if self.stop and not self._pending:
                raise StopForward

    def __enter__(self) -> 'ModuleTap':
        self.outputs = {}
        self._pending = set(self.module_names)
        self._armed = True
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> bool:
        self._armed = False
        return exc_type is StopForward


def teacher_autocast(dtype: Optional[torch.dtype], device: torch.device):
    """Autocast context of the teachers' forward (a no-op when ``dtype`` is
    None)."""
    return torch.autocast(
        device_type=device.type, dtype=dtype, enabled=dtype is not None)


# teacher_autocast='auto': the precision that measured fastest per device
# (docs/benchmark.md): bf16 on CPUs with native bf16 (AVX512-BF16, AMX),
# fp16 on CUDA; elsewhere full precision.
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


class TeacherGroup:
    """Teachers of one architecture run as one forward, vmapped over their
    stacked weights (``torch.func.stack_module_state`` +
    ``functional_call``), instead of one forward per teacher.

    The teachers' own parameters and buffers become views of the stacked
    tensors, so the weights are held once and in-place loads reach the
    stacked copy. Moving the model (``.to(device)``) replaces them; the
    stack is then rebuilt at the next forward.

    Args:
        teachers (Sequence[nn.Module]): Teachers of identical architecture
            and identical recorded modules, in eval mode.
        tap (ModuleTap): The tap of the recorded modules of the first
            teacher, whose module runs the batched forward.
    """

    def __init__(self, teachers: Sequence[nn.Module], tap: ModuleTap) -> None:
        self.teachers = list(teachers)
        self.template = self.teachers[0]
        self.tap = tap
        self._params: Dict[str, torch.Tensor] = {}
        self._buffers: Dict[str, torch.Tensor] = {}
        self._stack_key: Optional[tuple] = None

    def _current_key(self) -> tuple:
        return tuple(
            next(iter(t.parameters())).data_ptr() for t in self.teachers)

    def _restack(self) -> None:
        self._params, self._buffers = stack_module_state(self.teachers)
        for index, teacher in enumerate(self.teachers):
            for name, param in teacher.named_parameters():
                param.data = self._params[name][index]
            for name, _ in teacher.named_buffers():
                owner, _, leaf = name.rpartition('.')
                teacher.get_submodule(owner)._buffers[leaf] = \
                    self._buffers[name][index]
        self._stack_key = self._current_key()

    def __call__(self,
                 inputs: torch.Tensor,
                 dtype: Optional[torch.dtype] = None) -> List[Dict[str, Any]]:
        """Run every teacher of the group on ``inputs``.

        Args:
            inputs (Tensor): The preprocessed batch.
            dtype (torch.dtype, optional): Run the forward in this precision
                (``teacher_autocast``). Autocast does not reach the
                operators inside ``vmap`` (they run in the inputs' dtype), so
                the group casts its weights and inputs instead: the whole
                forward, norm layers included, runs in ``dtype``.

        Returns:
            list[dict]: Per teacher, ``module path -> output``.
        """
        if self._stack_key != self._current_key():
            self._restack()
        names = self.tap.module_names
        params, buffers = self._params, self._buffers
        if dtype is not None:
            params, buffers, inputs = cast_floats((params, buffers, inputs),
                                                  dtype)

        def forward_one(params, buffers, batch):
            with self.tap:
                functional_call(self.template, (params, buffers), (batch, ),
                                dict(mode='tensor'))
            missing = [n for n in names if n not in self.tap.outputs]
            if missing:
                raise RuntimeError(
                    f'the batched teacher forward did not run {missing}')
            return tuple(self.tap.outputs[n] for n in names)

        stacked = vmap(forward_one, in_dims=(0, 0, None))(params, buffers,
                                                           inputs)
        return [{
            name: tree_map(lambda t, i=index: t[i], output)
            for name, output in zip(names, stacked)
        } for index in range(len(self.teachers))]


def group_teachers(teachers: Mapping[str, nn.Module],
                   specs: Mapping[str, TeacherSpec],
                   output_sources: Callable[[str], Optional[List[str]]]
                   ) -> List[List[str]]:
    """Group the teachers that one batched forward can run: the same
    model (config, or structure for a built module), the same weight
    shapes and the same module records.

    Args:
        teachers (Mapping[str, nn.Module]): The built teachers by name.
        specs (Mapping[str, TeacherSpec]): Their specs.
        output_sources (Callable): ``name ->`` the module paths whose
            outputs are recorded on that teacher, or None when a recorder
            is not a module outputs recorder (such a teacher runs alone).
    """
    groups: Dict[tuple, List[str]] = {}
    for name, teacher in teachers.items():
        sources = output_sources(name)
        if not sources:
            key: tuple = (name, )
        else:
            model = specs[name].model
            key = (repr(model) if isinstance(model, (str, Mapping)) else
                   repr(teacher), type(teacher),
                   tuple((k, tuple(v.shape), v.dtype)
                         for k, v in teacher.state_dict().items()),
                   tuple(sources))
        groups.setdefault(key, []).append(name)
    batched = [names for names in groups.values() if len(names) > 1]
    if batched:
        print_log(
            'Teachers run as batched forwards: ' + '; '.join(
                ', '.join(names) for names in batched), logger='current')
    return list(groups.values())


def plan_teacher_forwards(
    teachers: Mapping[str, nn.Module], specs: Mapping[str, TeacherSpec],
    module_sources: Callable[..., Optional[List[str]]], early_stop: bool,
    batch_teachers: bool
) -> Tuple[Dict[str, Optional[ModuleTap]], List[List[str]], Dict[
        tuple, TeacherGroup]]:
    """How each teacher runs: a tap on its recorded modules (that stops its
    forward once they have run, with ``early_stop``), the forward groups and
    the batched ones among them.

    Args:
        module_sources (Callable): The distiller's ``module_sources``.

    Returns:
        tuple: ``taps`` (name -> ModuleTap, or None when a recorder is not
        a module recorder), ``groups`` (teacher names per forward) and
        ``batched`` (names -> TeacherGroup, for groups of several).
    """
    taps: Dict[str, Optional[ModuleTap]] = {}
    for name, teacher in teachers.items():
        sources = module_sources(name)
        # Without module sources (method/function recorders) a teacher
        # runs its full loss forward, which cannot be stopped.
        taps[name] = (ModuleTap(teacher, sources, stop=early_stop)
                      if sources else None)
    groups = group_teachers(
        teachers, specs, lambda name: module_sources(
            name, outputs_only=True)) if batch_teachers else [
                [name] for name in teachers]
    batched = {
        tuple(names): TeacherGroup([teachers[n] for n in names],
                                   taps[names[0]])
        for names in groups if len(names) > 1
    }
    return taps, groups, batched


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
    inputs' dtype, so that every loss sees full-precision maps.
    """
    with recorders, torch.no_grad(), teacher_autocast(dtype, inputs.device):
        if tap is not None or guard is not None:

            def forward():
                return teacher(inputs, mode='tensor')
        else:

            def forward():
                return teacher(inputs, data_samples, mode='loss')

        if guard is not None:
            forward = partial(guard, forward)
        if tap is not None:
            with tap:
                forward()
        else:
            forward()
    if dtype is not None:
        for recorder in recorders.recorders.values():
            recorder.data_buffer[:] = cast_floats(recorder.data_buffer,
                                                  inputs.dtype)


def guard_dry_run(forward: Callable[[], Any], owner: str) -> Any:
    """Run a dry-run forward; its failure is reported as a bad
    ``input_shape`` (the dummy batch is the only input it had)."""
    try:
        return forward()
    except StopForward:
        raise
    except (RuntimeError, ValueError, AssertionError) as err:
        raise FEEDConfigError(
            'model.input_shape', f'the dry run of {owner} failed on a '
            f'dummy batch: {err}') from err
