"""Median wall times of steps, the cases taking turns."""
import statistics
import time
from typing import Any, Callable, Dict, List

import torch


def synchronize(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def time_interleaved(fns: Dict[str, Callable[[], Any]], device: str,
                     warmup: int, repeats: int) -> Dict[str, float]:
    """Median wall time in milliseconds of each of ``fns``, after ``warmup``
    calls of each. The functions take turns, so that a drift of the machine
    (clocks, temperature, other load) weighs on all of them alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(v) * 1e3 for name, v in samples.items()}


def time_ms(fn: Callable[[], Any], device: str, warmup: int,
            repeats: int) -> float:
    """Median wall time of ``fn`` in milliseconds, after ``warmup`` calls."""
    return time_interleaved(dict(fn=fn), device, warmup, repeats)['fn']


def time_once_ms(fn: Callable[[], Any], device: str) -> float:
    """Wall time of one call of ``fn`` in milliseconds: a first step, with
    its lazy initialisation and, when compiled, its compilation."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return (time.perf_counter() - start) * 1e3


def compiled_frames() -> int:
    """Frames dynamo has compiled in this process so far (a recompilation
    is one more)."""
    from torch._dynamo.utils import counters
    return counters['frames']['total']
