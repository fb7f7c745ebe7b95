"""Safe checkpoint loading: MMEngine checkpoints load under weights_only,
code-running pickles are refused, broken files are named."""
import os
import os.path as osp

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader, load_checkpoint

import feed_mm  # noqa: F401 - installs the loader
from feed_mm.utils.checkpoint import (TRUSTED_ENV, CorruptCheckpointError,
                                      UnsafeCheckpointError, safe_load,
                                      trust_checkpoint)


class _RunsCode:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class _HarmlessCustom(dict):
    """A type outside the allow-list whose unpickling is harmless."""


@pytest.fixture
def runner_checkpoint(digits_teachers):
    return osp.join(digits_teachers[0], 'epoch_1.pth')


def test_runner_checkpoint_loads_without_env_flag(runner_checkpoint):
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ
    from mmengine.logging import HistoryBuffer
    checkpoint = CheckpointLoader.load_checkpoint(runner_checkpoint)
    buffers = checkpoint['message_hub']['log_scalars']
    assert isinstance(next(iter(buffers.values())), HistoryBuffer)
    # A plain torch.load under today's default refuses the same file.
    if 'safe_globals' in dir(torch.serialization):
        with pytest.raises(Exception):
            torch.load(runner_checkpoint)


def test_runner_checkpoint_loads_into_model_and_resumes(
        runner_checkpoint, tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    from tests.helpers import REPO, train_in_process
    cfg = Config.fromfile(osp.join(REPO, 'configs/teachers/'
                                   'digits_resnet20_s0.py'))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    load_checkpoint(model, runner_checkpoint, strict=True)
    saved = torch.load(runner_checkpoint, weights_only=False)['state_dict']
    assert torch.equal(model.state_dict()['head.fc.weight'],
                       saved['head.fc.weight'])

    work_dir = str(tmp_path / 'resumed')
    train_in_process('configs/teachers/digits_resnet20_s0.py', work_dir, [
        'train_cfg.max_epochs=2', f'load_from={runner_checkpoint}',
        'resume=True'
    ])
    resumed = torch.load(osp.join(work_dir, 'epoch_2.pth'), weights_only=False)
    assert resumed['meta']['epoch'] == 2
    assert not osp.exists(osp.join(work_dir, 'epoch_1.pth'))


def test_code_running_pickle_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / 'MARKER'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _RunsCode(marker)}, path)
    for load in (safe_load, CheckpointLoader.load_checkpoint,
                 lambda f: load_checkpoint(torch.nn.Linear(1, 1), f)):
        with pytest.raises(UnsafeCheckpointError) as info:
            load(str(path))
        message = str(info.value)
        assert 'evil.pth' in message and 'system' in message
        assert TRUSTED_ENV in message
    assert not marker.exists()


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    from mmengine.logging import HistoryBuffer

    class ReachesInit:

        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'getattr.pth'
    torch.save({'x': ReachesInit()}, path)
    with pytest.raises(UnsafeCheckpointError, match='getattr'):
        safe_load(str(path))


def test_trusted_file_loads_by_function_and_env(tmp_path, monkeypatch):
    path = tmp_path / 'custom.pth'
    torch.save({'payload': _HarmlessCustom(a=1)}, path)
    with pytest.raises(UnsafeCheckpointError, match='_HarmlessCustom'):
        safe_load(str(path))
    monkeypatch.setenv(TRUSTED_ENV, str(tmp_path))
    assert safe_load(str(path))['payload'] == {'a': 1}
    monkeypatch.delenv(TRUSTED_ENV)
    other = tmp_path / 'sub'
    other.mkdir()
    moved = other / 'custom.pth'
    path.rename(moved)
    trust_checkpoint(str(moved))
    assert isinstance(safe_load(str(moved))['payload'], _HarmlessCustom)


def test_broken_files_are_named(runner_checkpoint, tmp_path):
    data = open(runner_checkpoint, 'rb').read()
    cases = {
        'truncated.pth': data[:len(data) // 2],
        'garbage.pth': os.urandom(4096),
        'empty.pth': b'',
        'text.pth': b'not a checkpoint\n',
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(CorruptCheckpointError, match=name):
            CheckpointLoader.load_checkpoint(str(path))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        safe_load(str(tmp_path / 'missing.pth'))
