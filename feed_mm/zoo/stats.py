"""Statistics of the zoo's tables: mean +- std over seeds and paired
differences (same seed) with a t confidence interval."""
import math
import statistics
from typing import Dict, List, Optional, Sequence


def mean_std(values: Sequence[float]) -> Dict[str, Optional[float]]:
    """Mean and sample standard deviation (None for one value)."""
    values = list(values)
    return dict(
        n=len(values),
        mean=statistics.mean(values) if values else None,
        std=statistics.stdev(values) if len(values) > 1 else None)


def t_quantile(confidence: float, dof: int) -> float:
    """The two-sided ``confidence`` quantile of Student's t with ``dof``
    degrees of freedom."""
    from scipy.stats import t
    return float(t.ppf(0.5 + confidence / 2, dof))


def paired_difference(values: Dict[int, float], baseline: Dict[int, float],
                      confidence: float = 0.95) -> Optional[Dict]:
    """``values - baseline`` over the seeds both have: per-seed
    differences, their mean, and the t-interval of the mean at
    ``confidence`` (None with fewer than two common seeds: no interval).

    A difference is marked ``significant`` when the interval excludes 0.
    """
    seeds = sorted(set(values) & set(baseline))
    if not seeds:
        return None
    diffs = [values[s] - baseline[s] for s in seeds]
    result = dict(seeds=seeds, diffs=diffs, n=len(diffs),
                  mean=statistics.mean(diffs), low=None, high=None,
                  significant=None, confidence=confidence)
    if len(diffs) > 1:
        half = t_quantile(confidence, len(diffs) - 1) * statistics.stdev(
            diffs) / math.sqrt(len(diffs))
        result.update(low=result['mean'] - half, high=result['mean'] + half)
        result['significant'] = result['low'] > 0 or result['high'] < 0
    return result


def format_mean_std(values: List[float], digits: int = 2) -> str:
    summary = mean_std(values)
    if summary['mean'] is None:
        return '—'
    if summary['std'] is None:
        return f'{summary["mean"]:.{digits}f}'
    return f'{summary["mean"]:.{digits}f} ± {summary["std"]:.{digits}f}'


def format_difference(diff: Optional[Dict], digits: int = 2) -> str:
    if diff is None:
        return '—'
    text = f'{diff["mean"]:+.{digits}f}'
    if diff['low'] is not None:
        text += f' [{diff["low"]:+.{digits}f}, {diff["high"]:+.{digits}f}]'
    return text
