"""A FEED run's teachers in its checkpoints, checked on --resume and
load_from through tools/train.py (TeacherProvenanceHook and the check
before the runner starts)."""
import os
import os.path as osp
import shutil

import pytest
import torch

from feed_mm.engine.teacher_provenance import file_fingerprint
from tests.helpers import (TINY, default_scope_kept, call_tool, snapshot_files,
                           train_in_process)

FT = 'configs/feed/ft_resnet20_resnet20_digits.py'


@pytest.fixture(scope='module')
def trained_once(digits_teachers, tmp_path_factory):
    """A 1-epoch FT run in ``feed`` from ``teacher.pth`` (a copy of the
    first digits teacher), trained once for the module."""
    root = tmp_path_factory.mktemp('provenance')
    teacher = str(root / 'teacher.pth')
    shutil.copy(osp.join(digits_teachers[0], 'epoch_1.pth'), teacher)
    with default_scope_kept():
        train_in_process(FT, str(root / 'feed'),
                         [f'model.teachers.t0.ckpt={teacher}'])
    return root


@pytest.fixture
def trained(trained_once, tmp_path):
    """A copy of the trained run for one test: ``(work_dir, teacher)``."""
    shutil.copytree(trained_once, tmp_path, dirs_exist_ok=True)
    work_dir = str(tmp_path / 'feed')
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'epoch_1.pth'))
    return work_dir, str(tmp_path / 'teacher.pth')


def _replace_teacher(teacher, digits_teachers):
    """Put the second digits teacher's checkpoint where the first was."""
    shutil.copy(osp.join(digits_teachers[1], 'epoch_1.pth'), teacher)


def _resume(work_dir, teacher, *options):
    return call_tool('tools/train.py', FT, '--work-dir', work_dir, '--resume',
                     '--cfg-options', *TINY, 'train_cfg.max_epochs=2',
                     f'model.teachers.t0.ckpt={teacher}', *options)


def _meta(checkpoint):
    return torch.load(checkpoint, map_location='cpu',
                      weights_only=False)['meta']


def test_checkpoints_record_the_teachers_and_the_config(trained):
    work_dir, teacher = trained
    meta = _meta(osp.join(work_dir, 'epoch_1.pth'))
    # Trained from the module's copy of the same teacher file.
    recorded, fingerprint = meta['feed_teachers']['t0'], file_fingerprint(
        teacher)
    assert recorded['sha256'] == fingerprint['sha256']
    assert recorded['size'] == fingerprint['size']
    assert recorded['path'].endswith('teacher.pth')
    assert meta['feed_config'] == osp.basename(FT)


def test_resume_with_a_replaced_teacher_refuses_and_touches_nothing(
        trained, digits_teachers):
    work_dir, teacher = trained
    recorded = file_fingerprint(teacher)['sha256']
    _replace_teacher(teacher, digits_teachers)
    now = file_fingerprint(teacher)['sha256']
    assert now != recorded
    before = snapshot_files(osp.dirname(work_dir))

    result = _resume(work_dir, teacher)

    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('error:')]
    assert len(errors) == 1 and 'Traceback' not in result.stderr
    for text in ("model.teachers.t0.ckpt", "teacher 't0'", teacher,
                 recorded, now,
                 "default_hooks.teacher_provenance.mismatch='warn'",
                 osp.join(work_dir, 'epoch_1.pth')):
        assert text in errors[0], text
    assert snapshot_files(osp.dirname(work_dir)) == before


def test_load_from_with_a_replaced_teacher_refuses(trained, digits_teachers,
                                                   tmp_path):
    work_dir, teacher = trained
    _replace_teacher(teacher, digits_teachers)
    result = call_tool('tools/train.py', FT, '--work-dir',
                       str(tmp_path / 'fresh'), '--cfg-options', *TINY,
                       f'model.teachers.t0.ckpt={teacher}',
                       f'load_from={osp.join(work_dir, "epoch_1.pth")}')
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'model.teachers.t0.ckpt' in result.stderr
    assert not osp.exists(tmp_path / 'fresh')


def test_the_override_continues_with_a_warning(trained, digits_teachers):
    work_dir, teacher = trained
    _replace_teacher(teacher, digits_teachers)
    result = _resume(work_dir, teacher,
                     'default_hooks.teacher_provenance.mismatch=warn')
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'resumed epoch: 1' in log
    assert 'WARNING' in log and 'trained with other teachers' in log
    # From now on the checkpoints record the teacher the run learns from.
    meta = _meta(osp.join(work_dir, 'epoch_2.pth'))
    assert meta['feed_teachers'] == dict(t0=file_fingerprint(teacher))


def test_the_same_teacher_under_another_path_resumes(trained, tmp_path):
    work_dir, teacher = trained
    moved = str(tmp_path / 'elsewhere' / 'renamed.pth')
    os.makedirs(osp.dirname(moved))
    os.rename(teacher, moved)
    result = _resume(work_dir, moved)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'resumed epoch: 1' in log
    assert 'other teachers' not in log
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))


def test_a_checkpoint_without_record_resumes_with_a_warning(trained):
    work_dir, teacher = trained
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    content = torch.load(checkpoint, map_location='cpu', weights_only=False)
    del content['meta']['feed_teachers']
    torch.save(content, checkpoint)
    result = _resume(work_dir, teacher)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'resumed epoch: 1' in log and 'no record of its teachers' in log
