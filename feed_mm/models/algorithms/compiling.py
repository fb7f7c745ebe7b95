"""FEED under ``torch.compile`` without recompilation.

Compiling FEED's whole training step makes dynamo trace what it cannot keep
static (the recorders' hooks, the exception that stops a teacher, the data
samples) and recompile at each step until it falls back to eager. Here only
pure tensor functions are compiled: the ``forward`` of the largest
submodules (*units*) holding no recorded module, and the translators; a
recorded module's hooks run in ``nn.Module.__call__``, around its compiled
``forward``, and stay eager. With static shapes (``dynamic=False``) a unit
compiles once per batch shape, grad mode and train/eval mode (the warm-up:
the first training and validation steps at the full and the last batch
size); nothing compiles after it.
"""
from collections import Counter
from functools import partial
from typing import Any, Dict, Iterable, List, Optional, Union

import torch
import torch.nn as nn

from feed_mm.models.distillers.feed_distiller import module_sources
from feed_mm.utils import FEEDConfigError

# Static shapes: a last partial batch is one more graph per unit during the
# warm-up, instead of dynamic-shape graphs that are slower to run.
COMPILE_DEFAULTS = dict(dynamic=False)
# Graphs one compiled code object may hold per module of it: batch sizes
# (full, last partial) x (training with grad, teacher without grad,
# validation), with room to spare.
GRAPHS_PER_MODULE = 8


def parse_compile(value: Union[bool, Dict, None]) -> Optional[Dict[str, Any]]:
    """The ``torch.compile`` keyword arguments of ``FEEDDistill(compile=...)``
    (None: no compilation).

    Args:
        value (bool | dict | None): False or None: eager; True: compile with
            :data:`COMPILE_DEFAULTS`; a dict: ``torch.compile`` arguments
            (``backend``, ``mode``, ``dynamic``, ``options``...) over them.
    """
    if value is None or value is False:
        return None
    if value is True:
        return dict(COMPILE_DEFAULTS)
    if isinstance(value, dict):
        return dict(COMPILE_DEFAULTS, **value)
    raise FEEDConfigError(
        'model.compile', 'must be True, False or a dict of torch.compile '
        f'arguments, got {value!r}')


def compile_units(model: nn.Module, recorded: Iterable[str]) -> List[str]:
    """The module paths of ``model`` whose ``forward`` is compiled: the
    largest submodules with parameters that hold no recorded module strictly
    inside them (a recorded module may itself be a unit: its hooks run
    outside its ``forward``).

    Args:
        model (nn.Module): A student or teacher.
        recorded (Iterable[str]): Paths of its recorded (or tapped) modules.

    Returns:
        list[str]: Module paths, in module order.
    """
    recorded = set(recorded)
    units: List[str] = []

    def visit(module: nn.Module, path: str) -> None:
        inner = any(r.startswith(f'{path}.') for r in recorded) if path \
            else bool(recorded)
        if not inner:
            # Parameter-free modules (activations, pooling) cost nothing to
            # leave eager and each compiled one is a guard check per call.
            if next(module.parameters(), None) is not None:
                units.append(path)
            return
        for name, child in module.named_children():
            visit(child, f'{path}.{name}' if path else name)

    visit(model, '')
    return units


def compile_forward(module: nn.Module, options: Dict[str, Any],
                    method: str = 'forward') -> None:
    """Replace ``module.<method>`` by a compiled version of its class's
    function, bound to ``module`` by a ``functools.partial``.

    A partial, not a compiled bound method: a deepcopy of the model (e.g. an
    EMA copy) copies the partial with the module in it, so the copy's
    compiled forward runs the copy's weights. Parameters and state dict keys
    are untouched (no ``_orig_mod.`` prefixes).
    """
    function = getattr(type(module), method)
    setattr(module, method, partial(torch.compile(function, **options),
                                    module))


def compile_feed(algorithm: nn.Module,
                 options: Optional[Dict[str, Any]]) -> Dict[str, List[str]]:
    """Compile a FEEDDistill's student and teachers' units and its
    translators (``options``: :func:`parse_compile`'s; None compiles
    nothing). A teacher whose records are not all module records runs its
    whole loss forward eagerly.

    Returns:
        dict: ``'student'``, each compiled teacher's name and
        ``'distiller'`` -> the paths (methods for the distiller) whose
        compiled versions run; empty when eager.
    """
    if options is None:
        return {}
    distiller = algorithm.distiller
    models = {'student': (algorithm.student,
                          module_sources(distiller.student_recorders))}
    for name, teacher in algorithm.teachers.items():
        tap = algorithm._taps[name]
        if tap is not None:
            models[name] = (teacher, tap.module_names)
    compiled: Dict[str, List[str]] = {}
    code_objects: Counter = Counter()
    for name, (model, recorded) in models.items():
        if recorded is None:
            continue
        compiled[name] = compile_units(model, recorded)
        for path in compiled[name]:
            module = model.get_submodule(path)
            code_objects[type(module).forward.__code__] += 1
            compile_forward(module, options)
    # Dynamo counts the graphs of a code object together: teachers and
    # student of one class share it. Raise the global limit so that their
    # warm-up graphs fit instead of falling back to eager.
    config, limit = torch._dynamo.config, 'recompile_limit'
    limit = limit if hasattr(config, limit) else 'cache_size_limit'  # < 2.6
    setattr(config, limit, max(getattr(config, limit), GRAPHS_PER_MODULE *
                               max(code_objects.values(), default=0)))
    compile_forward(distiller, options, 'translate')
    compiled['distiller'] = ['translate']
    return compiled
