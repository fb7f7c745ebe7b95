"""Atomic local writes: a file under its final name is always complete."""
import os
import os.path as osp
import stat

import pytest
from mmengine.fileio import get_file_backend, put, put_text
from mmengine.hooks import checkpoint_hook

from feed_mm.utils import atomic_open
from feed_mm.utils.atomic_io import AtomicLocalBackend, part_path


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
