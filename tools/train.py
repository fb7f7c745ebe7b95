"""Train a model (plain mmpretrain or FEED) with the MMEngine runner.

Same command line as MMPretrain's and MMRazor's tools/train.py.
"""
import argparse

import torch
from mmengine.runner import Runner

import feed_mm  # noqa: F401 - torch shims and registries before any build
from feed_mm.apis.cli import (add_common_args, load_config,
                              parse_with_launcher, run_cli)
from feed_mm.apis.sfeed import run_sfeed_config
from feed_mm.engine.teacher_provenance import check_resumed_teachers


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
    add_common_args(parser)
    return parse_with_launcher(parser)


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
        run_sfeed_config(cfg, resume=cfg.resume)
        return
    check_resumed_teachers(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    run_cli(main)
