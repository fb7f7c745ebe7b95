"""Training-step benchmark: FEED vs its floor (student step + teachers'
forwards) and vs MMRazor's single-teacher FT, with FEED's teacher options
and peak memory. Random inputs of the preset's shape: no data needed.

    # the small CPU preset (a few minutes on 2 cores)
    python tools/analysis/benchmark.py --preset digits --device cpu
    # ImageNet-sized on a GPU, batch 256
    python tools/analysis/benchmark.py --preset imagenet --device cuda

Prints Markdown tables and writes every figure to a JSON file; see
docs/benchmark.md for the definitions.
"""
import argparse
import json
import os
import os.path as osp
import shlex
import sys

import torch

from feed_mm.apis.cli import run_cli
from feed_mm.benchmark import (DEFAULT_OPTIONS, OPTION_ARGS, PRESETS, Setting,
                               check_arguments, format_report, run_benchmark)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark FEED training steps against their floor and '
        "MMRazor's single-teacher Factor Transfer")
    parser.add_argument(
        '--preset', choices=sorted(PRESETS), default='digits',
        help='digits: ResNet-20, 32x32, batch 128; cifar: ResNet-56, '
        '32x32, batch 128; imagenet: ResNet-34, 224x224, batch 256 on GPU '
        '(16 on CPU)')
    parser.add_argument(
        '--student', default=None, metavar='CONFIG',
        help="a config file whose `model` replaces the preset's student "
        '(e.g. configs/_base_/models/cifar_resnet56.py)')
    parser.add_argument(
        '--teacher', default=None, metavar='CONFIG',
        help="a config file whose `model` replaces the preset's teachers "
        '(default: the student\'s model)')
    parser.add_argument('--input-size', type=int, default=None,
                        help="image height and width (default: the "
                        "preset's)")
    parser.add_argument('--batch-size', type=int, default=None,
                        help="default: the preset's for the device")
    parser.add_argument('--teachers', type=int, nargs='+', default=[1, 2, 3, 4],
                        metavar='N', help='numbers of teachers to run')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed steps before each timing')
    parser.add_argument('--repeats', type=int, default=10,
                        help='timed steps; the median is reported')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (default: torch\'s)')
    parser.add_argument('--in-turns', action='store_true',
                        help='time each option variant in turns with the '
                        'plain FEED step of the same N (for a shared, '
                        'noisy machine)')
    parser.add_argument('--no-memory', action='store_true',
                        help='skip the peak-memory measurements')
    parser.add_argument(
        '--options', nargs='*', default=None, metavar='VARIANT',
        help='FEED option variants: ' + ', '.join(OPTION_ARGS) +
        " or combinations joined by '+' (e.g. compiled+fast); --options "
        'alone runs none. Default on cpu: ' + ' '.join(DEFAULT_OPTIONS['cpu']) +
        '; on cuda: ' + ' '.join(DEFAULT_OPTIONS['cuda']))
    parser.add_argument(
        '--json', default=None, metavar='PATH',
        help='where to write the figures (default: '
        'work_dirs/benchmark/benchmark_<preset>_<device>.json)')
    args = parser.parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available')
    try:
        check_arguments(args.teachers, args.options, args.warmup,
                        args.repeats, args.batch_size, args.threads,
                        args.input_size)
    except ValueError as err:
        parser.error(str(err))
    return args


def main() -> None:
    args = parse_args()
    try:
        setting = Setting.from_preset(args.preset, REPO, args.device,
                                      args.batch_size, args.threads,
                                      args.student, args.teacher,
                                      args.input_size)
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
    results = run_benchmark(
        setting,
        teacher_counts=args.teachers,
        variants=args.options,
        warmup=args.warmup,
        repeats=args.repeats,
        memory=not args.no_memory,
        in_turns=args.in_turns,
        command=' '.join(shlex.quote(a) for a in ['python', *sys.argv]),
        log=lambda message: print(message, file=sys.stderr, flush=True))
    print(format_report(results))
    path = args.json or osp.join(
        'work_dirs', 'benchmark',
        f'benchmark_{args.preset}_{args.device}.json')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(results, f, indent=2)
    print(f'Wrote {path}')


if __name__ == '__main__':
    run_cli(main)
