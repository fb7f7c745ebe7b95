"""Atomic local writes: a file under its final name is always complete,
and a failed checkpoint save keeps the previous ones."""
import builtins
import errno
import os
import os.path as osp
import stat

import pytest
from mmengine.fileio import get_file_backend, put, put_text
from mmengine.hooks import checkpoint_hook

from feed_mm.apis import run_cli
from feed_mm.utils import AtomicWriteError, atomic_open, safe_load
from feed_mm.utils.atomic_io import AtomicLocalBackend, part_path
from tests.helpers import train_in_process


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


def test_mmengine_local_writes_go_through_it(tmp_path, monkeypatch):
    # Importing feed_mm installed the backend.
    assert isinstance(get_file_backend(str(tmp_path)), AtomicLocalBackend)
    replaced = []
    real_replace = os.replace

    def replace(src, dst):
        replaced.append((osp.basename(src), osp.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, 'replace', replace)
    put(b'weights', str(tmp_path / 'sub' / 'epoch_3.pth'))
    put_text('hello', str(tmp_path / 'note.txt'))
    assert (tmp_path / 'sub' / 'epoch_3.pth').read_bytes() == b'weights'
    assert (tmp_path / 'note.txt').read_text() == 'hello'
    # CheckpointHook writes its pointer with a plain open() in its module.
    with checkpoint_hook.open(str(tmp_path / 'last_checkpoint'), 'w') as f:
        f.write('epoch_3.pth')
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_3.pth'
    assert replaced == [('.epoch_3.pth.part', 'epoch_3.pth'),
                        ('.note.txt.part', 'note.txt'),
                        ('.last_checkpoint.part', 'last_checkpoint')]


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
        put(b'new weights', str(path))
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
