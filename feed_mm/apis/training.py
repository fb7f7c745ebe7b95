"""One run through the MMEngine runner, as the multi-run tools (demo, zoo,
sequential FEED) need it: resumed when interrupted, evaluated on the
validation and test splits, its result written beside its checkpoints."""
import json
import os
import os.path as osp
import time
from typing import Any, Dict, Optional

import torch
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from feed_mm.engine.hooks import LossStatsHook
from feed_mm.engine.teacher_provenance import (check_resumed_teachers,
                                               teacher_fingerprints)
from feed_mm.utils import FEEDConfigError, safe_load
from .console import RunConsole

RESULT_FILE = 'run_result.json'


def read_json(path: str) -> Optional[Any]:
    """The content of a JSON file, or None when there is none."""
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def read_result(work_dir: str) -> Optional[Dict[str, Any]]:
    """The result a finished run wrote in ``work_dir``, or None."""
    return read_json(osp.join(work_dir, RESULT_FILE))


def write_json(path: str, content: Any) -> None:
    """Write JSON through a temporary file, so that a killed process
    leaves the previous file or the new one, never half of one."""
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(content, f, indent=2)
    os.replace(tmp, path)


def last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``work_dir/last_checkpoint`` names, or None."""
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return f.read().strip() or None


def set_max_epochs(cfg: Config, epochs: int) -> None:
    """Train ``cfg`` for ``epochs`` epochs, with its epoch-based
    schedulers stretched to match: a scheduler that ended at the old last
    epoch ends at the new one, milestones scale with the schedule, and the
    validation interval of a run validated only at its end follows."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise FEEDConfigError('train_cfg.max_epochs',
                              f'must be an int >= 1, got {epochs!r}')
    old = cfg.train_cfg.max_epochs
    cfg.train_cfg.max_epochs = epochs
    if cfg.train_cfg.get('val_interval', 1) == old:
        cfg.train_cfg.val_interval = epochs
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for scheduler in schedulers:
        if not scheduler.get('by_epoch', True):
            continue
        # A scheduler that ran to the last epoch still does; a warm-up
        # longer than the new run ends with it.
        end = scheduler.get('end')
        if end is not None:
            scheduler['end'] = epochs if end == old else min(end, epochs)
            scheduler['begin'] = min(scheduler.get('begin', 0),
                                     scheduler['end'] - 1)
        if 'milestones' in scheduler:
            scheduler['milestones'] = sorted({
                max(1, min(epochs - 1, round(m * epochs / old)))
                for m in scheduler['milestones']
            })


def _metric(metrics: Dict[str, float], metric: str, phase: str) -> float:
    if metric not in metrics:
        raise FEEDConfigError(
            'metric', f'{metric!r} is not among the {phase} metrics '
            f'({", ".join(metrics) or "none"})')
    return float(metrics[metric])


def train_and_evaluate(cfg: Config,
                       name: str,
                       console: Optional[RunConsole] = None,
                       metric: str = 'accuracy/top1',
                       test: bool = True,
                       extra: Optional[Dict[str, Any]] = None
                       ) -> Dict[str, Any]:
    """Train ``cfg`` in ``cfg.work_dir`` and evaluate it.

    A run whose work dir holds a checkpoint continues from it (MMEngine's
    resume: weights, optimizer, schedulers, random states); a finished run
    resumes to its last epoch and trains nothing. After training the final
    model is evaluated with the validation loop (the split recipe values are
    chosen on) and, with ``test``, the test loop (the split results are
    reported on). The result is written to ``WORK_DIR/run_result.json``,
    which marks the run as finished for :func:`read_result`.

    Args:
        cfg (Config): A full training config with ``work_dir``.
        name (str): The run's name (MMEngine's experiment name prefix, the
            console label).
        console (RunConsole, optional): Progress display; None prints
            MMEngine's log as ``tools/train.py`` does.
        metric (str): The metric of the result. Defaults to
            ``'accuracy/top1'``.
        test (bool): Also evaluate on the test split. Defaults to True.
        extra (dict, optional): Stored in the result as it is.

    Returns:
        dict: ``name``, ``val`` and ``test`` (``metric`` on each split),
        ``val_metrics`` / ``test_metrics`` (all), ``wall_s``, ``work_dir``,
        ``checkpoint``, ``epochs``, ``teacher_fingerprints`` (a FEED run's
        teachers, ``name -> dict(path, size, sha256)``; None for other
        models), ``epoch_stats`` (per epoch, the mean of each logged loss
        term and of the gradient norms at the student's FEED map:
        :class:`~feed_mm.engine.LossStatsHook`, added when the config has
        none) and ``extra``'s keys.
    """
    cfg = cfg.copy()
    cfg.experiment_name = name  # MMEngine appends the start time
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(hook.get('type') == 'LossStatsHook' for hook in hooks):
        cfg.custom_hooks = hooks + [dict(type='LossStatsHook')]
    console = console or RunConsole(verbose=True)
    checkpoint = last_checkpoint(cfg.work_dir)
    if checkpoint is not None:
        cfg.resume = True
        cfg.load_from = None
        console.print(f'{name}: resumes from {checkpoint}')
    check_resumed_teachers(cfg)
    start = time.perf_counter()
    with console.run(name) as hook:
        runner = Runner.from_cfg(cfg)
        if hook is not None:
            runner.register_hook(hook)
        runner.train()
        val_metrics = runner.val_loop.run() if runner.val_loop else {}
        test_metrics = (runner.test_loop.run()
                        if test and runner.test_loop is not None else {})
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    loss_stats = next(hook for hook in runner.hooks
                      if isinstance(hook, LossStatsHook))
    result = dict(
        name=name,
        val=_metric(val_metrics, metric, 'validation')
        if val_metrics else None,
        test=_metric(test_metrics, metric, 'test')
        if test_metrics else None,
        metric=metric,
        val_metrics={k: float(v) for k, v in val_metrics.items()},
        test_metrics={k: float(v) for k, v in test_metrics.items()},
        wall_s=time.perf_counter() - start,
        work_dir=cfg.work_dir,
        checkpoint=last_checkpoint(cfg.work_dir),
        epochs=cfg.train_cfg.get('max_epochs'),
        teacher_fingerprints=teacher_fingerprints(model.teacher_ckpts)
        if hasattr(model, 'teacher_ckpts') else None,
        epoch_stats=loss_stats.epochs,
        **(extra or {}))
    write_json(osp.join(cfg.work_dir, RESULT_FILE), result)
    return result


def evaluate_checkpoint(cfg: Config,
                        checkpoint: str,
                        name: str,
                        console: Optional[RunConsole] = None,
                        metric: str = 'accuracy/top1',
                        extra: Optional[Dict[str, Any]] = None
                        ) -> Dict[str, Any]:
    """Evaluate ``checkpoint`` with ``cfg``'s validation and test loops,
    without training, and write the result as :func:`train_and_evaluate`
    does (its ``wall_s`` is the training time the checkpoint records, as
    :func:`export_weights` writes it, else the evaluation's).
    """
    cfg = cfg.copy()
    cfg.experiment_name = name
    cfg.load_from = checkpoint
    cfg.resume = False
    console = console or RunConsole(verbose=True)
    start = time.perf_counter()
    with console.run(name) as hook:
        runner = Runner.from_cfg(cfg)
        if hook is not None:
            runner.register_hook(hook)
        val_metrics = runner.val()
        test_metrics = runner.test()
    meta = safe_load(checkpoint, map_location='cpu').get('meta') or {}
    result = dict(
        name=name,
        val=_metric(val_metrics, metric, 'validation'),
        test=_metric(test_metrics, metric, 'test'),
        metric=metric,
        val_metrics={k: float(v) for k, v in val_metrics.items()},
        test_metrics={k: float(v) for k, v in test_metrics.items()},
        wall_s=meta.get('train_wall_s', time.perf_counter() - start),
        evaluated_only=True,
        work_dir=cfg.work_dir,
        checkpoint=checkpoint,
        epochs=meta.get('epochs'),
        teacher_fingerprints=None,
        **(extra or {}))
    os.makedirs(cfg.work_dir, exist_ok=True)
    write_json(osp.join(cfg.work_dir, RESULT_FILE), result)
    return result


def export_weights(result: Dict[str, Any], path: str) -> None:
    """Write the weights of a finished run (``result['checkpoint']``) as a
    weights-only checkpoint at ``path``: the model's ``state_dict`` and a
    ``meta`` of its config, epochs, scores and training time, without
    optimizer, schedulers or message hub (a teacher's file small enough to
    commit). Written through a temporary file."""
    checkpoint = safe_load(result['checkpoint'], map_location='cpu')
    meta = dict(config=result.get('config'), epochs=result.get('epochs'),
                val=result.get('val'), test=result.get('test'),
                train_wall_s=result.get('wall_s'))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp'
    torch.save(dict(meta=meta, state_dict=checkpoint['state_dict']), tmp)
    os.replace(tmp, path)
