"""Sequential FEED: K generations of the student of a FEED config.

    python tools/sfeed.py configs/feed/ft_resnet20_resnet20_digits.py \
        --generations 3 --work-dir work_dirs/sfeed_digits

Generation 0 trains the student alone, generation k trains a fresh student
with FEED from generation k-1 (--lineage: from all earlier generations).
Each generation lives in WORK_DIR/gen_k; finished generations are never
retrained; --resume continues an interrupted one. The table of generations
is printed and saved as WORK_DIR/sfeed_results.{md,json}.
"""
import argparse

from mmengine.config import DictAction

import feed_mm  # noqa: F401 - torch shims and registries before any build
from feed_mm.apis import load_config, run_cli
from feed_mm.apis.sfeed import run_sfeed


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
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.work_dir, args.cfg_options, 'none')
    options = dict(cfg.get('sfeed') or {})
    run_sfeed(
        cfg,
        generations=args.generations or options.get('generations', 3),
        work_dir=cfg.work_dir,
        resume=args.resume,
        lineage=args.lineage or options.get('lineage', False),
        warm_start=args.warm_start or options.get('warm_start', False),
        metric=options.get('metric', 'accuracy/top1'))


if __name__ == '__main__':
    run_cli(main)
