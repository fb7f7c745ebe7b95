"""Teacher fingerprints: hashed once, compared by content, required
checkpoints (feed_mm/engine/teacher_provenance.py and the ``ckpt`` rule of
teacher_spec.py)."""
import hashlib
import logging
import os
import shutil

import pytest
import torch

from feed_mm.engine import TeacherProvenanceHook
import feed_mm.utils.checkpoint as checkpoint_module
from feed_mm.engine import teacher_provenance as provenance
from feed_mm.engine.teacher_provenance import (TeacherMismatchError,
                                               check_teacher_record,
                                               file_fingerprint, file_sha256,
                                               teacher_fingerprints)
from feed_mm.utils import FEEDConfigError
from feed_mm.utils.checkpoint import http_cache_path
from tests.test_models.feed_fixtures import (assert_config_error,
                                             build_classifier, build_feed,
                                             classifier, save_checkpoint)


@pytest.fixture
def teacher_file(tmp_path):
    return save_checkpoint(build_classifier(classifier(16)),
                           tmp_path / 'teacher.pth')


def test_sha256_is_the_files_and_computed_once(teacher_file, monkeypatch):
    with open(teacher_file, 'rb') as f:
        expected = hashlib.sha256(f.read()).hexdigest()
    assert file_sha256(teacher_file) == expected
    # A second call must not read the file again.
    monkeypatch.setattr(checkpoint_module, 'open', lambda *a, **k: 1 / 0,
                        raising=False)
    assert file_sha256(teacher_file) == expected
    fingerprint = file_fingerprint(teacher_file)
    assert fingerprint == dict(path=os.path.abspath(teacher_file),
                               size=os.path.getsize(teacher_file),
                               sha256=expected)


def test_a_changed_file_is_hashed_again(tmp_path):
    path = tmp_path / 'file.bin'
    path.write_bytes(b'a' * 10)
    first = file_sha256(str(path))
    path.write_bytes(b'b' * 11)
    assert file_sha256(str(path)) == hashlib.sha256(b'b' * 11).hexdigest()
    assert first != file_sha256(str(path))


def test_the_model_records_its_teachers(teacher_file):
    algo = build_feed(teachers=dict(
        t0=dict(model=classifier(16), ckpt=teacher_file),
        t1=dict(model=classifier(4), ckpt=None)))
    assert teacher_fingerprints(algo.teacher_ckpts) == dict(
        t0=file_fingerprint(teacher_file), t1=None)


@pytest.mark.parametrize('teachers', [
    dict(t0=dict(model=classifier(16))),
    [dict(model=classifier(16))],
])
def test_a_teacher_without_ckpt_is_refused(teachers):
    error = assert_config_error('model.teachers.t0.ckpt', teachers=teachers)
    assert 'is required' in str(error)
    assert 'allow_random_teachers' in str(error)


def test_random_teachers_only_with_the_option():
    teachers = dict(t0=dict(model=classifier(16), ckpt=None))
    assert_config_error('model.teachers.t0.ckpt', teachers=teachers,
                        allow_random_teachers=False)
    algo = build_feed(teachers=teachers, allow_random_teachers=True)
    assert teacher_fingerprints(algo.teacher_ckpts) == dict(t0=None)
    assert_config_error('model.allow_random_teachers', teachers=teachers,
                        allow_random_teachers='yes')
    with pytest.raises(FEEDConfigError,
                       match='default_hooks.teacher_provenance.mismatch'):
        TeacherProvenanceHook(mismatch='ignore')


def _record(path):
    return dict(t0=file_fingerprint(str(path)))


def test_another_file_is_one_error_naming_both(tmp_path, teacher_file):
    other = save_checkpoint(build_classifier(classifier(16)),
                            tmp_path / 'other.pth')
    recorded, configured = _record(teacher_file), _record(other)
    with pytest.raises(TeacherMismatchError) as info:
        check_teacher_record(recorded, configured, 'error', 'epoch_2.pth')
    error = info.value
    assert isinstance(error, FEEDConfigError)
    assert error.key == 'model.teachers.t0.ckpt'
    for text in (teacher_file, other, recorded['t0']['sha256'],
                 configured['t0']['sha256'], 'epoch_2.pth',
                 "default_hooks.teacher_provenance.mismatch='warn'"):
        assert text in str(error), text


def _logged(monkeypatch):
    """The messages the provenance module logs, with their levels."""
    logged = []
    monkeypatch.setattr(provenance, 'print_log',
                        lambda msg, logger, level: logged.append((level, msg)))
    return logged


def test_warn_mode_names_the_teachers_and_goes_on(tmp_path, teacher_file,
                                                  monkeypatch):
    other = save_checkpoint(build_classifier(classifier(16)),
                            tmp_path / 'other.pth')
    logged = _logged(monkeypatch)
    names = check_teacher_record(_record(teacher_file), _record(other),
                                 'warn')
    assert names == ['t0']
    [(level, message)] = logged
    assert level == logging.WARNING and 'other teachers' in message
    assert other in message and teacher_file in message


def test_same_content_elsewhere_passes(tmp_path, teacher_file):
    moved = shutil.copy(teacher_file, tmp_path / 'moved.pth')
    assert check_teacher_record(_record(teacher_file), _record(moved)) == []


def test_a_teacher_on_one_side_only_differs(teacher_file):
    recorded = _record(teacher_file)
    with pytest.raises(TeacherMismatchError, match="'t1'"):
        check_teacher_record(recorded, dict(recorded, t1=None))
    with pytest.raises(TeacherMismatchError, match='random initialisation'):
        check_teacher_record(recorded, dict(t0=None))


def test_a_checkpoint_without_record_only_warns(teacher_file, monkeypatch):
    logged = _logged(monkeypatch)
    assert check_teacher_record(None, _record(teacher_file)) == []
    [(level, message)] = logged
    assert level == logging.WARNING and 'no record of its teachers' in message


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """An empty torch hub cache for URL teachers."""
    hub = tmp_path / 'hub'
    monkeypatch.setattr(torch.hub, '_hub_dir', str(hub))
    return hub


def test_a_url_teacher_not_downloaded_is_compared_by_its_address(hub_dir):
    url = 'https://example.org/teacher.pth'
    recorded = teacher_fingerprints(dict(t0=url))
    assert recorded == dict(t0=dict(path=url, size=None, sha256=None))
    assert check_teacher_record(recorded, recorded) == []
    other = dict(t0=dict(path=url + '?v=2', size=None, sha256=None))
    with pytest.raises(TeacherMismatchError, match='not hashed'):
        check_teacher_record(recorded, other)


def test_a_downloaded_url_teacher_is_compared_by_content(hub_dir,
                                                         teacher_file):
    url = 'https://example.org/models/teacher.pth'
    specs = dict(t0=url)
    cached = http_cache_path(url)
    assert cached == str(hub_dir / 'checkpoints' / 'teacher.pth')
    os.makedirs(os.path.dirname(cached))
    shutil.copy(teacher_file, cached)  # what the loader's download leaves
    recorded = teacher_fingerprints(specs)
    assert recorded['t0']['path'] == url
    assert recorded['t0']['sha256'] == file_sha256(teacher_file)
    assert recorded['t0']['size'] == os.path.getsize(teacher_file)
    assert check_teacher_record(recorded, teacher_fingerprints(specs)) == []

    # Other content behind the same URL (a fresh download elsewhere).
    with open(cached, 'ab') as f:
        f.write(b'other weights')
    with pytest.raises(TeacherMismatchError) as err:
        check_teacher_record(recorded, teacher_fingerprints(specs))
    assert err.value.key == 'model.teachers.t0.ckpt'
    assert recorded['t0']['sha256'] in str(err.value)
    assert file_sha256(cached) in str(err.value)
