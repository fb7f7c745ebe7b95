"""Peak memory of each case, and FEED's memory bound."""
import gc
import multiprocessing
import os
import resource
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from .cases import build_case, make_batch, quiet_logs
from .setting import Setting

MIB = 2**20
# Train-step cases run this many steps before the peak is read, so the
# optimizer's momentum buffers exist.
MEMORY_STEPS = 2
# FEED's peak may exceed what its models need by this factor (the issue's
# memory target).
MEMORY_SLACK = 1.1


def _current_rss() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def measure_memory_case(setting: Setting,
                        spec: Dict[str, Any]) -> Dict[str, float]:
    """Peak memory of a case in this process: build it, run
    :data:`MEMORY_STEPS` steps.

    On CUDA, allocated bytes; ``after_build_mib`` is taken after one step,
    so it holds the optimizer state and the increase is the activations. On
    CPU, the process's RSS (``ru_maxrss``, Linux) and ``after_build_mib``
    right after building; only meaningful in a fresh process, see
    :func:`measure_memory`.

    Returns:
        dict: ``base_mib`` (before anything is built: on CPU the interpreter
        and libraries), ``after_build_mib``, ``peak_mib`` and
        ``increase_mib`` (peak minus after build).
    """
    quiet_logs()
    if setting.threads:
        torch.set_num_threads(setting.threads)
    torch.manual_seed(0)
    cuda = setting.device == 'cuda'
    base = torch.cuda.memory_allocated() if cuda else _current_rss()
    batch = make_batch(setting)
    _model, step = build_case(setting, spec, batch)
    if cuda:
        step()
        gc.collect()
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        after_build = torch.cuda.memory_allocated()
        for _ in range(MEMORY_STEPS - 1):
            step()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    else:
        after_build = _current_rss()
        for _ in range(MEMORY_STEPS):
            step()
        # KiB on Linux.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return dict(
        base_mib=base / MIB,
        after_build_mib=after_build / MIB,
        peak_mib=peak / MIB,
        increase_mib=(peak - after_build) / MIB)


def measure_memory(setting: Setting,
                   specs: Sequence[Dict[str, Any]]) -> List[Dict[str, float]]:
    """:func:`measure_memory_case` of every spec: in this process on CUDA
    (peaks are reset per case), on CPU each in a fresh process forked from a
    server that has only imported this package."""
    if setting.device == 'cuda':
        results = []
        for spec in specs:
            results.append(measure_memory_case(setting, spec))
            gc.collect()
        return results
    context = multiprocessing.get_context('forkserver')
    context.set_forkserver_preload([__package__])
    results = []
    for spec in specs:
        with context.Pool(1, maxtasksperchild=1) as pool:
            results.append(pool.apply(measure_memory_case, (setting, spec)))
    return results


def add_memory(results: Dict[str, Any], setting: Setting,
               mmrazor_channels: Optional[Tuple[int, int]],
               log: Callable[[str], None]) -> None:
    """Measure every case's peak and compare FEED's with its bound."""
    specs: List[Dict[str, Any]] = [
        dict(case='student'), dict(case='teacher_full'),
        dict(case='teacher_backbone')
    ]
    for run in results['runs']:
        specs.append(dict(case='feed', n=run['n']))
        specs += [
            dict(case='feed', n=run['n'], variant=variant)
            for variant, figures in run['options'].items()
            if 'skipped' not in figures
        ]
    if mmrazor_channels is not None:
        specs.append(dict(case='mmrazor_ft', channels=mmrazor_channels))
    log(f'measuring the peak memory of {len(specs)} cases')
    measured = measure_memory(setting, specs)
    by_case = {(s['case'], s.get('n'), s.get('variant', '')): m
               for s, m in zip(specs, measured)}

    results['student']['memory'] = by_case[('student', None, '')]
    results['teacher_memory'] = dict(
        full_forward=by_case[('teacher_full', None, '')],
        backbone_forward=by_case[('teacher_backbone', None, '')])
    # Every teacher has the preset's architecture: t0's activations stand
    # for the largest single teacher's.
    activations = results['teacher_memory']['backbone_forward'][
        'increase_mib']
    student = results['student']['memory']
    for run in results['runs']:
        n = run['n']
        terms = dict(
            base_mib=student['base_mib'],
            student_peak_mib=student['peak_mib'],
            teachers_weights_mib=sum(results['teachers'][t]['weights_mib']
                                     for t in run['teachers']),
            largest_teacher_activations_mib=activations,
            slack=MEMORY_SLACK)
        # The slack applies to what the models use, not to the memory the
        # process holds before building anything.
        bound = terms['base_mib'] + MEMORY_SLACK * (
            terms['student_peak_mib'] - terms['base_mib'] +
            terms['teachers_weights_mib'] + activations)
        run['memory'] = dict(
            bound_mib=bound,
            bound_terms=terms,
            feed=_bound_check(by_case[('feed', n, '')], bound),
            mmrazor_ft=by_case.get(('mmrazor_ft', None, ''))
            if n == 1 else None)
        for variant, figures in run['options'].items():
            if 'skipped' not in figures:
                figures['memory'] = _bound_check(
                    by_case[('feed', n, variant)], bound)


def _bound_check(memory: Optional[Dict[str, float]],
                 bound: Optional[float]) -> Optional[Dict[str, float]]:
    if memory is None:
        return None
    return dict(memory, bound_mib=bound,
                within_bound=None if bound is None else
                memory['peak_mib'] <= bound)
