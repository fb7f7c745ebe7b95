"""Method x data regime: the settings that several zoo protocols share, one
column per protocol (its training images per class), as a Markdown table
and a plot of test accuracy against the number of training images.

    python tools/analysis/regimes.py \\
        50=configs/feed/results/fmnist_hint.json \\
        500=configs/feed/results/fmnist_hint_500.json \\
        5500=configs/feed/results/fmnist_hint_full.json \\
        --against fitnets --out configs/feed/results/fmnist_hint_regimes

Each cell: the test mean ± std over the seeds (n), and the paired
difference (same seed) against the ``--against`` setting of the same
protocol with its 95 % interval. Writes OUT.md and OUT.png.
"""
import argparse
import json
from typing import Dict, List, Tuple

from feed_mm.apis.cli import run_cli
from feed_mm.zoo.stats import (format_difference, format_mean_std,
                               paired_difference)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('results', nargs='+', metavar='PER_CLASS=JSON',
                        help='a zoo results file and its training images '
                        'per class')
    parser.add_argument('--against', default=None,
                        help='the setting each row is compared with')
    parser.add_argument('--out', required=True,
                        help='output path without extension')
    return parser.parse_args()


def load(specs: List[str]) -> List[Tuple[int, Dict]]:
    regimes = []
    for spec in specs:
        per_class, _, path = spec.partition('=')
        with open(path) as f:
            regimes.append((int(per_class), json.load(f)))
    return sorted(regimes, key=lambda regime: regime[0])


def table(regimes: List[Tuple[int, Dict]], against: str) -> str:
    """One row per setting name found in every protocol."""
    settings = [{s['name']: s for s in results['settings']}
                for _, results in regimes]
    names = [name for name in settings[0] if all(name in s for s in settings)]
    lines = ['| method | ' + ' | '.join(
        f'{per_class} per class' for per_class, _ in regimes) + ' |',
        '|---|' + '---|' * len(regimes)]
    for name in names:
        cells = []
        for by_name in settings:
            seeds = by_name[name]['seeds']
            cell = f'{format_mean_std([s["test"] for s in seeds])} ' \
                   f'(n={len(seeds)})'
            if against and against in by_name and name != against:
                diff = paired_difference(
                    {s['seed']: s['test'] for s in seeds},
                    {s['seed']: s['test']
                     for s in by_name[against]['seeds']})
                cell += f'; vs {against} {format_difference(diff)}'
            cells.append(cell)
        lines.append(f'| {settings[0][name]["label"]} | ' +
                     ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def plot(regimes: List[Tuple[int, Dict]], out_file: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    settings = [{s['name']: s for s in results['settings']}
                for _, results in regimes]
    names = [name for name in settings[0] if all(name in s for s in settings)]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for colour, name in enumerate(names):
        means = [by_name[name]['test']['mean'] for by_name in settings]
        stds = [by_name[name]['test']['std'] or 0.0 for by_name in settings]
        ax.errorbar([per_class for per_class, _ in regimes], means,
                    yerr=stds, marker='o', capsize=3, color=f'C{colour}',
                    label=settings[0][name]['label'])
    ax.set(xscale='log', xlabel='training images per class',
           ylabel='test top-1 (%), mean ± std over seeds')
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def main() -> None:
    args = parse_args()
    regimes = load(args.results)
    text = table(regimes, args.against)
    with open(f'{args.out}.md', 'w') as f:
        f.write(text + '\n')
    plot(regimes, f'{args.out}.png')
    print(text)


if __name__ == '__main__':
    run_cli(main)
