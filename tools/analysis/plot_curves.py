"""Plot the loss terms and accuracies of training runs from their logs.

    python tools/analysis/plot_curves.py work_dirs/pfeed2 work_dirs/ft \
        --out curves.png

Reads MMEngine's scalar logs (`<work_dir>/<timestamp>/vis_data/scalars.json`,
or that file given directly). Left: every loss term against the iteration
(`loss`, `student.loss`, `distill.loss_feed_t0`, ...); right: every
accuracy against the epoch (the student's and `teacher.<name>.*`).
"""
import argparse
import os.path as osp
from typing import Dict, Tuple

from feed_mm.apis.cli import run_cli
from feed_mm.apis.curves import find_scalar_logs, read_series


def plot(runs: Dict[str, Tuple[Dict, Dict]], out_file: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    for run, (losses, metrics) in runs.items():
        prefix = f'{run}: ' if len(runs) > 1 else ''
        for key, points in sorted(losses.items()):
            xs, ys = zip(*points)
            ax_loss.plot(xs, ys, marker='.', label=prefix + key)
        for key, points in sorted(metrics.items()):
            xs, ys = zip(*points)
            ax_acc.plot(xs, ys, marker='o', label=prefix + key)
    ax_loss.set(xlabel='iteration', ylabel='loss', title='loss terms')
    ax_acc.set(xlabel='epoch', ylabel='%', title='validation')
    for ax in (ax_loss, ax_acc):
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description='Plot training curves')
    parser.add_argument('runs', nargs='+',
                        help='work dirs or scalars.json files')
    parser.add_argument('--out', default='curves.png', help='output PNG')
    args = parser.parse_args()
    series = {
        osp.basename(osp.normpath(run)): read_series(find_scalar_logs(run))
        for run in args.runs
    }
    if not any(losses or metrics for losses, metrics in series.values()):
        raise SystemExit('error: the logs hold no loss or accuracy values')
    plot(series, args.out)
    for run, (losses, metrics) in series.items():
        print(f'{run}: {len(losses)} loss terms, {len(metrics)} metrics')
    print(f'Wrote {args.out}')


if __name__ == '__main__':
    run_cli(main)
