"""The benchmark run: every case timed, then measured for memory, as one
dict of figures (the schema is in ``docs/benchmark.md``)."""
import datetime
import gc
import os
import os.path as osp
import platform
from functools import partial
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import torch

import feed_mm
from .cases import (build_case, build_teacher, feature_shapes, make_batch,
                    quiet_logs, teacher_forwards, teacher_phase,
                    translators_step, weight_bytes)
from .memory import MIB, add_memory
from .report import summarize_targets
from .setting import (DEFAULT_OPTIONS, Setting, check_arguments,
                      parse_variant)
from .timing import compiled_frames, time_interleaved, time_ms, time_once_ms


def run_benchmark(setting: Setting,
                  teacher_counts: Sequence[int] = (1, 2, 3, 4),
                  variants: Optional[Sequence[str]] = None,
                  warmup: int = 3,
                  repeats: int = 10,
                  memory: bool = True,
                  in_turns: bool = False,
                  command: Optional[str] = None,
                  log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Run the benchmark; returns the figures (see ``docs/benchmark.md``
    for the schema).

    Args:
        setting (Setting): Preset, batch size, device, threads.
        teacher_counts (Sequence[int]): The values of N.
        variants (Sequence[str], optional): FEED option variants, e.g.
            ``'bf16'`` or ``'compiled+fast'`` (see :data:`OPTION_ARGS`).
            Defaults to :data:`DEFAULT_OPTIONS` of the device.
        warmup (int): Untimed calls before each timing.
        repeats (int): Timed calls; their median is reported.
        memory (bool): Measure peak memory.
        in_turns (bool): Time each variant's step in turns with the plain
            FEED step of the same N (plain, variant, plain, ...), so that a
            drift of a shared machine weighs on both alike; its speedup is
            then against that plain time.
        command (str, optional): The command line, kept in the results.
        log (Callable): Progress messages.

    Returns:
        dict: ``meta``, ``units``, ``student``, ``teachers``,
        ``teacher_memory``, ``runs`` (one per N) and ``targets``.
    """
    check_arguments(teacher_counts, variants, warmup, repeats,
                    setting.batch_size, setting.threads)
    counts = sorted(set(teacher_counts))
    variants = list(dict.fromkeys(
        DEFAULT_OPTIONS[setting.device] if variants is None else variants))
    quiet_logs()
    if setting.threads:
        torch.set_num_threads(setting.threads)
    device = setting.device
    date = datetime.datetime.now().astimezone().isoformat(timespec='seconds')
    timer = partial(time_ms, device=device, warmup=warmup, repeats=repeats)
    batch = make_batch(setting)
    torch.manual_seed(0)

    def timed(label: str, fn: Callable[[], Any]) -> float:
        value = timer(fn)
        log(f'{label}: {value:.2f} ms')
        return value

    # Student alone.
    student, step = build_case(setting, dict(case='student'), batch)
    results: Dict[str, Any] = dict(student=dict(step_ms=timed(
        'student step', step)))
    del student, step

    # Each teacher alone, whole and stopped after the recorded module.
    teachers: Dict[str, Dict[str, float]] = {}
    for index in range(counts[-1]):
        name = f't{index}'
        teacher = build_teacher(setting)
        forwards = teacher_forwards(setting, teacher, batch)
        full_ms = timed(f'teacher {name} full forward',
                        forwards['teacher_full'])
        backbone_ms = timed(f'teacher {name} backbone forward',
                            forwards['teacher_backbone'])
        teachers[name] = dict(
            full_forward_ms=full_ms,
            backbone_forward_ms=backbone_ms,
            early_stop_saving_ms=full_ms - backbone_ms,
            early_stop_saving_ratio=_ratio(full_ms - backbone_ms, full_ms),
            weights_mib=weight_bytes(teacher) / MIB)
        del teacher, forwards
    results['teachers'] = teachers

    runs = []
    mmrazor_channels: Optional[Tuple[int, int]] = None
    for n in counts:
        names = [f't{i}' for i in range(n)]
        run: Dict[str, Any] = dict(n=n, teachers=names, memory=None)
        run['floor_full_ms'] = results['student']['step_ms'] + sum(
            teachers[t]['full_forward_ms'] for t in names)
        run['floor_backbone_ms'] = results['student']['step_ms'] + sum(
            teachers[t]['backbone_forward_ms'] for t in names)

        algo, step = build_case(setting, dict(case='feed', n=n), batch)
        run['first_step_ms'] = time_once_ms(step, device)
        student_shape, teacher_shapes = feature_shapes(algo, batch)
        run['mmrazor_ft_step_ms'] = run['feed_over_mmrazor_ft'] = None
        if n == 1:
            # Head to head, in turns: a difference of a few percent is the
            # figure of interest.
            mmrazor_channels = (student_shape[1], teacher_shapes['t0'][1])
            razor, razor_step = build_case(
                setting, dict(case='mmrazor_ft', channels=mmrazor_channels),
                batch)
            times = time_interleaved(
                dict(feed=step, mmrazor=razor_step), device, warmup, repeats)
            run['feed_step_ms'] = times['feed']
            run['mmrazor_ft_step_ms'] = times['mmrazor']
            run['feed_over_mmrazor_ft'] = _ratio(times['feed'],
                                                 times['mmrazor'])
            log(f"N=1 FEED step: {times['feed']:.2f} ms, MMRazor FT step: "
                f"{times['mmrazor']:.2f} ms (in turns)")
            del razor, razor_step
        else:
            run['feed_step_ms'] = timed(f'N={n} FEED step', step)
        run['feed_over_floor_full'] = _ratio(run['feed_step_ms'],
                                             run['floor_full_ms'])
        run['feed_over_floor_backbone'] = _ratio(run['feed_step_ms'],
                                                 run['floor_backbone_ms'])
        run['teacher_phase_ms'] = timed(f'N={n} teacher phase',
                                        teacher_phase(algo, batch))
        run['translators_ms'] = timed(
            f'N={n} translators fwd+bwd', translators_step(algo,
                                                           student_shape))
        run['translators_share'] = _ratio(run['translators_ms'],
                                          run['feed_step_ms'])
        # The translators are FEED's own training work, which the floor
        # leaves out: without them, what remains above the floor is the
        # framework's overhead (recorders, losses, bookkeeping).
        run['feed_minus_translators_over_floor_full'] = _ratio(
            run['feed_step_ms'] - run['translators_ms'], run['floor_full_ms'])
        plain_step = step if in_turns else None
        del algo, step

        options: Dict[str, Dict[str, Any]] = {}
        for variant in variants:
            if 'compile' in parse_variant(variant):
                # Graphs of an earlier variant would be reused: each
                # compiled variant's first step pays its whole warm-up.
                torch._dynamo.reset()
            algo, step = build_case(
                setting, dict(case='feed', n=n, variant=variant), batch)
            frames = compiled_frames()
            first_ms = time_once_ms(step, device)
            log(f'N={n} [{variant}] first step: {first_ms:.2f} ms')
            warm_frames = compiled_frames()
            phase_ms = timed(f'N={n} [{variant}] teacher phase',
                             teacher_phase(algo, batch))
            if plain_step is None:
                step_ms = timed(f'N={n} [{variant}] FEED step', step)
                plain_ms = run['feed_step_ms']
            else:
                times = time_interleaved(dict(plain=plain_step, variant=step),
                                         device, warmup, repeats)
                step_ms, plain_ms = times['variant'], times['plain']
                log(f'N={n} [{variant}] FEED step: {step_ms:.2f} ms, plain: '
                    f'{plain_ms:.2f} ms (in turns)')
            options[variant] = dict(
                first_step_ms=first_ms,
                compiles_in_first_step=warm_frames - frames,
                compiles_after_first_step=compiled_frames() - warm_frames,
                teacher_phase_ms=phase_ms,
                teacher_phase_speedup=_ratio(run['teacher_phase_ms'],
                                             phase_ms),
                feed_step_ms=step_ms,
                plain_step_ms=plain_ms,
                feed_step_speedup=_ratio(plain_ms, step_ms),
                feed_over_floor_full=_ratio(step_ms, run['floor_full_ms']))
            del algo, step
        run['options'] = options
        del plain_step
        runs.append(run)
        gc.collect()
    results['runs'] = runs

    # The memory cases build their own batch.
    del batch
    results['teacher_memory'] = None
    results['student']['memory'] = None
    if memory:
        add_memory(results, setting, mmrazor_channels, log)
    results['targets'] = summarize_targets(results)
    meta = dict(
        date=date,
        command=command,
        preset=setting.preset,
        models=setting.model_files,
        device=device,
        batch_size=setting.batch_size,
        input_shape=list(setting.input_shape),
        teacher_counts=counts,
        options=variants,
        warmup=warmup,
        repeats=repeats,
        in_turns=in_turns,
        threads=setting.threads,
        memory_method=None if not memory else
        ('cuda_max_memory_allocated' if device == 'cuda' else
         'peak_rss_of_a_fresh_process'),
        machine=machine_info(device))
    units = {
        '*_ms': 'milliseconds, median over the repeats',
        '*_mib': 'MiB (2**20 bytes)',
        '*_over_*, *_share, *_ratio, *_speedup, slack': 'dimensionless',
    }
    return dict(meta=meta, units=units, **results)


def _ratio(numerator: Optional[float],
           denominator: Optional[float]) -> Optional[float]:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def machine_info(device: str) -> Dict[str, Any]:
    """CPU model, cores, library versions and the GPU's name."""
    import mmengine
    import mmpretrain
    import mmrazor
    cpu_model = platform.processor() or platform.machine()
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu_model = line.split(':', 1)[1].strip()
                    break
    info = dict(
        cpu_model=cpu_model,
        cpu_cores=os.cpu_count(),
        cpu_cores_available=len(os.sched_getaffinity(0)) if hasattr(
            os, 'sched_getaffinity') else os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        platform=platform.platform(),
        python=platform.python_version(),
        torch=torch.__version__,
        mmengine=mmengine.__version__,
        mmpretrain=mmpretrain.__version__,
        mmrazor=mmrazor.__version__,
        feed_mm=feed_mm.__version__,
        device_name=(torch.cuda.get_device_name()
                     if device == 'cuda' else cpu_model),
        cuda=torch.version.cuda if device == 'cuda' else None)
    return info
