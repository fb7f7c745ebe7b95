"""The zoo's results: collected from the runs' result files into one
JSON document, and written as a Markdown table."""
import statistics
import textwrap
from typing import (Any, Dict, List, Mapping, Optional, Sequence, Tuple,
                    Union)

from feed_mm.apis.curves import find_scalar_logs, read_series
from .protocol import Protocol
from .stats import (format_difference, format_mean_std, mean_std,
                    paired_difference, t_quantile)

RESULTS_FILE = 'zoo_results.json'
TABLE_FILE = 'zoo_results.md'
CURVES_FILE = 'zoo_curves.png'
N_CURVE_FILE = 'zoo_n_curve.png'
SPLITS = ('test', 'val')


def _summary(values: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {
        split: mean_std([v[split] for v in values if v[split] is not None])
        for split in SPLITS
    }


def teacher_sha256(seeds: Sequence[Dict[str, Any]]) -> Dict[str, List[str]]:
    """The teacher checkpoints a setting's runs learnt from: ``teacher name
    -> its distinct sha256s`` over the seeds (one per teacher when the
    seeds share their teachers, one per seed when each seed has its own,
    as sFEED generations do). Runs recorded before teacher fingerprints
    existed, random teachers and URLs (not hashed) add nothing.

    Args:
        seeds (Sequence[dict]): The setting's per-seed entries.

    Returns:
        dict: ``name -> sorted sha256 hex digests``.
    """
    found: Dict[str, set] = {}
    for seed in seeds:
        for name, fingerprint in (seed.get('teacher_fingerprints')
                                  or {}).items():
            if fingerprint is not None and fingerprint['sha256']:
                found.setdefault(name, set()).add(fingerprint['sha256'])
    return {name: sorted(shas) for name, shas in found.items()}


def collect_results(protocol: Protocol,
                    runs: Sequence[Tuple[Any, Optional[Dict[str, Any]]]],
                    ensembles: Sequence[Optional[Dict[str, Any]]],
                    cfg_options: Dict[str, Any]) -> Dict[str, Any]:
    """The results document of a protocol from ``(planned run, result or
    None)`` pairs and each teacher group's ensemble (or None): per teacher
    group its runs and ensemble, per setting the per-seed values, mean +-
    std and the paired differences (test split) against each baseline, and
    per pool of settings their seed-by-seed mean (:func:`pool_results`). A
    run that recorded its teachers' fingerprints lists them
    (``teacher_fingerprints``); each setting sums them up as
    ``teacher_sha256`` (:func:`teacher_sha256`)."""
    teacher_results = {
        run.seed: dict(index=run.seed, config=run.config,
                       test=result['test'], val=result['val'],
                       wall_s=result['wall_s'],
                       checkpoint=result['checkpoint'])
        for run, result in runs if run.setting is None and result}
    groups = []
    for group, indices, ensemble in zip(protocol.teacher_groups,
                                        protocol.teacher_indices, ensembles):
        members = [teacher_results[i] for i in indices
                   if i in teacher_results]
        groups.append(dict(
            label=group.label, runs=members, **_summary(members),
            ensemble=None if ensemble is None else {
                split: ensemble.get(split) for split in SPLITS}))
    settings = []
    per_setting: Dict[str, Dict[int, float]] = {}
    for setting in protocol.settings:
        seeds = [
            dict(seed=run.seed, test=result['test'], val=result['val'],
                 wall_s=result['wall_s'], work_dir=run.work_dir,
                 teacher_fingerprints=result.get('teacher_fingerprints'),
                 epoch_stats=result.get('epoch_stats'))
            for run, result in runs if run.setting == setting.name and result
        ]
        if not seeds:
            continue
        per_setting[setting.name] = {
            s['seed']: s['test'] for s in seeds if s['test'] is not None}
        settings.append(
            dict(name=setting.name, label=setting.label,
                 config=setting.config, teachers=list(setting.teachers),
                 pool=setting.pool,
                 teacher_sha256=teacher_sha256(seeds), seeds=seeds,
                 **_summary(seeds)))
    for entry in settings:
        entry['differences'] = {}
        for baseline in protocol.baselines:
            against = same_teachers_baseline(protocol, entry['name'],
                                             baseline)
            if against in per_setting and against != entry['name']:
                difference = paired_difference(per_setting[entry['name']],
                                               per_setting[against])
                if against != baseline:
                    difference['against'] = against
                entry['differences'][baseline] = difference
    return dict(
        protocol=protocol.name,
        title=protocol.title,
        metric=protocol.metric,
        notes=protocol.notes,
        seeds_planned=protocol.seeds,
        baselines=list(protocol.baselines),
        cfg_options=cfg_options,
        teachers=groups,
        settings=settings,
        pools=pool_results(settings, per_setting, protocol.baselines),
        runs_finished=sum(1 for _, result in runs if result),
        runs_planned=len(runs),
        train_wall_s=sum(result['wall_s'] for _, result in runs if result),
    )


def same_teachers_baseline(protocol: Protocol, setting: str,
                           baseline: str) -> str:
    """The setting that stands for ``baseline`` in ``setting``'s
    differences: the member of the baseline's pool that learnt from the
    same teacher group as ``setting`` (so that a difference compares
    methods, not teacher draws), else the baseline itself.

    Args:
        protocol (Protocol): The protocol.
        setting (str): The setting whose differences are taken.
        baseline (str): One of ``protocol.baselines``.
    """
    group_of = {i: index
                for index, indices in enumerate(protocol.teacher_indices)
                for i in indices}

    def teacher_group(name: str) -> Optional[int]:
        refs = protocol.setting(name).teachers
        groups = {group_of.get(int(target)) if kind == 'teacher' else None
                  for kind, _, target in (r.partition(':') for r in refs)}
        return groups.pop() if len(groups) == 1 else None

    pool = protocol.setting(baseline).pool
    group = teacher_group(setting)
    if pool is None or group is None or group == teacher_group(baseline):
        return baseline
    return next((s.name for s in protocol.settings
                 if s.pool == pool and teacher_group(s.name) == group),
                baseline)


def pool_results(settings: Sequence[Dict[str, Any]],
                 per_setting: Dict[str, Dict[int, float]],
                 baselines: Sequence[str]) -> List[Dict[str, Any]]:
    """Each pool of two or more settings (one method over several teacher
    groups) as one value per seed, the mean over its settings, on the seeds
    all of them have; paired differences against each baseline's pool (a
    baseline without a pool stands alone)."""
    members: Dict[str, List[str]] = {}
    for entry in settings:
        if entry.get('pool'):
            members.setdefault(entry['pool'], []).append(entry['name'])
    pool_of = {name: pool for pool, names in members.items()
               for name in names}

    def pooled(names: Sequence[str]) -> Dict[int, float]:
        seeds = set.intersection(*(set(per_setting[n]) for n in names))
        return {seed: statistics.mean(per_setting[n][seed] for n in names)
                for seed in sorted(seeds)}

    pools = []
    for pool, names in members.items():
        if len(names) < 2:
            continue
        values = pooled(names)
        differences = {}
        for baseline in baselines:
            if baseline not in per_setting:
                continue
            other = members.get(pool_of.get(baseline), [baseline])
            if other != names:
                differences[baseline] = paired_difference(
                    values, pooled(other))
        pools.append(dict(name=pool, settings=names,
                          seeds=sorted(values), values=list(values.values()),
                          test=mean_std(list(values.values())),
                          differences=differences))
    return pools


def teacher_groups(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The teacher groups of a results document; a document of one group
    written before groups existed has it as ``teachers`` and
    ``ensemble``."""
    teachers = results['teachers']
    if isinstance(teachers, list):
        return teachers
    return [dict(teachers, ensemble=results.get('ensemble'))]


def _pool_lines(results: Dict[str, Any], labels: Dict[str, str],
                baselines: Sequence[str]) -> List[str]:
    pools = results.get('pools') or []
    if not pools:
        return []
    header = ['pool (settings)', 'n', 'test, mean ± std of the per-seed '
              'means', 'per seed'] + [
                  f'Δ vs {labels[b]} (pooled alike) [95% CI]'
                  for b in baselines]
    lines = ['', 'Pooled over teacher groups: per seed, the mean over the '
             "pool's settings; Δ against the baseline pooled the same way.",
             '', '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for pool in pools:
        diffs = pool['differences']
        lines.append('| ' + ' | '.join(
            [f'{pool["name"]} ({", ".join(pool["settings"])})',
             str(len(pool['values'])), format_mean_std(pool['values']),
             ', '.join(f'{v:.2f}' for v in pool['values'])] + [
                 format_difference(diffs.get(b)) +
                 (' *' if (diffs.get(b) or {}).get('significant') else '')
                 for b in baselines]) + ' |')
    return lines


def plot_n_curve(results: Dict[str, Any],
                 curves: Union[Sequence[Optional[str]],
                               Mapping[str, Sequence[Optional[str]]]],
                 out_file: str) -> None:
    """The test metric against the number of teachers N = 0, 1, ...: per
    curve (``label -> setting names`` in the order of N, None where it has
    none; or one list), each seed as a dot, the mean with its 95 %
    t-interval."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    if not isinstance(curves, Mapping):
        curves = {'': curves}
    by_name = {entry['name']: entry for entry in results['settings']}
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ticks = set()
    for colour, (label, names) in enumerate(curves.items()):
        # Curves side by side at each N, so that their dots do not hide.
        shift = 0.08 * (colour - (len(curves) - 1) / 2)
        means, halves, ns = [], [], []
        for n, name in enumerate(names):
            entry = by_name.get(name)
            if entry is None:
                continue
            values = [s['test'] for s in entry['seeds']
                      if s['test'] is not None]
            ax.plot([n + shift] * len(values), values, '.',
                    color=f'C{colour}', alpha=0.4)
            summary = mean_std(values)
            half = 0.0 if summary['std'] is None else t_quantile(
                0.95, len(values) - 1) * summary['std'] / len(values)**0.5
            ns.append(n)
            means.append(summary['mean'])
            halves.append(half)
        ticks.update(ns)
        ax.errorbar([n + shift for n in ns], means, yerr=halves,
                    color=f'C{colour}', marker='o', capsize=4,
                    label=f'{label}: mean, 95 % t-interval' if label else
                    'mean, 95 % t-interval')
    ax.set(xlabel='number of teachers N (0: the student alone)',
           ylabel=f'test {results["metric"]}', xticks=sorted(ticks))
    # A protocol's title is a sentence: wrapped so that it fits the figure.
    ax.set_title(textwrap.fill(results['title'], 70), fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def _per_seed(values: Sequence[Dict[str, Any]], key: str) -> str:
    return ', '.join(f'{v["test"]:.2f}' for v in sorted(
        values, key=lambda v: v[key]) if v['test'] is not None)


def _difference_cell(difference: Optional[Dict[str, Any]],
                     labels: Dict[str, str]) -> str:
    cell = format_difference(difference)
    if (difference or {}).get('significant'):
        cell += ' *'
    if (difference or {}).get('against'):
        cell += f' (vs {labels[difference["against"]]})'
    return cell


def format_report(results: Dict[str, Any]) -> str:
    """A Markdown table of a results document (test split; the validation
    split beside it, for choosing recipe values)."""
    metric = results['metric']
    labels = {s['name']: s['label'] for s in results['settings']}
    baselines = [b for b in results['baselines'] if b in labels]
    header = ['run', 'n', f'test {metric}, mean ± std', 'per seed (test)',
              f'val {metric}'] + [
                  f'test Δ vs {labels[b]} [95% CI]' for b in baselines]
    lines = [
        f'{results["title"]}: {results["runs_finished"]} of '
        f'{results["runs_planned"]} runs finished.', '',
        '| ' + ' | '.join(header) + ' |',
        '|' + '---|' * len(header)
    ]
    for group in teacher_groups(results):
        if group['runs']:
            lines.append('| ' + ' | '.join(
                [group['label'] + (', each' if len(group['runs']) > 1
                                   else ''), str(len(group['runs'])),
                 format_mean_std([t['test'] for t in group['runs']]),
                 _per_seed(group['runs'], 'index'),
                 format_mean_std([t['val'] for t in group['runs']])] +
                ['—'] * len(baselines)) + ' |')
        ensemble = group.get('ensemble')
        if ensemble:
            lines.append('| ' + ' | '.join(
                [f'{group["label"]}: ensemble (averaged logits)', '—',
                 f'{ensemble["test"]:.2f}', '—', f'{ensemble["val"]:.2f}'] +
                ['—'] * len(baselines)) + ' |')
    for entry in results['settings']:
        diffs = entry['differences']
        lines.append('| ' + ' | '.join(
            [entry['label'], str(len(entry['seeds'])),
             format_mean_std([s['test'] for s in entry['seeds']]),
             _per_seed(entry['seeds'], 'seed'),
             format_mean_std([s['val'] for s in entry['seeds']])] + [
                 _difference_cell(diffs.get(b), labels) for b in baselines
             ]) + ' |')
    lines += [
        '', 'Δ: paired difference (same seed) of the test metric, mean over '
        'seeds with its 95 % t-interval; * marks an interval that excludes '
        '0; (vs ...): a row from other teachers than the baseline\'s is '
        'compared with the baseline method on the row\'s own teachers. '
        'Per-seed values are in seed order.'
    ]
    lines += _pool_lines(results, labels, baselines)
    lines += loss_lines(results)
    recorded = [(entry['label'], entry.get('teacher_sha256'))
                for entry in results['settings']
                if entry.get('teacher_sha256')]
    if recorded:
        lines += ['', 'Teacher checkpoints (sha256, first 12 digits): ' +
                  '; '.join(
                      f'{label}: ' + ', '.join(
                          f'{name} {"/".join(s[:12] for s in shas)}'
                          for name, shas in teachers.items())
                      for label, teachers in recorded) + '.']
    if results.get('notes'):
        lines += ['', results['notes']]
    return '\n'.join(lines)


def loss_lines(results: Dict[str, Any]) -> List[str]:
    """What the losses do: per setting whose runs kept their loss terms
    (LossStatsHook), the first and last epoch's means over the seeds of the
    task loss, the sum of the distillation terms, and the norms of their
    gradients at the student's FEED map."""
    rows = []
    for entry in results['settings']:
        stats = [s['epoch_stats'] for s in entry['seeds']
                 if s.get('epoch_stats')]
        if not stats:
            continue
        cells = [entry['label'], str(len(stats))]
        for pick in (_task_loss, _distill_loss, _grad('student'),
                     _grad('distill')):
            ends = [[pick(epochs[0]), pick(epochs[-1])] for epochs in stats]
            if any(None in pair for pair in ends):
                cells.append('—')
                continue
            first, last = (statistics.mean(end[i] for end in ends)
                           for i in (0, 1))
            cells.append(f'{first:.3g} → {last:.3g}')
        rows.append('| ' + ' | '.join(cells) + ' |')
    if not rows:
        return []
    return [
        '', 'What the losses do (mean over seeds, first → last epoch; '
        'gradient norms at the student\'s FEED map, per batch):', '',
        '| run | n | task loss | distillation terms (sum) | task gradient '
        'norm | distillation gradient norm |', '|---|---|---|---|---|---|'
    ] + rows


def _task_loss(epoch: Dict[str, float]) -> Optional[float]:
    # A FEED run logs its task loss as student.loss, a plain run as loss.
    return epoch.get('student.loss', epoch.get('loss'))


def _distill_loss(epoch: Dict[str, float]) -> Optional[float]:
    terms = [v for k, v in epoch.items()
             if k.startswith('distill.') and 'loss' in k]
    return sum(terms) if terms else None


def _grad(part: str):
    return lambda epoch: epoch.get(f'{part}.map_grad_norm')


def plot_curves(results: Dict[str, Any], out_file: str) -> None:
    """Every student run by epoch (one colour per setting), from the runs'
    MMEngine scalar logs, as a PNG: its task loss (mean of the logged
    iterations of each epoch) and its validation metric. Whether a schedule
    learns from its first epochs shows here, also for runs validated only
    at their end."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    metric = results['metric']
    fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    for colour, entry in enumerate(results['settings']):
        for i, seed in enumerate(entry['seeds']):
            try:
                losses, metrics = read_series(
                    find_scalar_logs(seed['work_dir']), loss_step='epoch')
            except FileNotFoundError:
                continue
            label = entry['label'] if i == 0 else None
            # FEED runs log the student's task loss apart from the
            # distillation terms; a plain run's task loss is its `loss`.
            task_loss = losses.get('student.loss') or losses.get('loss', [])
            for ax, points in ((loss_ax, _epoch_means(task_loss)),
                               (metric_ax, metrics.get(metric, []))):
                if points:
                    epochs, values = zip(*points)
                    ax.plot(epochs, values, marker='.', color=f'C{colour}',
                            alpha=0.8, label=label)
    loss_ax.set(xlabel='epoch', ylabel='student task loss (train)')
    metric_ax.set(xlabel='epoch', ylabel=f'val {metric}')
    fig.suptitle(results['title'], fontsize=9)
    metric_ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def _epoch_means(points: List[Tuple[int, float]]) -> List[Tuple[int, float]]:
    by_epoch: Dict[int, List[float]] = {}
    for epoch, value in points:
        by_epoch.setdefault(epoch, []).append(value)
    return [(e, sum(v) / len(v)) for e, v in sorted(by_epoch.items())]
