"""Atomic local writes: a file under its final name is always complete,
and a failed checkpoint save keeps the previous ones."""
import builtins
import errno
import os
import os.path as osp
import stat

import pytest
from mmengine.fileio import (FileClient, HardDiskBackend, LocalBackend,
                             get_file_backend, put, put_text)
from mmengine.hooks import CheckpointHook, checkpoint_hook
from mmengine.registry import HOOKS

from feed_mm.apis import run_cli
from feed_mm.utils import (ATOMIC_LOCAL_BACKEND, AtomicWriteError,
                           atomic_open, safe_load)
from feed_mm.utils.atomic_io import AtomicLocalBackend, part_path
from tests.helpers import train_in_process

ATOMIC = dict(backend=ATOMIC_LOCAL_BACKEND)


def test_part_file_sits_beside_the_target(tmp_path):
    assert part_path(tmp_path / 'epoch_1.pth') == str(
        tmp_path / '.epoch_1.pth.part')


def test_new_content_replaces_the_old_at_once(tmp_path):
    path = tmp_path / 'ckpt.pth'
    path.write_bytes(b'old')
    os.chmod(path, 0o640)
    with atomic_open(path) as f:
        f.write(b'new')
        # Until the block ends, the final name holds the old file.
        assert path.read_bytes() == b'old'
    assert path.read_bytes() == b'new'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert not osp.exists(part_path(path))


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / 'last_checkpoint'
    path.write_text('epoch_1.pth')
    with pytest.raises(RuntimeError, match='disk full'):
        with atomic_open(path, 'w') as f:
            f.write('epoch_2')
            raise RuntimeError('disk full')
    assert path.read_text() == 'epoch_1.pth'
    assert not osp.exists(part_path(path))


def test_a_symlink_is_written_through(tmp_path):
    target = tmp_path / 'real.txt'
    target.write_text('a')
    link = tmp_path / 'link.txt'
    link.symlink_to(target)
    with atomic_open(link, 'w') as f:
        f.write('b')
    assert link.is_symlink() and target.read_text() == 'b'


def test_only_whole_file_modes(tmp_path):
    with pytest.raises(ValueError, match="'ab'"):
        with atomic_open(tmp_path / 'x', 'ab'):
            pass


def _record_renames(monkeypatch) -> list:
    """The (source, target) names of every ``os.replace`` from now on."""
    replaced = []
    real_replace = os.replace

    def replace(src, dst):
        replaced.append((osp.basename(src), osp.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, 'replace', replace)
    return replaced


def test_the_atomic_backend_writes_through_it(tmp_path, monkeypatch):
    assert isinstance(get_file_backend(backend_args=ATOMIC),
                      AtomicLocalBackend)
    replaced = _record_renames(monkeypatch)
    put(b'weights', str(tmp_path / 'sub' / 'epoch_3.pth'),
        backend_args=ATOMIC)
    put_text('hello', str(tmp_path / 'note.txt'), backend_args=ATOMIC)
    assert (tmp_path / 'sub' / 'epoch_3.pth').read_bytes() == b'weights'
    assert (tmp_path / 'note.txt').read_text() == 'hello'
    assert replaced == [('.epoch_3.pth.part', 'epoch_3.pth'),
                        ('.note.txt.part', 'note.txt')]


def test_training_writes_checkpoint_and_pointer_through_it(
        tmp_path, monkeypatch):
    """The configs' checkpoint hook saves through atomic_open."""
    replaced = _record_renames(monkeypatch)
    work_dir = str(tmp_path / 'run')
    train_in_process('configs/teachers/digits_resnet20_s0.py', work_dir)
    parts = [names for names in replaced if names[0].endswith('.part')]
    assert parts == [('.epoch_1.pth.part', 'epoch_1.pth'),
                     ('.last_checkpoint.part', 'last_checkpoint')]
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work_dir, 'epoch_1.pth')


def test_importing_feed_mm_leaves_mmengine_as_it_is(tmp_path):
    import feed_mm  # noqa: F401
    assert type(get_file_backend(str(tmp_path))) is LocalBackend
    assert type(get_file_backend(backend_args=dict(
        backend='local'))) is LocalBackend
    assert type(FileClient.infer_client(uri=str(tmp_path)).client) is \
        HardDiskBackend
    assert HOOKS.module_dict['CheckpointHook'] is CheckpointHook
    save = CheckpointHook._save_checkpoint_with_step
    assert save.__module__ == checkpoint_hook.__name__
    assert not hasattr(save, '__wrapped__')
    assert 'open' not in vars(checkpoint_hook)


class _FullDisk:
    """A file whose first write stores half of its data, then fails as a
    full disk does."""

    def __init__(self, f):
        self._f = f

    def write(self, data):
        self._f.write(data[:len(data) // 2])
        self._f.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def _disk_full_for(monkeypatch, name):
    """Writes of the part file of ``name`` fail half-way."""
    real_open = builtins.open

    def fake_open(file, mode='r', *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        if osp.basename(str(file)) == f'.{name}.part':
            return _FullDisk(f)
        return f

    monkeypatch.setattr(builtins, 'open', fake_open)


def test_a_write_error_names_the_file_and_keeps_it(tmp_path, monkeypatch):
    path = tmp_path / 'epoch_2.pth'
    path.write_bytes(b'previous')
    _disk_full_for(monkeypatch, 'epoch_2.pth')
    with pytest.raises(AtomicWriteError) as info:
        put(b'new weights', str(path), backend_args=ATOMIC)
    assert info.value.errno == errno.ENOSPC
    assert str(path) in str(info.value)
    assert os.strerror(errno.ENOSPC) in str(info.value)
    assert path.read_bytes() == b'previous'
    assert not osp.exists(part_path(path))


def test_a_failed_checkpoint_save_keeps_the_previous_one(tmp_path,
                                                         monkeypatch):
    """Through the runner: epoch 2's save fails half-way with one
    checkpoint kept (MMEngine would remove epoch 1 before writing epoch
    2); epoch 1 stays loadable and last_checkpoint names it."""
    config = 'configs/teachers/digits_resnet20_s0.py'
    work_dir = str(tmp_path / 'run')
    keep_one = ['default_hooks.checkpoint.max_keep_ckpts=1']
    train_in_process(config, work_dir, keep_one)
    first = osp.join(work_dir, 'epoch_1.pth')
    pointer = osp.join(work_dir, 'last_checkpoint')
    with open(pointer) as f:
        assert f.read() == first

    _disk_full_for(monkeypatch, 'epoch_2.pth')
    with pytest.raises(AtomicWriteError) as info:
        train_in_process(config, work_dir,
                         keep_one + ['train_cfg.max_epochs=2', 'resume=True'])
    assert osp.join(work_dir, 'epoch_2.pth') in str(info.value)
    assert os.strerror(errno.ENOSPC) in str(info.value)
    monkeypatch.undo()
    assert sorted(n for n in os.listdir(work_dir) if n.endswith('.pth')) == [
        'epoch_1.pth'
    ]
    assert not any(n.endswith('.part') for n in os.listdir(work_dir))
    with open(pointer) as f:
        assert f.read() == first
    assert safe_load(first)['meta']['epoch'] == 1


def test_the_tools_report_a_failed_write_in_one_line(capsys):

    def main():
        raise AtomicWriteError('/runs/epoch_2.pth',
                               OSError(errno.ENOSPC, 'No space left'))

    with pytest.raises(SystemExit) as info:
        run_cli(main)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('error: could not write /runs/epoch_2.pth: '
                          'No space left;')
    assert 'Traceback' not in err
