"""Run a benchmark protocol of the zoo, resumable.

    python tools/zoo.py configs/zoo/fmnist_cpu.py            # everything
    python tools/zoo.py configs/zoo/fmnist_cpu.py --list     # the runs
    python tools/zoo.py configs/zoo/cifar100_resnet56.py --device cuda

Trains the protocol's teachers, then every setting x seed through the
MMEngine runner. Each finished run writes run_result.json in its work dir
and is never retrained; an interrupted run continues from its last
checkpoint, so the same command continues a protocol after a kill. After
each run WORK_DIR/zoo_results.{json,md} are rewritten: per setting the
per-seed test values, mean +- std, and paired differences (same seed)
against the protocol's baselines with a 95 % t-interval; the teachers and
their ensemble (averaged logits) for reference. The console shows one
progress display per run; the full MMEngine logs are in the work dirs
(--verbose shows them on the console instead).
"""
import argparse
import os
import os.path as osp

import feed_mm  # noqa: F401 - torch shims and registries before any build
from feed_mm.apis.cli import add_common_args, run_cli
from feed_mm.apis.console import RunConsole
from feed_mm.zoo import load_protocol, plan_runs, run_protocol
from feed_mm.zoo.runner import format_listing


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Run a zoo protocol')
    parser.add_argument('protocol', help='a zoo config (configs/zoo/*.py)')
    parser.add_argument(
        '--work-dir', help='root of the runs (default: '
        'work_dirs/zoo/<protocol name>)')
    parser.add_argument('--seeds', type=int,
                        help="number of seeds (default: the protocol's)")
    parser.add_argument('--only', nargs='+', metavar='SETTING',
                        help='run only these settings (and the runs they '
                        'learn from)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--list', action='store_true',
                        help='list the runs and their status, train nothing')
    parser.add_argument('--verbose', action='store_true',
                        help="MMEngine's full log on the console")
    add_common_args(parser, launcher=False)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.device == 'cpu':
        # MMEngine puts the model on a GPU whenever it sees one.
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    else:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit(
                'error: --device cuda but no CUDA device is visible')
    if args.seeds is not None and args.seeds < 1:
        raise SystemExit(f'error: --seeds must be >= 1, got {args.seeds}')
    protocol = load_protocol(args.protocol)
    work_dir = args.work_dir or osp.join('work_dirs', 'zoo', protocol.name)
    if args.list:
        runs = plan_runs(protocol, work_dir, args.seeds, args.only)
        print(f'{protocol.title}: {len(runs)} runs in {work_dir}\n')
        print(format_listing(runs))
        return
    run_protocol(
        protocol,
        work_dir,
        console=RunConsole(verbose=args.verbose),
        seeds=args.seeds,
        only=args.only,
        cfg_options=args.cfg_options)


if __name__ == '__main__':
    run_cli(main)
