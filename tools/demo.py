"""FEED on the embedded digits, end to end, on a laptop-sized CPU.

    python tools/demo.py                # about 5 minutes on 2 CPU cores
    python tools/demo.py --seeds 3      # mean +- std over 3 student seeds

Trains (through the MMEngine runner and feed_mm's registered modules) three
ResNet-20 teachers on the full SklearnDigits training split (cached in
WORK_DIR/teachers and reused), then, per seed, four students on a reduced
split (NUM_PER_CLASS images per class) so that the teachers know more than
the data the students see:
  student  the ResNet-20 trained alone
  ft       FEED with 1 teacher (Factor Transfer's translator and loss)
  pfeed2   parallel FEED with 2 teachers
  pfeed3   parallel FEED with 3 teachers
It prints a results table (test top-1, teachers' ensemble for reference,
wall time) and writes WORK_DIR/demo_results.{json,md} and
WORK_DIR/demo_curves.png.
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import time
from typing import Dict, List, Sequence

import torch
from mmengine.config import Config
from mmengine.runner import Runner

import feed_mm  # noqa: F401 - torch shims and registries before any build
from feed_mm.apis.cli import add_common_args, load_config, run_cli
from feed_mm.apis.curves import find_scalar_logs, read_series

TEACHER_CONFIG = 'configs/teachers/digits_resnet20_s{seed}.py'
FEED_CONFIGS = {
    'ft': 'configs/feed/ft_resnet20_resnet20_digits.py',
    'pfeed2': 'configs/feed/pfeed_resnet20_2xresnet20_digits.py',
    'pfeed3': 'configs/feed/pfeed_resnet20_3xresnet20_digits.py',
}
RUNS = ('student', 'ft', 'pfeed2', 'pfeed3')
METRIC = 'accuracy/top1'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='FEED demo on digits')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--seeds', type=int, default=1,
                        help='student seeds (mean +- std when > 1)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--teacher-epochs', type=int, default=10)
    parser.add_argument('--student-epochs', type=int, default=30)
    parser.add_argument('--num-per-class', type=int, default=30,
                        help='training images per class for the students')
    # --cfg-options apply to every run's config.
    add_common_args(parser, launcher=False)
    return parser.parse_args()


def schedule(epochs: int) -> Dict:
    """The digits schedule stretched to ``epochs`` (lr x0.1 at 50%/80%)."""
    return {
        'train_cfg.max_epochs': epochs,
        'param_scheduler.milestones': [max(1, epochs // 2),
                                       max(1, epochs * 4 // 5)],
        # Only the last checkpoint matters here.
        'default_hooks.checkpoint.max_keep_ckpts': 1,
        'default_hooks.logger.interval': 5,
    }


def train(cfg: Config, name: str, device: str) -> Dict:
    """Train one run through the runner; returns its final test top-1 and
    wall time, and writes them beside its checkpoints."""
    cfg.experiment_name = name  # MMEngine appends the start time
    if device == 'cpu':
        # MMEngine puts the model on a GPU whenever it sees one.
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.train()
    wall = time.perf_counter() - start
    metrics = runner.val_loop.run()
    result = dict(name=name, top1=float(metrics[METRIC]), wall_s=wall,
                  work_dir=cfg.work_dir)
    with open(osp.join(cfg.work_dir, 'demo_run.json'), 'w') as f:
        json.dump(result, f)
    return result


def cached(work_dir: str):
    path = osp.join(work_dir, 'demo_run.json')
    if osp.isfile(path):
        with open(path) as f:
            return json.load(f)
    return None


def teachers(args, overrides: Dict) -> List[Dict]:
    results = []
    for seed in range(3):
        work_dir = osp.join(args.work_dir, 'teachers', f's{seed}')
        result = cached(work_dir)
        if result is None:
            cfg = load_config(TEACHER_CONFIG.format(seed=seed), work_dir,
                              {**schedule(args.teacher_epochs), **overrides},
                              'none')
            result = train(cfg, f'teacher_s{seed}', args.device)
        results.append(result)
    return results


def student_cfg(run: str, seed: int, args, overrides: Dict,
                teacher_dirs: Sequence[str]) -> Config:
    work_dir = osp.join(args.work_dir, f'seed{seed}', run)
    options = {
        **schedule(args.student_epochs),
        'train_dataloader.dataset.num_per_class': args.num_per_class,
        # Student runs differ from the teachers' (seeds 0..2) and each other.
        'randomness.seed': 1000 + seed,
        **overrides,
    }
    if run == 'student':
        return load_config(TEACHER_CONFIG.format(seed=0), work_dir, options,
                           'none')
    cfg = load_config(FEED_CONFIGS[run], work_dir, options, 'none')
    for name, teacher_dir in zip(cfg.model.teachers, teacher_dirs):
        cfg.model.teachers[name].ckpt = teacher_dir
    return cfg


@torch.no_grad()
def ensemble_top1(teacher_results: List[Dict], overrides: Dict) -> float:
    """Top-1 of the teachers' averaged softmax on the test split."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import MODELS
    cfg = load_config(TEACHER_CONFIG.format(seed=0), None, overrides, 'none')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        models = []
        for result in teacher_results:
            model = MODELS.build(
                dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
            with open(osp.join(result['work_dir'], 'last_checkpoint')) as f:
                load_checkpoint(model, f.read().strip(), map_location='cpu')
            models.append(model.eval())
        loader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))
        correct = total = 0
        for batch in loader:
            data = models[0].data_preprocessor(batch, False)
            probs = sum(
                m(data['inputs'], mode='tensor').softmax(-1) for m in models)
            labels = torch.cat(
                [s.gt_label for s in data['data_samples']])
            correct += int((probs.argmax(-1) == labels).sum())
            total += len(labels)
    return 100.0 * correct / total


def summarise(values: List[float]) -> str:
    if len(values) == 1:
        return f'{values[0]:.2f}'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}'


def plot_curves(runs: Dict[str, List[Dict]], out_file: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for run, results in runs.items():
        for i, result in enumerate(results):
            _, metrics = read_series(find_scalar_logs(result['work_dir']))
            points = metrics.get(METRIC, [])
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, color=f'C{RUNS.index(run)}', alpha=0.8,
                        label=run if i == 0 else None)
    ax.set(xlabel='epoch', ylabel='test top-1 (%)',
           title='SklearnDigits: student alone vs FT vs pFEED')
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def main() -> None:
    args = parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('error: --device cuda but no CUDA device is visible')
    overrides = dict(args.cfg_options or {})
    os.makedirs(args.work_dir, exist_ok=True)
    start = time.perf_counter()

    teacher_results = teachers(args, overrides)
    teacher_dirs = [r['work_dir'] for r in teacher_results]
    runs: Dict[str, List[Dict]] = {run: [] for run in RUNS}
    for seed in range(args.seeds):
        for run in RUNS:
            cfg = student_cfg(run, seed, args, overrides, teacher_dirs)
            runs[run].append(
                cached(cfg.work_dir) or train(cfg, f'{run}_seed{seed}',
                                              args.device))
    ensemble = ensemble_top1(teacher_results, overrides)

    rows = [('teacher ResNet-20 (full split), each',
             summarise([r['top1'] for r in teacher_results]),
             sum(r['wall_s'] for r in teacher_results)),
            ('teachers, ensemble of 3 (reference)', f'{ensemble:.2f}', 0.0)]
    labels = {
        'student': 'student ResNet-20 alone',
        'ft': 'FT: FEED, 1 teacher',
        'pfeed2': 'pFEED, 2 teachers',
        'pfeed3': 'pFEED, 3 teachers',
    }
    for run in RUNS:
        rows.append((labels[run], summarise([r['top1'] for r in runs[run]]),
                     sum(r['wall_s'] for r in runs[run])))
    table = [
        f'SklearnDigits test top-1 (%), students on {args.num_per_class} '
        f'images/class, {args.seeds} seed(s)', '',
        '| run | top-1 | wall time (s) |', '|---|---|---|'
    ] + [f'| {name} | {top1} | {wall:.0f} |' for name, top1, wall in rows]
    text = '\n'.join(table)
    print(text)
    total = time.perf_counter() - start
    print(f'\nTotal wall time: {total:.0f} s')

    summary = dict(
        seeds=args.seeds,
        num_per_class=args.num_per_class,
        teacher_epochs=args.teacher_epochs,
        student_epochs=args.student_epochs,
        device=args.device,
        teachers=teacher_results,
        teacher_ensemble_top1=ensemble,
        runs=runs,
        total_wall_s=total,
    )
    with open(osp.join(args.work_dir, 'demo_results.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    with open(osp.join(args.work_dir, 'demo_results.md'), 'w') as f:
        f.write(text + '\n')
    plot_curves(runs, osp.join(args.work_dir, 'demo_curves.png'))
    print(f'Wrote {args.work_dir}/demo_results.json, demo_results.md, '
          'demo_curves.png')


if __name__ == '__main__':
    run_cli(main)
