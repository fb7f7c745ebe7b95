"""Throughput of the zoo runner's setups on this machine: the same runs
trained with ``--jobs J --threads T`` for each setup given, each in a fresh
work dir, timed from start to the last result.

    # 2 runs x 1 thread against 1 run x 2 threads, 4 FT runs of 30 epochs
    python tools/analysis/zoo_jobs_benchmark.py configs/zoo/fmnist_cpu.py \\
        --only ft --seeds 4 --setups 1x2 2x1 --out zoo_jobs.json

Prints a Markdown table (wall time, runs per hour, speed-up over the first
setup) and writes it as JSON with ``--out``. Run it on a quiet machine.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import tempfile
import time

from feed_mm.benchmark.runner import machine_info

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('protocol', help='a zoo config (configs/zoo/*.py)')
    parser.add_argument('--only', nargs='+', required=True,
                        metavar='SETTING', help='the settings to train')
    parser.add_argument('--seeds', type=int, default=4)
    parser.add_argument('--setups', nargs='+', default=['1x2', '2x1'],
                        metavar='JOBSxTHREADS',
                        help='e.g. 1x2 (one run, 2 threads) 2x1')
    parser.add_argument('--student-epochs', type=int, default=None)
    parser.add_argument('--out', default=None, help='JSON file to write')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    rows = []
    for setup in args.setups:
        jobs, threads = (int(v) for v in setup.split('x'))
        with tempfile.TemporaryDirectory() as work_dir:
            command = [
                sys.executable, osp.join(REPO, 'tools', 'zoo.py'),
                args.protocol, '--work-dir', work_dir, '--only', *args.only,
                '--seeds', str(args.seeds), '--jobs', str(jobs),
                '--threads', str(threads)]
            if args.student_epochs:
                command += ['--student-epochs', str(args.student_epochs)]
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            with open(osp.join(work_dir, 'zoo_results.json')) as f:
                runs = json.load(f)['runs_finished']
        rows.append(dict(setup=setup, jobs=jobs, threads=threads, runs=runs,
                         wall_s=wall, runs_per_hour=3600 * runs / wall))
        print(f'{setup}: {runs} runs in {wall:.0f} s', flush=True)
    base = rows[0]['wall_s']
    print('\n| jobs x threads | runs | wall time (s) | runs per hour | '
          f'speed-up vs {rows[0]["setup"]} |\n|---|---|---|---|---|')
    for row in rows:
        row['speedup'] = base / row['wall_s']
        print(f'| {row["setup"]} | {row["runs"]} | {row["wall_s"]:.0f} | '
              f'{row["runs_per_hour"]:.1f} | {row["speedup"]:.2f}x |')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(protocol=args.protocol, only=args.only,
                           seeds=args.seeds, machine=machine_info('cpu'),
                           date=time.strftime('%Y-%m-%d'), rows=rows), f,
                      indent=2)


if __name__ == '__main__':
    main()
