"""FEED's reconstruction-error diagnostic: how well each translated student
map reconstructs each teacher's map, phi(tau_n(F_s)) vs phi(F_t(n))."""
import statistics
from contextlib import contextmanager
from typing import (Any, Dict, Iterable, Iterator, List, Mapping,
                    Optional, Sequence, Tuple)

import torch

from feed_mm.models.losses import feature_factor


@torch.no_grad()
def reconstruction_errors(model,
                          dataloader: Iterable,
                          max_batches: Optional[int] = None
                          ) -> Dict[str, Dict[str, float]]:
    """Per-teacher mean reconstruction error over a data split.

    For each sample, ``L1 = ||phi(F_t) - phi(tau(F_s))||_1`` and
    ``L2 = ||phi(F_t) - phi(tau(F_s))||_2`` (phi: per-sample L2-normalised,
    flattened map); the result is their mean over all samples. The teachers
    run in full precision, whatever the model's ``teacher_autocast``.

    Args:
        model (FEEDDistill): A FEED model with trained translators.
        dataloader (Iterable): Batches as the model's data preprocessor
            takes them.
        max_batches (int, optional): Stop after this many batches.

    Returns:
        dict: ``teacher -> {'l1': ..., 'l2': ..., 'samples': n}``.
    """
    model.eval()
    sums: Dict[str, torch.Tensor] = {}
    count = 0
    for index, data_batch in enumerate(dataloader):
        if max_batches is not None and index >= max_batches:
            break
        inputs = model.data_preprocessor(data_batch, False)['inputs']
        with exact_teachers(model):
            pairs = feed_feature_pairs(model, inputs)
        for name, (translated, teacher) in pairs.items():
            diff = feature_factor(teacher) - feature_factor(translated)
            batch_sums = torch.stack(
                [diff.abs().sum(1).sum(),
                 diff.norm(dim=1).sum()]).cpu().double()
            sums[name] = sums.get(name, 0) + batch_sums
        count += inputs.shape[0]
    if count == 0:
        raise ValueError('reconstruction_errors: the data split is empty')
    return {
        name: dict(l1=float(s[0] / count), l2=float(s[1] / count),
                   samples=count)
        for name, s in sums.items()
    }


@torch.no_grad()
def feed_feature_pairs(model, inputs: torch.Tensor
                       ) -> Dict[str, Tuple[torch.Tensor, torch.Tensor]]:
    """For each teacher, the translated student map and the teacher's map
    brought to its size: what the FEED loss compares.

    Args:
        model (FEEDDistill): A FEED model.
        inputs (Tensor): A preprocessed batch.

    Returns:
        dict: ``name -> (translated_student, teacher_feature)``.
    """
    pairs = {}
    with recorded_feed_features(model, inputs) as distiller:
        for name, translated in distiller.translate(
                distiller.student_map()).items():
            teacher_feature = distiller.feed_losses[name].align(
                translated, distiller.teacher_map(name), name)
            pairs[name] = (translated, teacher_feature)
    return pairs


@contextmanager
def recorded_feed_features(model, inputs: torch.Tensor) -> Iterator[Any]:
    """Within the block, ``model``'s distiller holds the FEED maps of the
    student and of every teacher on ``inputs`` (no gradients); the records
    are cleared after it, also on an error, so the next step starts empty.

    Args:
        model (FEEDDistill): A FEED model.
        inputs (Tensor): A preprocessed batch.

    Yields:
        FEEDDistiller: ``model.distiller``, to read with ``student_map`` and
        ``teacher_map``.
    """
    distiller = model.distiller
    try:
        with torch.no_grad():
            model.run_teachers(inputs, None)
            with distiller.student_recorders:
                model.student(inputs, mode='tensor')
        yield distiller
    finally:
        distiller.clear_records()


@contextmanager
def exact_teachers(model) -> Iterator[None]:
    """Within the block ``model``'s teachers run in full precision, whatever
    its ``teacher_autocast`` says: measurements compare exact maps."""
    setting = model.teacher_autocast
    model.teacher_autocast = None
    try:
        yield
    finally:
        model.teacher_autocast = setting


def mean_over_seeds(per_seed: Sequence[Mapping[str, Mapping[str, float]]]
                    ) -> Dict[str, Dict[str, float]]:
    """The errors of several seeds of one setting: per teacher the mean
    and sample standard deviation of L1 and L2 (``l1_std``, ``l2_std``) and
    the number of seeds."""
    teachers = [t for t in per_seed[0]]
    merged = {}
    for teacher in teachers:
        entry = dict(samples=per_seed[0][teacher]['samples'],
                     seeds=len(per_seed))
        for metric in ('l1', 'l2'):
            values = [errors[teacher][metric] for errors in per_seed]
            entry[metric] = statistics.mean(values)
            entry[f'{metric}_std'] = (statistics.stdev(values)
                                      if len(values) > 1 else None)
        merged[teacher] = entry
    return merged


def _value(errors: Mapping[str, float], metric: str) -> str:
    std = errors.get(f'{metric}_std')
    return f'{errors[metric]:.4f}' + ('' if std is None else f' ± {std:.4f}')


def format_errors_table(results: Mapping[str, Mapping[str, Mapping[str,
                                                                   float]]]
                        ) -> str:
    """A Markdown table with one row per (run, teacher); mean ± std where
    the errors are over seeds (:func:`mean_over_seeds`)."""
    lines = ['| run | teacher | L1 | L2 | samples | seeds |',
             '|---|---|---|---|---|---|']
    for run, errors in results.items():
        for teacher, e in errors.items():
            lines.append(f'| {run} | {teacher} | {_value(e, "l1")} | '
                         f'{_value(e, "l2")} | {e["samples"]} | '
                         f'{e.get("seeds", 1)} |')
    return '\n'.join(lines)


def plot_errors(results: Mapping[str, Mapping[str, Mapping[str, float]]],
                out_file: str) -> None:
    """Grouped bar chart (one group per teacher, one bar per run), L1 and
    L2 side by side, saved as PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    runs: List[str] = list(results)
    teachers: List[str] = []
    for errors in results.values():
        teachers += [t for t in errors if t not in teachers]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.8 / max(len(runs), 1)
    for ax, metric in zip(axes, ('l1', 'l2')):
        for i, run in enumerate(runs):
            xs = [t + i * width for t in range(len(teachers))]
            ys = [results[run].get(t, {}).get(metric, float('nan'))
                  for t in teachers]
            stds = [results[run].get(t, {}).get(f'{metric}_std') or 0.0
                    for t in teachers]
            ax.bar(xs, ys, width=width, yerr=stds, capsize=3, label=run)
        ax.set_xticks([t + 0.4 - width / 2 for t in range(len(teachers))])
        ax.set_xticklabels(teachers)
        ax.set_title(f'reconstruction error ({metric.upper()})')
        ax.set_xlabel('teacher')
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
