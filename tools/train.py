"""Train a model (plain mmpretrain or FEED) with the MMEngine runner.

Same command line as MMPretrain's and MMRazor's tools/train.py.
"""
import argparse
import os

import torch
from mmengine.config import DictAction
from mmengine.runner import Runner

import feed_mm  # noqa: F401 - torch shims and registries before any build
from feed_mm.apis import load_config, run_cli
from feed_mm.apis.sfeed import run_sfeed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest '
        'checkpoint in the work dir when no path is given')
    parser.add_argument(
        '--amp', action='store_true',
        help='enable automatic mixed precision training (needs a GPU)')
    parser.add_argument(
        '--no-validate', action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the learning rate with the total batch size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs '
        '(e.g. train_cfg.max_epochs=3)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.work_dir, args.cfg_options,
                      args.launcher)
    if args.amp:
        if not torch.cuda.is_available():
            raise SystemExit('error: --amp needs a CUDA device; mmengine '
                             'has no mixed-precision optimizer wrapper on CPU')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})['enable'] = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if cfg.get('sfeed'):
        # A config with an `sfeed` field trains its generations.
        options = dict(cfg.sfeed)
        run_sfeed(
            cfg,
            generations=options.get('generations', 3),
            work_dir=cfg.work_dir,
            resume=cfg.resume,
            lineage=options.get('lineage', False),
            warm_start=options.get('warm_start', False),
            metric=options.get('metric', 'accuracy/top1'))
        return
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    run_cli(main)
