"""Sequential FEED: K generations of the student of a FEED config.

    python tools/sfeed.py configs/feed/ft_resnet20_resnet20_digits.py \
        --generations 3 --work-dir work_dirs/sfeed_digits

Generation 0 trains the student alone, generation k trains a fresh student
with FEED from generation k-1 (--lineage: from all earlier generations).
Each generation lives in WORK_DIR/gen_k; finished generations are never
retrained; --resume continues an interrupted one. Each generation records
its teachers' checkpoint fingerprints: a finished generation whose teacher
generation changed since is reported, an interrupted one refuses to resume
from it. One progress line per
generation on the console (--verbose: MMEngine's log; the full log is in
each generation's work dir); the table of generations is printed and saved
as WORK_DIR/sfeed_results.{md,json}.
"""
import argparse

import feed_mm  # noqa: F401 - torch shims and registries before any build
from feed_mm.apis.cli import add_common_args, load_config, run_cli
from feed_mm.apis.console import RunConsole
from feed_mm.apis.sfeed import run_sfeed_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Sequential FEED')
    parser.add_argument('config', help='a FEED config (its student is used)')
    parser.add_argument(
        '--generations', type=int, default=None,
        help='number of generations, generation 0 included '
        '(default: the config\'s sfeed.generations, else 3)')
    parser.add_argument('--work-dir', help='root folder of the generations')
    parser.add_argument(
        '--resume', action='store_true',
        help='continue an interrupted generation')
    parser.add_argument(
        '--lineage', action='store_true',
        help='distil generation k from all earlier generations at once')
    parser.add_argument(
        '--warm-start', action='store_true',
        help='initialise each student from the previous generation')
    parser.add_argument('--verbose', action='store_true',
                        help="MMEngine's full log on the console")
    add_common_args(parser, launcher=False)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.work_dir, args.cfg_options, 'none')
    run_sfeed_config(
        cfg,
        resume=args.resume,
        generations=args.generations,
        lineage=args.lineage,
        warm_start=args.warm_start,
        console=RunConsole(verbose=args.verbose))


if __name__ == '__main__':
    run_cli(main)
