"""Training-step benchmark of FEED against its physical floor and against
MMRazor's single-teacher Factor Transfer (see ``docs/benchmark.md``); its
command is ``tools/analysis/benchmark.py``.

In one process, after warm-up, the median of repeated steps of: the plain
student's training step, each teacher's forward alone (eval, no grad; whole
and stopped after the recorded backbone), FEED's training step for N
teachers, its teacher phase and translators, MMRazor's
``SingleTeacherDistill`` + ``Translator`` + ``FTLoss`` for N = 1, and FEED's
teacher options (autocast, ``channels_last``, compilation). Peak memory:
CUDA's max allocated bytes in this process on a GPU; on CPU the peak RSS of
a fresh process per case (forked from a server that has only imported
feed_mm and this package, so no other case's allocations count).

Inputs are random tensors of the preset's shape with random labels: no data
set is read. Teachers keep their random initialisation, which costs the same
as trained weights.

Modules, in the order of a run:

- ``setting``: presets, FEED option variants, the argument checks and the
  :class:`Setting` every case is built from;
- ``cases``: what is measured (the models, the batch, one step of each
  case); a new row of the benchmark is a new case or option variant;
- ``timing``: median wall times, cases taking turns;
- ``memory``: peak memory per case and FEED's memory bound;
- ``runner``: :func:`run_benchmark`, the whole measurement as one dict;
- ``report``: whether the targets are met, and the Markdown tables.
"""
from .memory import MEMORY_SLACK, measure_memory, measure_memory_case
from .report import format_report, summarize_targets
from .runner import run_benchmark
from .setting import (DEFAULT_OPTIONS, OPTION_ARGS, PRESETS, Preset, Setting,
                      check_arguments, parse_variant)

__all__ = [
    'DEFAULT_OPTIONS', 'MEMORY_SLACK', 'OPTION_ARGS', 'PRESETS', 'Preset',
    'Setting', 'check_arguments', 'format_report', 'measure_memory',
    'measure_memory_case', 'parse_variant', 'run_benchmark',
    'summarize_targets'
]
