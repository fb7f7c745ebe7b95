"""Run a zoo protocol: its teachers once, then every setting x seed
through the MMEngine runner, resumable, with a results JSON and a
Markdown table (mean +- std, per-seed values, paired differences against
the baselines with a t confidence interval)."""
import copy
import multiprocessing
import os
import os.path as osp
import time
from concurrent.futures import (FIRST_COMPLETED, Future, ProcessPoolExecutor,
                                wait)
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from mmengine.config import Config

from feed_mm.apis.cli import load_config
from feed_mm.apis.console import RunConsole, format_duration
from feed_mm.apis.training import (RESULT_FILE, evaluate_checkpoint,
                                   export_weights, last_checkpoint,
                                   read_json, read_result, set_max_epochs,
                                   train_and_evaluate, write_json)
from feed_mm.utils import FEEDConfigError, config_root
from .ensemble import ensemble_metrics
from .protocol import Protocol
from .report import (CURVES_FILE, N_CURVE_FILE, RESULTS_FILE, TABLE_FILE,
                     collect_results, format_report, plot_curves,
                     plot_n_curve)


@dataclass
class PlannedRun:
    """One training run of a protocol."""

    name: str
    setting: Optional[str]  # None for a teacher run
    seed: int               # the teacher's index for a teacher run
    config: str
    work_dir: str
    teacher_dirs: Sequence[str] = ()
    cfg_options: Optional[Dict[str, Any]] = None
    epochs: Optional[int] = None  # None: as the config says
    # A teacher's weights-only checkpoint: evaluated when it exists,
    # written after training when it does not.
    weights: Optional[str] = None

    def status(self) -> str:
        if read_result(self.work_dir) is not None:
            return 'done'
        if self.weights and osp.isfile(self.weights):
            return 'to evaluate'
        if last_checkpoint(self.work_dir) is not None:
            return 'interrupted'
        return 'to run'


def teacher_dir(work_dir: str, index: int) -> str:
    return osp.join(work_dir, 'teachers', f't{index}')


def run_dir(work_dir: str, setting: str, seed: int) -> str:
    return osp.join(work_dir, setting, f'seed{seed}')


def teacher_weights(protocol: Protocol, index: int) -> Optional[str]:
    """The weights-only checkpoint of the protocol's ``index``-th teacher,
    ``<teachers.weights>/<config name>.pth`` (None without a folder). A
    relative folder is found from the working directory, else in feed_mm's
    checkout (``configs/...``)."""
    if protocol.teacher_weights is None:
        return None
    name = osp.splitext(osp.basename(protocol.teacher_configs[index]))[0]
    path = osp.join(protocol.teacher_weights, f'{name}.pth')
    if not osp.isabs(path) and not osp.isfile(path):
        packaged = osp.join(osp.dirname(config_root()),
                            *osp.normpath(path).split(os.sep))
        if osp.isfile(packaged):
            return packaged
    return path


def plan_runs(protocol: Protocol, work_dir: str,
              seeds: Optional[int] = None,
              only: Optional[Sequence[str]] = None) -> List[PlannedRun]:
    """Every run of ``protocol`` in the order they are trained: seed by
    seed every setting (so that an interrupted protocol has its seeds
    complete across settings), each teacher just before the first run that
    learns from it, the teachers no setting learns from last.

    Args:
        protocol (Protocol): The protocol.
        work_dir (str): Root of the protocol's work dirs.
        seeds (int, optional): Overrides ``protocol.seeds``.
        only (Sequence[str], optional): Run only these settings (and what
            they depend on).
    """
    names = [s.name for s in protocol.settings]
    wanted = set(only or names)
    unknown = sorted(wanted - set(names))
    if unknown:
        raise FEEDConfigError('--only', f'{unknown[0]!r} is not a setting of '
                              f'{protocol.name} ({", ".join(names)})')
    # A setting's teacher runs come along with it.
    for setting in reversed(protocol.settings):
        if setting.name in wanted:
            wanted.update(ref.partition(':')[2] for ref in setting.teachers
                          if ref.startswith('run:'))
    teacher_runs = [
        PlannedRun(
            name=f'teacher_t{index}', setting=None, seed=index,
            config=config, work_dir=teacher_dir(work_dir, index),
            cfg_options={**protocol.cfg_options,
                         **protocol.teacher_cfg_options},
            epochs=protocol.teacher_epochs,
            weights=teacher_weights(protocol, index))
        for index, config in enumerate(protocol.teacher_configs)
    ]
    runs: List[PlannedRun] = []
    for seed in range(protocol.seeds if seeds is None else seeds):
        for setting in protocol.settings:
            if setting.name not in wanted or (
                    setting.seeds is not None and seed >= setting.seeds):
                continue
            teacher_dirs = []
            for kind, _, target in (ref.partition(':')
                                    for ref in setting.teachers):
                if kind == 'run':
                    teacher_dirs.append(run_dir(work_dir, target, seed))
                    continue
                teacher = teacher_runs[int(target)]
                if teacher not in runs:
                    runs.append(teacher)
                teacher_dirs.append(teacher.weights or teacher.work_dir)
            runs.append(
                PlannedRun(
                    name=f'{setting.name}_seed{seed}',
                    setting=setting.name,
                    seed=seed,
                    config=setting.config,
                    work_dir=run_dir(work_dir, setting.name, seed),
                    teacher_dirs=teacher_dirs,
                    cfg_options={
                        **protocol.cfg_options,
                        **protocol.student_cfg_options,
                        **setting.cfg_options,
                        'randomness.seed':
                        protocol.seed_base + seed + setting.seed_offset,
                    },
                    epochs=protocol.student_epochs))
    if only is None:
        # Teachers no setting learns from are reference rows of the report
        # (e.g. a pruned model before fine-tuning): they run last.
        runs += [teacher for teacher in teacher_runs if teacher not in runs]
    return runs


def build_run_config(run: PlannedRun, extra_options: Dict[str, Any]
                     ) -> Config:
    """The config of one planned run: its file with the protocol's and the
    command line's options, and its teachers' work dirs as the FEED
    teachers' checkpoints."""
    cfg = load_config(run.config, run.work_dir,
                      {**(run.cfg_options or {}), **extra_options}, 'none')
    if run.epochs is not None:
        set_max_epochs(cfg, run.epochs)
    if not run.teacher_dirs:
        return cfg
    model = cfg.get('model', {})
    teachers = model.get('teachers') if model.get(
        'type') == 'FEEDDistill' else None
    if not teachers:
        raise FEEDConfigError(
            f'protocol setting {run.setting!r}',
            f'names teachers, but {run.config} is not a FEEDDistill config '
            'with teachers')
    if len(teachers) != len(run.teacher_dirs):
        raise FEEDConfigError(
            f'protocol setting {run.setting!r}',
            f'names {len(run.teacher_dirs)} teacher(s), but {run.config} '
            f'has {len(teachers)} ({", ".join(teachers)})')
    for name, directory in zip(teachers, run.teacher_dirs):
        teachers[name].ckpt = directory
    # The teachers are reported from their own runs; evaluating them again
    # in every student run would only cost time.
    for loop in ('val_cfg', 'test_cfg'):
        if cfg.get(loop, {}).get('type') in ('FEEDValLoop', 'FEEDTestLoop'):
            cfg[loop].evaluate_teachers = False
    return cfg


def format_listing(runs: Sequence[PlannedRun]) -> str:
    """A Markdown table of the planned runs and their status."""
    lines = ['| # | run | config | teachers | work dir | status |',
             '|---|---|---|---|---|---|']
    for i, run in enumerate(runs, 1):
        teachers = ', '.join(run.teacher_dirs) or '—'
        lines.append(f'| {i} | {run.name} | {run.config} | {teachers} | '
                     f'{run.work_dir} | {run.status()} |')
    return '\n'.join(lines)


def run_protocol(protocol: Protocol,
                 work_dir: str,
                 console: Optional[RunConsole] = None,
                 seeds: Optional[int] = None,
                 only: Optional[Sequence[str]] = None,
                 cfg_options: Optional[Dict[str, Any]] = None,
                 jobs: int = 1,
                 threads: Optional[int] = None,
                 devices: Sequence[str] = (),
                 imported: Optional[str] = None) -> Dict[str, Any]:
    """Train every run of ``protocol`` that has no result yet and write
    ``WORK_DIR/zoo_results.{json,md}`` after each.

    A finished run (its ``run_result.json``) is never retrained; an
    interrupted one continues from its last checkpoint. With ``jobs > 1``
    that many runs train at once, each in a worker process with
    ``threads`` CPU threads and (given ``devices``) a GPU of its own; a run
    starts once the runs it learns from have finished. A run's numbers
    depend on its thread count, not on ``jobs``.

    Args:
        protocol (Protocol): The protocol.
        work_dir (str): Root of its work dirs.
        console (RunConsole, optional): Progress and result lines.
        seeds (int, optional): Overrides ``protocol.seeds``.
        only (Sequence[str], optional): Run only these settings.
        cfg_options (dict, optional): Applied to every run's config last.
        jobs (int): Runs at once. Defaults to 1 (in this process).
        threads (int, optional): torch's CPU threads per run (None:
            torch's default with one job, the cores divided among the jobs
            with several).
        devices (Sequence[str]): CUDA devices to share among the workers,
            one each (``jobs`` at most ``len(devices)``). Defaults to none.
        imported (str, optional): A results file of this protocol (a
            committed ``zoo_results.json``): the student runs it holds are
            taken as finished, not trained again (:func:`import_results`).

    Returns:
        dict: The results (as written to ``zoo_results.json``).
    """
    console = console or RunConsole()
    runs = plan_runs(protocol, work_dir, seeds, only)
    os.makedirs(work_dir, exist_ok=True)
    if imported is not None:
        count = import_results(protocol, runs, imported)
        console.print(f'{count} finished run(s) taken from {imported}')
    start = time.perf_counter()
    cfg_options = dict(cfg_options or {})
    labels = {run.name: f'[{i:>{len(str(len(runs)))}}/{len(runs)}] '
              f'{run.name}' for i, run in enumerate(runs, 1)}

    def finished(run: PlannedRun, result: Dict[str, Any]) -> None:
        console.print(f'{labels[run.name]}: {_scores(result)}' + (
            f' (committed weights {run.weights})'
            if result.get('evaluated_only') else
            f' ({format_duration(result["wall_s"])})'))
        if run.setting is None:
            _ensembles(protocol, runs, work_dir, cfg_options, console)
        _write_results(protocol, runs, work_dir, cfg_options)

    todo = []
    for run in runs:
        result = read_result(run.work_dir)
        if result is None:
            todo.append(run)
            continue
        console.print(f'{labels[run.name]}: done earlier, {_scores(result)}')
        if run.weights and not osp.isfile(run.weights):
            export_weights(result, run.weights)  # killed before export
    if jobs == 1:
        if threads is not None:
            torch.set_num_threads(threads)
        for run in todo:
            finished(run, execute_run(protocol, run, cfg_options, console))
    else:
        _run_parallel(protocol, todo, cfg_options, console, finished, jobs,
                      threads, devices)
    results = _write_results(protocol, runs, work_dir, cfg_options)
    console.print(f'\n{format_report(results)}\n')
    console.print(f'Total wall time: '
                  f'{format_duration(time.perf_counter() - start)}')
    plot_curves(results, osp.join(work_dir, CURVES_FILE))
    if protocol.n_curve:
        plot_n_curve(results, protocol.n_curve,
                     osp.join(work_dir, N_CURVE_FILE))
    console.print(f'Wrote {osp.join(work_dir, RESULTS_FILE)}, '
                  f'{osp.join(work_dir, TABLE_FILE)} and '
                  f'{osp.join(work_dir, CURVES_FILE)}; logs and checkpoints '
                  f'in {work_dir}/<setting>/seed<N>/')
    return results


def import_results(protocol: Protocol, runs: Sequence[PlannedRun],
                   path: str) -> int:
    """Write the result of every student run that ``path`` (a results
    file of ``protocol``, as :func:`run_protocol` writes it) holds and its
    work dir lacks, so that a protocol run over several sessions or
    machines goes on from its committed results: the seed's scores, wall
    time, teacher fingerprints and per-epoch loss terms, no checkpoint. A
    setting's entry counts only when its config and label are the
    protocol's; a run that another setting learns from (``run:``) is not
    imported, as its checkpoint is needed.

    Returns:
        int: The number of runs imported.
    """
    document = read_json(path)
    if document is None or document.get('protocol') != protocol.name:
        raise FEEDConfigError(
            '--import-results', f'{path} is not a results file of the '
            f'protocol {protocol.name!r}')
    entries = {(entry['name'], entry['config'], entry['label']): entry
               for entry in document['settings']}
    settings = {setting.name: setting for setting in protocol.settings}
    learnt_from = {ref.partition(':')[2] for setting in protocol.settings
                   for ref in setting.teachers if ref.startswith('run:')}
    count = 0
    for run in runs:
        if run.setting is None or run.setting in learnt_from or \
                read_result(run.work_dir) is not None:
            continue
        setting = settings[run.setting]
        entry = entries.get((setting.name, setting.config, setting.label))
        seeds = {s['seed']: s for s in (entry or {}).get('seeds', [])}
        if run.seed not in seeds:
            continue
        seed = seeds[run.seed]
        os.makedirs(run.work_dir, exist_ok=True)
        write_json(osp.join(run.work_dir, RESULT_FILE), dict(
            name=run.name, setting=run.setting, seed=run.seed,
            config=run.config, metric=protocol.metric, val=seed['val'],
            test=seed['test'], wall_s=seed['wall_s'], work_dir=run.work_dir,
            checkpoint=None,
            teacher_fingerprints=seed.get('teacher_fingerprints'),
            epoch_stats=seed.get('epoch_stats'), imported_from=path))
        count += 1
    return count


def execute_run(protocol: Protocol, run: PlannedRun,
                cfg_options: Dict[str, Any],
                console: RunConsole) -> Dict[str, Any]:
    """Train (or, for committed teacher weights, evaluate) one run and
    return its result."""
    cfg = build_run_config(run, cfg_options)
    if run.weights and osp.isfile(run.weights):
        return evaluate_checkpoint(
            cfg, run.weights, run.name, console, metric=protocol.metric,
            extra=dict(setting=None, seed=run.seed, config=run.config))
    result = train_and_evaluate(
        cfg, run.name, console, metric=protocol.metric,
        extra=dict(setting=run.setting, seed=run.seed, config=run.config,
                   teacher_dirs=list(run.teacher_dirs)))
    if run.weights:
        export_weights(result, run.weights)
        console.print(f'{run.name}: weights written to {run.weights}')
    return result


def dependencies(run: PlannedRun, runs: Sequence[PlannedRun]) -> List[str]:
    """The runs whose work dirs ``run`` reads its teachers from."""
    by_dir = {other.work_dir: other.name for other in runs}
    return [by_dir[directory] for directory in run.teacher_dirs
            if directory in by_dir]


def _run_parallel(protocol: Protocol, todo: Sequence[PlannedRun],
                  cfg_options: Dict[str, Any], console: RunConsole,
                  finished: Callable[[PlannedRun, Dict[str, Any]], None],
                  jobs: int, threads: Optional[int],
                  devices: Sequence[str]) -> None:
    """Train ``todo`` in ``jobs`` worker processes, each run once the runs
    it depends on have finished; ``finished`` is called here as each ends.
    A failed run lets the running ones finish, then raises."""
    if devices and jobs > len(devices):
        raise FEEDConfigError('--jobs', f'{jobs} jobs but {len(devices)} '
                              'GPU(s): one job per GPU')
    if threads is None:
        threads = max(1, len(os.sched_getaffinity(0)) // jobs)
    context = multiprocessing.get_context('spawn')
    device_queue = context.Queue()
    for device in devices:
        device_queue.put(device)
    waiting = list(todo)
    running: Dict[Future, PlannedRun] = {}
    done = set()
    error: Optional[BaseException] = None
    with ProcessPoolExecutor(jobs, mp_context=context,
                             initializer=_init_worker,
                             initargs=(threads, device_queue,
                                       bool(devices))) as pool:
        while waiting or running:
            for run in list(waiting):
                if error is not None or len(running) == jobs:
                    break
                if all(name in done
                       for name in dependencies(run, todo)):
                    waiting.remove(run)
                    running[pool.submit(_execute_in_worker, protocol, run,
                                        cfg_options, console.verbose)] = run
            if not running:
                break  # waiting on a run that failed
            ended, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in ended:
                run = running.pop(future)
                if future.exception() is not None:
                    console.print(f'{run.name} failed: '
                                  f'{future.exception()}')
                    error = error or future.exception()
                    continue
                done.add(run.name)
                finished(run, future.result())
    if error is not None:
        raise error


def _execute_in_worker(protocol: Protocol, run: PlannedRun,
                       cfg_options: Dict[str, Any],
                       verbose: bool) -> Dict[str, Any]:
    return execute_run(protocol, run, cfg_options, RunConsole(verbose))


def _init_worker(threads: int, device_queue: Any, use_devices: bool) -> None:
    """A worker's threads and GPU, before it builds anything."""
    if use_devices:
        os.environ['CUDA_VISIBLE_DEVICES'] = device_queue.get()
    torch.set_num_threads(threads)


def _scores(result: Dict[str, Any]) -> str:
    parts = [f'{split} {result[split]:.2f}' for split in ('test', 'val')
             if result.get(split) is not None]
    return ', '.join(parts) or 'no metric'


def ensemble_file(work_dir: str, group: int) -> str:
    return osp.join(work_dir, 'teachers', f'ensemble_g{group}.json')


def _ensembles(protocol: Protocol, runs: Sequence[PlannedRun],
               work_dir: str, cfg_options: Optional[Dict[str, Any]],
               console: RunConsole) -> None:
    """The ensemble (averaged logits) of each teacher group whose teachers
    have all finished, on the validation and test splits, computed once
    per set of teacher checkpoints."""
    teachers = {run.seed: run for run in runs if run.setting is None}
    for group_index, (group, indices) in enumerate(
            zip(protocol.teacher_groups, protocol.teacher_indices)):
        results = [read_result(teachers[i].work_dir) if i in teachers
                   else None for i in indices]
        if len(results) < 2 or None in results:
            continue
        path = ensemble_file(work_dir, group_index)
        checkpoints = [result['checkpoint'] for result in results]
        cached = read_json(path)
        if cached is not None and cached.get('checkpoints') == checkpoints:
            continue
        cfg = build_run_config(teachers[indices[0]],
                               dict(cfg_options or {}))
        with console.run(f'teachers_ensemble_g{group_index}'):
            metrics = ensemble_metrics(cfg, checkpoints)
        result = dict(checkpoints=checkpoints,
                      **{split: m.get(protocol.metric)
                         for split, m in metrics.items()},
                      metrics=metrics)
        write_json(path, result)
        console.print(f'{group.label}: ensemble (averaged logits) '
                      f'{_scores(result)}')


def _write_results(protocol: Protocol, runs: Sequence[PlannedRun],
                   work_dir: str,
                   cfg_options: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    ensembles = [read_json(ensemble_file(work_dir, i))
                 for i in range(len(protocol.teacher_groups))]
    results = collect_results(
        protocol, [(run, read_result(run.work_dir)) for run in runs],
        ensembles, dict(cfg_options or {}))
    write_json(osp.join(work_dir, RESULTS_FILE), results)
    with open(osp.join(work_dir, TABLE_FILE), 'w') as f:
        f.write(format_report(results) + '\n')
    return copy.deepcopy(results)
