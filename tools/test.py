"""Test a checkpoint (plain mmpretrain or FEED) with the MMEngine runner.

Same command line as MMPretrain's and MMRazor's tools/test.py.
"""
import argparse
import os

from mmengine.runner import Runner

import feed_mm  # noqa: F401 - torch shims and registries before any build
from feed_mm.apis.cli import (add_common_args, load_config,
                              parse_with_launcher, run_cli)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation logs')
    parser.add_argument(
        '--out', help='dump the metrics to this file (.json/.yaml/.pkl)')
    add_common_args(parser)
    return parse_with_launcher(parser)


def main() -> None:
    args = parse_args()
    if not os.path.isfile(args.checkpoint) and '://' not in args.checkpoint:
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg = load_config(args.config, args.work_dir, args.cfg_options,
                      args.launcher)
    cfg.load_from = args.checkpoint
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out:
        from mmengine.fileio import dump
        dump(metrics, args.out)


if __name__ == '__main__':
    run_cli(main)
