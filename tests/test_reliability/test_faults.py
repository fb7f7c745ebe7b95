"""Faults during FEED training, through tools/train.py as a user runs it: a
run killed at any moment (even while it writes a checkpoint) resumes from
its last complete checkpoint and ends with exactly the weights of an
uninterrupted run; a NaN loss stops the run, naming the term, before it can
touch a checkpoint; a corrupted checkpoint is refused with one clear line."""
import glob
import hashlib
import os
import os.path as osp
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from feed_mm.utils.checkpoint import safe_load
from tests.helpers import REPO, run_tool

FEED_2T = 'configs/feed/pfeed_resnet20_2xresnet20_digits.py'
EPOCHS = 3
ITERS = 4  # per epoch
# Tiny schedule, with the config's random crops: a resumed run must draw
# the crops of the uninterrupted run (feed_mm's RNGStateHook).
OPTIONS = [
    f'train_cfg.max_epochs={EPOCHS}', 'train_dataloader.dataset.indices=128',
    'train_dataloader.batch_size=32', 'val_dataloader.dataset.indices=32',
    'default_hooks.logger.interval=1'
]
TRAIN_LINE = re.compile(r'Epoch\(train\)\s+\[(\d+)\]\[\s*(\d+)/\d+\]')
TIMEOUT = 300


def _teacher_options(teachers):
    return [f'model.teachers.t{i}.ckpt={path}'
            for i, path in enumerate(teachers)]


def _fault_config(directory, name: str, hook: str) -> str:
    """The FEED config plus a hook of tests/test_reliability/fault_hooks.py
    (the run needs PYTHONPATH=REPO)."""
    path = osp.join(directory, f'{name}.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = ['{osp.join(REPO, FEED_2T)}']\n"
                "custom_imports = dict(imports=['feed_mm', "
                "'tests.test_reliability.fault_hooks'], "
                'allow_failed_imports=False)\n'
                f'custom_hooks = [*_base_.custom_hooks, {hook}]\n')
    return path


def _trained(log: str):
    """(epoch, iteration in epoch) of every logged training iteration."""
    return [(int(e), int(i)) for e, i in TRAIN_LINE.findall(log)]


class Training:
    """tools/train.py in a subprocess, its log read as it comes, so that a
    test can SIGKILL it at a chosen moment."""

    def __init__(self, config: str, work_dir: str, teachers, *extra) -> None:
        env = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED='1')
        env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
        self.lines = []
        self.process = subprocess.Popen(
            [
                sys.executable, 'tools/train.py', config, '--work-dir',
                work_dir, '--cfg-options', *OPTIONS,
                *_teacher_options(teachers), *extra
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return ''.join(self.lines)

    def wait_for(self, condition, what: str):
        """Poll ``condition`` until it returns something true; return it."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            ended = self.process.poll() is not None
            found = condition()
            if found:
                return found
            if ended:
                self._reader.join()
                raise AssertionError(
                    f'training ended before {what}:\n{self.log[-3000:]}')
            assert time.monotonic() < deadline, f'no {what} in {TIMEOUT} s'
            time.sleep(0.005)

    def wait_for_iteration(self, epoch: int, iteration: int) -> None:
        self.wait_for(lambda: (epoch, iteration) in _trained(self.log),
                      f'iteration {iteration} of epoch {epoch}')

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._reader.join()

    def finish(self) -> str:
        self.process.wait(timeout=TIMEOUT)
        self._reader.join()
        assert self.process.returncode == 0, self.log[-3000:]
        return self.log


@pytest.fixture
def trainings():
    """Starts Training subprocesses and kills those left at teardown."""
    started = []

    def start(*args) -> Training:
        started.append(Training(*args))
        return started[-1]

    yield start
    for training in started:
        training.kill()


@pytest.fixture(scope='module')
def uninterrupted(digits_teachers, tmp_path_factory):
    """The work dir of the run that no fault interrupts."""
    work_dir = str(tmp_path_factory.mktemp('uninterrupted'))
    result = run_tool('tools/train.py', FEED_2T, '--work-dir', work_dir,
                      '--cfg-options', *OPTIONS,
                      *_teacher_options(digits_teachers))
    assert result.returncode == 0, result.stderr[-3000:]
    return work_dir


def _last_complete_epoch(work_dir: str) -> int:
    """After a kill: every checkpoint under its final name is complete and
    ``last_checkpoint`` names one; returns its epoch (0 if none)."""
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        safe_load(path)  # CorruptCheckpointError for a half-written file
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return 0
    with open(pointer) as f:
        target = f.read()
    assert osp.dirname(target) == work_dir and osp.isfile(target), target
    return safe_load(target)['meta']['epoch']


def _assert_resumed_from(log: str, epoch: int) -> None:
    if epoch:
        assert f'resumed epoch: {epoch}, iter: {epoch * ITERS}' in log
    # The schedule goes on where the checkpoint left it, to the last epoch.
    assert _trained(log) == [(e, i) for e in range(epoch + 1, EPOCHS + 1)
                             for i in range(1, ITERS + 1)]


def _assert_same_training_state(work_dir: str, reference_dir: str) -> None:
    ours, ref = (safe_load(osp.join(d, f'epoch_{EPOCHS}.pth'))
                 for d in (work_dir, reference_dir))
    assert (ours['meta']['epoch'], ours['meta']['iter']) == (EPOCHS,
                                                             EPOCHS * ITERS)
    keys = ref['state_dict'].keys()
    assert ours['state_dict'].keys() == keys
    assert any(k.startswith('architecture.') for k in keys)
    assert any(k.startswith('distiller.translators.t1.') for k in keys)
    different = [
        k for k in keys if not torch.equal(ours['state_dict'][k],
                                           ref['state_dict'][k])
    ]
    assert not different, different[:5]
    momentum = [(state['momentum_buffer'], ref['optimizer']['state'][i]
                 ['momentum_buffer'])
                for i, state in ours['optimizer']['state'].items()]
    assert momentum and all(torch.equal(a, b) for a, b in momentum)
    assert ours['param_schedulers'] == ref['param_schedulers']


def _new_part_file(work_dir: str, before: dict):
    """A checkpoint part file that the running process is writing."""
    for path in glob.glob(osp.join(work_dir, '.epoch_*.pth.part')):
        try:
            stat = os.stat(path)
        except FileNotFoundError:  # renamed onto its final name meanwhile
            continue
        if stat.st_size and before.get(path) != stat.st_mtime_ns:
            return path
    return None


def test_killed_at_any_moment_resumes_from_last_complete_checkpoint(
        uninterrupted, digits_teachers, tmp_path, trainings):
    work_dir = str(tmp_path / 'work')
    slow_checkpoints = _fault_config(
        str(tmp_path), 'slow_checkpoints',
        "dict(type='SlowCheckpointHook', megabytes=128)")
    rng = random.Random(8)

    # In the second epoch, at a random moment.
    run = trainings(FEED_2T, work_dir, digits_teachers)
    run.wait_for_iteration(2, rng.randint(1, ITERS - 1))
    time.sleep(rng.uniform(0, 0.3))
    run.kill()
    epoch = _last_complete_epoch(work_dir)

    # While the next checkpoint is being written (it is padded to take a
    # while): the part file is there, nothing half-written under the final
    # name.
    before = {
        path: os.stat(path).st_mtime_ns
        for path in glob.glob(osp.join(work_dir, '.*.part'))
    }
    run = trainings(slow_checkpoints, work_dir, digits_teachers, '--resume')
    part = run.wait_for(lambda: _new_part_file(work_dir, before),
                        'a checkpoint being written')
    run.kill()
    _assert_resumed_from_log_start(run.log, epoch)
    assert osp.isfile(part)
    epoch = _last_complete_epoch(work_dir)

    resumed = trainings(FEED_2T, work_dir, digits_teachers, '--resume')
    _assert_resumed_from(resumed.finish(), epoch)
    _assert_same_training_state(work_dir, uninterrupted)


def _assert_resumed_from_log_start(log: str, epoch: int) -> None:
    if epoch:
        assert f'resumed epoch: {epoch}, iter: {epoch * ITERS}' in log
    trained = _trained(log)
    assert trained and trained[0] == (epoch + 1, 1), trained[:1]


def _checksums(work_dir: str) -> dict:
    sums = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*'))) + sorted(
            glob.glob(osp.join(work_dir, '.*'))):
        if osp.isfile(path):
            with open(path, 'rb') as f:
                sums[path] = hashlib.sha256(f.read()).hexdigest()
    return sums


def _copy_checkpoints(reference_dir: str, work_dir: str) -> None:
    os.makedirs(work_dir)
    for epoch in (EPOCHS - 1, EPOCHS):
        shutil.copy(
            osp.join(reference_dir, f'epoch_{epoch}.pth'), work_dir)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, f'epoch_{EPOCHS}.pth'))


def test_nan_loss_stops_before_the_step_and_keeps_checkpoints(
        uninterrupted, digits_teachers, tmp_path):
    work_dir = str(tmp_path / 'work')
    _copy_checkpoints(uninterrupted, work_dir)
    before = _checksums(work_dir)
    # Teacher t1 turns NaN in the second iteration of the added epoch.
    poison = _fault_config(
        str(tmp_path), 'poison',
        f"dict(type='PoisonTeacherHook', teacher='t1', "
        f'at_iter={EPOCHS * ITERS + 1})')
    result = run_tool(
        'tools/train.py', poison, '--work-dir', work_dir, '--cfg-options',
        *OPTIONS, f'train_cfg.max_epochs={EPOCHS + 1}',
        *_teacher_options(digits_teachers), '--resume',
        env=dict(PYTHONPATH=REPO))
    assert result.returncode == 1, result.stderr[-3000:]
    assert (f'NonFiniteLossError: Non-finite loss at training iteration '
            f'{EPOCHS * ITERS + 2}: distill.loss_feed_t1 = nan. Stopped '
            'before the optimizer step') in result.stderr
    assert _trained(result.stdout + result.stderr) == [(EPOCHS + 1, 1)]
    after = _checksums(work_dir)
    assert {path: after[path] for path in before} == before
    assert not [p for p in after if p.endswith(('.pth', '.part'))
                and p not in before]


def test_resume_from_a_corrupted_checkpoint_is_one_clear_error(
        uninterrupted, digits_teachers, tmp_path):
    work_dir = str(tmp_path / 'work')
    _copy_checkpoints(uninterrupted, work_dir)
    checkpoint = osp.join(work_dir, f'epoch_{EPOCHS}.pth')
    size = osp.getsize(checkpoint)
    with open(checkpoint, 'r+b') as f:
        f.truncate(size // 2)
    before = _checksums(work_dir)
    result = run_tool('tools/train.py', FEED_2T, '--work-dir', work_dir,
                      '--cfg-options', *OPTIONS,
                      f'train_cfg.max_epochs={EPOCHS + 1}',
                      *_teacher_options(digits_teachers), '--resume',
                      checkpoint)
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    errors = [
        line for line in result.stderr.splitlines()
        if line.startswith('error:')
    ]
    assert len(errors) == 1, result.stderr[-3000:]
    assert f'Checkpoint file {checkpoint} ({size // 2} bytes) is truncated' \
        in errors[0]
    after = _checksums(work_dir)
    assert {path: after[path] for path in before} == before
    assert not [p for p in after if p.endswith(('.pth', '.part'))
                and p not in before]
