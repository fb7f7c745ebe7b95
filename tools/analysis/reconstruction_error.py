"""Reconstruction error of FEED translators, per teacher, on a data split.

    python tools/analysis/reconstruction_error.py \
        --run ft configs/feed/ft_resnet20_resnet20_digits.py work_dirs/ft/epoch_10.pth \
        --run pfeed2 configs/feed/pfeed_resnet20_2xresnet20_digits.py work_dirs/p2/epoch_10.pth \
        --out-dir work_dirs/recon
    python tools/analysis/reconstruction_error.py \
        --zoo work_dirs/zoo/fmnist_cpu ft pfeed2 pfeed3

For each run (a FEED config and a checkpoint of it, with translators), the
mean over the split of ||phi(F_t) - phi(tau(F_s))|| (L1 and L2) for every
teacher; a Markdown table, a JSON file and a PNG bar chart. With --zoo, the
finished runs of the named settings of a zoo work dir (tools/zoo.py), mean
± std over their seeds.
"""
import argparse
import glob
import json
import os
import os.path as osp
from typing import Dict, List, Tuple

from mmengine.registry import DefaultScope
from mmengine.runner import Runner, load_checkpoint

import feed_mm  # noqa: F401 - torch shims and registries before any build
from feed_mm.apis.cli import add_common_args, load_config, run_cli
from feed_mm.apis.analysis import (format_errors_table, mean_over_seeds,
                                   plot_errors, reconstruction_errors)
from feed_mm.apis.training import RESULT_FILE, read_json


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Reconstruction error of FEED translators')
    parser.add_argument(
        '--run', nargs=3, action='append', default=[],
        metavar=('LABEL', 'CONFIG', 'CHECKPOINT'),
        help='a FEED config and a checkpoint of it; repeat to compare')
    parser.add_argument(
        '--zoo', nargs='+', metavar=('WORK_DIR', 'SETTING'),
        help='a zoo work dir and the settings to compare (every finished '
        'seed of each)')
    parser.add_argument(
        '--split', choices=['val', 'test', 'train'], default='test',
        help='which dataloader of the config to use')
    parser.add_argument('--max-batches', type=int, default=None)
    parser.add_argument('--out-dir', default='work_dirs/reconstruction_error')
    # --cfg-options apply to every run's config.
    add_common_args(parser, launcher=False)
    args = parser.parse_args()
    if not args.run and not (args.zoo and len(args.zoo) > 1):
        parser.error('give --run LABEL CONFIG CHECKPOINT (repeatable) or '
                     '--zoo WORK_DIR SETTING [SETTING ...]')
    return args


def zoo_runs(work_dir: str, settings: List[str]) -> Dict[str, List[Tuple[
        str, str]]]:
    """``setting -> [(config, checkpoint), ...]`` of the finished seeds of
    a zoo work dir: the config the runner dumped in each run's work dir
    (with that run's teachers) and its last checkpoint."""
    runs = {}
    for setting in settings:
        pattern = osp.join(work_dir, setting, 'seed*', RESULT_FILE)
        results = [read_json(path) for path in sorted(glob.glob(pattern))]
        if not results:
            raise FileNotFoundError(
                f'no finished run of setting {setting!r} in {work_dir} '
                f'(no {pattern})')
        runs[setting] = [
            (osp.join(r['work_dir'], osp.basename(r['config'])),
             r['checkpoint']) for r in results
        ]
    return runs


def evaluate_run(config: str, checkpoint: str, split: str, cfg_options,
                 max_batches):
    cfg = load_config(config, None, cfg_options, 'none')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        from mmrazor.registry import MODELS
        model_cfg = dict(cfg.model)
        model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
        model = MODELS.build(model_cfg)
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
        dataloader = Runner.build_dataloader(cfg[f'{split}_dataloader'])
        return reconstruction_errors(model, dataloader, max_batches)


def main() -> None:
    args = parse_args()
    results = {
        label: evaluate_run(config, ckpt, args.split, args.cfg_options,
                            args.max_batches)
        for label, config, ckpt in args.run
    }
    if args.zoo:
        for setting, runs in zoo_runs(args.zoo[0], args.zoo[1:]).items():
            results[setting] = mean_over_seeds([
                evaluate_run(config, ckpt, args.split, args.cfg_options,
                             args.max_batches) for config, ckpt in runs
            ])
    os.makedirs(args.out_dir, exist_ok=True)
    table = format_errors_table(results)
    print(table)
    with open(osp.join(args.out_dir, 'reconstruction_error.json'), 'w') as f:
        json.dump(results, f, indent=2)
    with open(osp.join(args.out_dir, 'reconstruction_error.md'), 'w') as f:
        f.write(table + '\n')
    plot_errors(results, osp.join(args.out_dir, 'reconstruction_error.png'))
    print(f'Wrote table, JSON and PNG to {args.out_dir}')


if __name__ == '__main__':
    run_cli(main)
