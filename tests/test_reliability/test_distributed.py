"""FEED under DDP: two CPU processes (gloo) launched by tools/dist_train.sh,
as a user runs it, checked rank by rank and against a single-process
evaluation of the checkpoint it saves."""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

from feed_mm.utils.checkpoint import safe_load
from tests.helpers import REPO, TINY, run_tool

FEED_2T = 'configs/feed/pfeed_resnet20_2xresnet20_digits.py'
# An odd number of validation images: the distributed sampler pads one
# rank's share, and the evaluation must drop the padding again.
VAL_IMAGES = 63


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _launch_env(**extra) -> dict:
    """The environment of a launcher script: this interpreter's `python`
    first on PATH, the repository importable."""
    env = dict(
        os.environ,
        PYTHONPATH=REPO,
        PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'],
        **extra)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    return env


def _last_val_metrics(work_dir: str) -> dict:
    logs = glob.glob(osp.join(work_dir, '*', 'vis_data', '*.json'))
    logs = [log for log in logs if osp.basename(log) != 'scalars.json']
    assert len(logs) == 1, logs
    with open(logs[0]) as f:
        records = [json.loads(line) for line in f if line.strip()]
    val = [r for r in records if 'accuracy/top1' in r]
    assert val, records
    return val[-1]


@pytest.fixture(scope='module')
def ddp_run(digits_teachers, tmp_path_factory):
    """A FEED training run on 2 gloo ranks, with the probe hook of
    tests/test_reliability/ddp_probe.py in every rank."""
    root = tmp_path_factory.mktemp('ddp')
    config = root / 'pfeed_ddp_probe.py'
    config.write_text(
        f"_base_ = ['{osp.join(REPO, FEED_2T)}']\n"
        "custom_imports = dict(imports=['feed_mm', "
        "'tests.test_reliability.ddp_probe'], allow_failed_imports=False)\n"
        "custom_hooks = [*_base_.custom_hooks, dict(type='DDPProbeHook')]\n")
    options = [
        *TINY, f'val_dataloader.dataset.indices={VAL_IMAGES}',
        f'test_dataloader.dataset.indices={VAL_IMAGES}',
        'train_dataloader.batch_size=32'
    ] + [f'model.teachers.t{i}.ckpt={d}' for i, d in enumerate(digits_teachers)]
    work_dir = str(root / 'work_dir')
    result = subprocess.run(
        ['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir',
         work_dir, '--cfg-options', *options],
        cwd=REPO,
        env=_launch_env(PORT=str(_free_port())),
        capture_output=True,
        text=True,
        timeout=300)
    assert result.returncode == 0, (result.stdout[-3000:] +
                                    result.stderr[-3000:])
    ranks = []
    for rank in range(2):
        with open(osp.join(work_dir, f'rank{rank}.json')) as f:
            info = json.load(f)
        info['state'] = torch.load(
            osp.join(work_dir, f'rank{rank}.pth'), weights_only=True)
        ranks.append(info)
    return dict(work_dir=work_dir, ranks=ranks, options=options)


def test_ranks_run_gloo_ddp_with_teachers_left_out(ddp_run):
    for rank, info in enumerate(ddp_run['ranks']):
        assert info['rank'] == rank and info['world_size'] == 2
        assert info['backend'] == 'gloo'
        assert info['wrapper'] == 'MMDistributedDataParallel'
        # Only the whole FEED model is wrapped; DDP neither synchronises
        # nor reduces any teacher parameter or buffer.
        assert info['wrappers_inside'] == []
        assert info['teacher_names']
        assert set(info['teacher_names']) <= set(info['ignored'])
        assert not any(not n.startswith('teachers.') for n in info['ignored'])
        assert info['teacher_grads'] == []


def test_student_and_translators_identical_across_ranks(ddp_run):
    state0, state1 = (r['state']['model'] for r in ddp_run['ranks'])
    assert set(state0) == set(state1)
    assert any(k.startswith('distiller.translators.t1.') for k in state0)
    assert not any(k.startswith('teachers.') for k in state0)
    for key, value in state0.items():
        assert torch.equal(value, state1[key]), key
    # What the runner saved is what the ranks ended with.
    saved = torch.load(
        osp.join(ddp_run['work_dir'], 'epoch_1.pth'),
        map_location='cpu',
        weights_only=False)['state_dict']
    assert set(saved) == set(state0)
    for key, value in state0.items():
        assert torch.equal(saved[key], value), key


def test_evaluation_aggregates_over_ranks(ddp_run, tmp_path):
    seen = [r['val_samples'] for r in ddp_run['ranks']]
    # Each rank evaluated its half (one of them padded to 32).
    assert seen == [32, 32]
    ddp_metrics = _last_val_metrics(ddp_run['work_dir'])
    out = tmp_path / 'metrics.json'
    result = run_tool('tools/test.py', FEED_2T,
                      osp.join(ddp_run['work_dir'], 'epoch_1.pth'),
                      '--work-dir', str(tmp_path), '--out', str(out),
                      '--cfg-options', *ddp_run['options'])
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out) as f:
        single = json.load(f)
    for key in ('accuracy/top1', 'teacher.t0.accuracy/top1',
                'teacher.t1.accuracy/top1'):
        assert single[key] == pytest.approx(ddp_metrics[key], abs=1e-4), key


def test_each_rank_keeps_the_teachers_of_their_checkpoints(
        ddp_run, digits_teachers):
    for i, teacher_dir in enumerate(digits_teachers):
        loaded = safe_load(osp.join(teacher_dir, 'epoch_1.pth'))['state_dict']
        for info in ddp_run['ranks']:
            teachers = info['state']['teachers']
            for key, value in loaded.items():
                assert torch.equal(teachers[f't{i}.{key}'], value), key


# Stands in for slurm's srun on one machine: starts --ntasks copies of the
# command with the variables slurm gives each task.
FAKE_SRUN = '''#!/usr/bin/env bash
ntasks=1
while [[ $1 == -* ]]; do
  case $1 in
    --ntasks=*) ntasks=${1#*=}; shift ;;
    -p) shift 2 ;;
    *) shift ;;
  esac
done
pids=()
for ((i = 0; i < ntasks; i++)); do
  SLURM_PROCID=$i SLURM_LOCALID=$i SLURM_NTASKS=$ntasks \\
  SLURM_NODELIST=localhost "$@" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait $pid || exit 1; done
'''


def test_slurm_train_sh_runs_two_tasks_on_cpu(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'srun').write_text(FAKE_SRUN)
    (bin_dir / 'srun').chmod(0o755)
    work_dir = tmp_path / 'work_dir'
    env = _launch_env(
        MASTER_ADDR='127.0.0.1', MASTER_PORT=str(_free_port()), GPUS='2')
    env['PATH'] = str(bin_dir) + os.pathsep + env['PATH']
    result = subprocess.run(
        ['bash', 'tools/slurm_train.sh', 'partition', 'feed',
         'configs/teachers/digits_resnet20_s0.py', str(work_dir),
         '--cfg-options', *TINY],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'Distributed launcher: slurm' in log
    # 128 images in batches of 64 on each of 2 ranks: one iteration.
    assert 'Epoch(train) [1][1/1]' in log
    assert (work_dir / 'epoch_1.pth').is_file()
