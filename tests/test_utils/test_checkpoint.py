"""Safe checkpoint loading: checkpoints MMEngine's runner writes load and
resume under ``weights_only``, code-running pickles are refused, trusted
files opt out, broken files are named."""
import collections
import logging
import os
import pickle
import random
import re
import shutil
import types

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader
from torch.utils.data import Dataset

from feed_mm.utils import checkpoint as ckpt
from feed_mm.utils.checkpoint import (MMENGINE_SAFE_GLOBALS, TRUSTED_ENV,
                                      CorruptCheckpointError,
                                      UnsafeCheckpointError,
                                      install_safe_checkpoint_loader,
                                      safe_load, trust_checkpoint)

FORCE_ENV = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'
ITERS_PER_EPOCH = 4


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.fc(inputs).squeeze(-1)
        if mode == 'loss':
            return {'loss': ((out - labels)**2).mean()}
        return out


class _ToyDataset(Dataset):
    # Saved as meta['dataset_meta'], as mmpretrain datasets' classes are.
    metainfo = dict(classes=('even', 'odd'))

    def __len__(self):
        return 2 * ITERS_PER_EPOCH

    def __getitem__(self, index):
        return dict(
            inputs=torch.tensor([index / len(self), 1.0]),
            labels=torch.tensor(float(index % 2)))


class _MetricInfoHook(Hook):
    """Stores a numpy float32 in the message hub, as a metric computed in
    numpy does for ``best_score``."""

    def after_train_epoch(self, runner):
        runner.message_hub.update_info('best_score', np.float32(0.75))


class _StartHook(Hook):
    """Records where training starts, after loading or resuming."""

    def before_train(self, runner):
        self.start = (runner.epoch, runner.iter)
        self.weight = runner.model.fc.weight.detach().clone()
        self.lr = runner.optim_wrapper.get_lr()['lr'][0]


def _runner(work_dir, name, max_epochs=1, **kwargs):
    return Runner(
        model=_ToyModel(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=dict(
            dataset=_ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=2,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        # Steps within the first epoch, so a resumed run starts from the
        # decayed lr while a fresh one would start from 0.1.
        param_scheduler=dict(
            type='MultiStepLR', milestones=[2], gamma=0.1, by_epoch=False),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0),
        **kwargs)


@pytest.fixture(scope='module', autouse=True)
def _safe_loader():
    install_safe_checkpoint_loader()


@pytest.fixture(scope='module')
def runner_checkpoint(tmp_path_factory):
    """A checkpoint of one epoch, written by MMEngine's runner."""
    work_dir = tmp_path_factory.mktemp('toy_run')
    _runner(work_dir, 'feed_ckpt_train',
            custom_hooks=[_MetricInfoHook()]).train()
    return str(work_dir / 'epoch_1.pth')


@pytest.fixture
def saved(runner_checkpoint):
    # The test wrote this file itself, so it may read it unrestricted.
    return torch.load(runner_checkpoint, weights_only=False)


@pytest.fixture(autouse=True)
def _nothing_trusted(monkeypatch):
    """Nothing is trusted unless a test says so: an outer
    FEED_MM_TRUSTED_CHECKPOINTS must not let the payloads below run."""
    monkeypatch.setattr(ckpt, '_trusted_paths', set())
    monkeypatch.delenv(TRUSTED_ENV, raising=False)


class _RunsCode:

    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg, ))


class _ReachesAttribute:

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return (getattr, (self.owner, self.name))


class _HarmlessDict(collections.OrderedDict):
    """Outside the allow-list, but unpickling it runs nothing harmful."""


def _code_running_payload(kind, marker):
    """A pickle that would create ``marker``, and the global it needs."""
    if kind == 'os.system':
        return (_RunsCode(os.system, f'touch {marker}'),
                f'{os.system.__module__}.system')
    # builtins is not on torch's own module blocklist (os, posix, sys): only
    # the allow-list stops this one.
    return _RunsCode(exec, f'open({str(marker)!r}, "w")'), 'builtins.exec'


def test_allow_list_is_explicit(runner_checkpoint):
    entries = [e[0] if isinstance(e, tuple) else e
               for e in MMENGINE_SAFE_GLOBALS]
    assert not any(isinstance(e, types.ModuleType) for e in entries)
    assert getattr not in entries
    # Everything a runner checkpoint needs is covered.
    with torch.serialization.safe_globals(MMENGINE_SAFE_GLOBALS):
        assert torch.serialization.get_unsafe_globals_in_checkpoint(
            runner_checkpoint) == []


def test_runner_checkpoint_loads_into_fresh_model(runner_checkpoint, saved):
    assert FORCE_ENV not in os.environ
    # torch's default (weights_only=True, no allow-list) refuses the file:
    # loading it below really needs the safe loader.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(runner_checkpoint)

    model = _ToyModel()
    checkpoint = load_checkpoint(model, runner_checkpoint, strict=True)
    assert torch.equal(model.fc.weight, saved['state_dict']['fc.weight'])
    assert checkpoint['meta']['epoch'] == 1
    assert checkpoint['meta']['iter'] == ITERS_PER_EPOCH
    assert checkpoint['meta']['dataset_meta'] == _ToyDataset.metainfo
    hub = checkpoint['message_hub']
    loss = hub['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert loss.mean() == pytest.approx(
        saved['message_hub']['log_scalars']['train/loss'].mean())
    assert isinstance(hub['runtime_info']['best_score'], np.float32)


def test_runner_resumes_from_checkpoint(runner_checkpoint, saved, tmp_path):
    assert FORCE_ENV not in os.environ
    start = _StartHook()
    runner = _runner(
        tmp_path,
        'feed_ckpt_resume',
        max_epochs=2,
        load_from=runner_checkpoint,
        resume=True,
        custom_hooks=[start])
    runner.train()

    assert start.start == (1, ITERS_PER_EPOCH)
    assert torch.equal(start.weight, saved['state_dict']['fc.weight'])
    # The optimizer and MultiStepLR resumed past the milestone.
    assert start.lr == pytest.approx(0.01)
    assert (runner.epoch, runner.iter) == (2, 2 * ITERS_PER_EPOCH)
    resumed = torch.load(tmp_path / 'epoch_2.pth', weights_only=False)
    assert resumed['meta']['epoch'] == 2
    assert not (tmp_path / 'epoch_1.pth').exists()


def test_runner_load_from_loads_weights_only(runner_checkpoint, saved,
                                             tmp_path):
    runner = _runner(tmp_path, 'feed_ckpt_load', load_from=runner_checkpoint)
    runner.load_or_resume()
    assert torch.equal(runner.model.fc.weight,
                       saved['state_dict']['fc.weight'])
    assert (runner.epoch, runner.iter) == (0, 0)


@pytest.mark.parametrize('kind', ['os.system', 'exec'])
def test_code_running_pickle_is_refused(kind, tmp_path):
    marker = tmp_path / 'MARKER'
    payload, offending = _code_running_payload(kind, marker)
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': payload}, path)
    loads = {
        'safe_load': safe_load,
        'CheckpointLoader': CheckpointLoader.load_checkpoint,
        'load_checkpoint': lambda f: load_checkpoint(nn.Linear(1, 1), f),
    }
    for how, load in loads.items():
        with pytest.raises(UnsafeCheckpointError) as info:
            load(str(path))
        message = str(info.value)
        assert str(path) in message, how
        assert offending in message, how
        assert TRUSTED_ENV in message and 'trust_checkpoint' in message
        assert not marker.exists(), how


def test_getattr_reaches_only_history_buffer_statistics(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'init': _ReachesAttribute(HistoryBuffer, '__init__')}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_load(str(path))
    assert "builtins.getattr(HistoryBuffer, '__init__')" in str(info.value)


def test_history_buffer_statistics_cannot_be_replaced(tmp_path):
    crafted = HistoryBuffer([1.0, 3.0], [1, 1])
    # __getstate__ pickles the table an instance sees; __setstate__ writes it
    # into the class-level table every logger uses.
    crafted._statistics_methods = {'mean': HistoryBuffer.max}
    path = tmp_path / 'statistics.pth'
    torch.save({'buffer': crafted}, path)
    with pytest.raises(UnsafeCheckpointError, match='mean'):
        safe_load(str(path))
    assert HistoryBuffer._statistics_methods['mean'] is HistoryBuffer.mean
    assert HistoryBuffer([1.0, 3.0], [1, 1]).statistics('mean') == 2.0


def test_trusted_file_loads(tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(
        ckpt, 'print_log',
        lambda msg, logger=None, level=None: warnings.append((msg, level)))
    trusted_dir = tmp_path / 'trusted'
    trusted_dir.mkdir()
    path = trusted_dir / 'custom.pth'
    torch.save({'payload': _HarmlessDict(a=1)}, path)
    with pytest.raises(UnsafeCheckpointError, match='_HarmlessDict'):
        safe_load(str(path))

    # A directory in the variable trusts the files under it, not a sibling
    # whose name merely starts the same.
    sibling = tmp_path / 'trusted2'
    sibling.mkdir()
    shutil.copy(path, sibling / 'custom.pth')
    monkeypatch.setenv(TRUSTED_ENV,
                       os.pathsep.join([str(tmp_path / 'other'),
                                        str(trusted_dir)]))
    loaded = CheckpointLoader.load_checkpoint(str(path))
    assert isinstance(loaded['payload'], _HarmlessDict)
    assert loaded['payload'] == {'a': 1}
    assert warnings and warnings[-1][1] == logging.WARNING
    assert str(path) in warnings[-1][0]
    with pytest.raises(UnsafeCheckpointError):
        safe_load(str(sibling / 'custom.pth'))

    monkeypatch.setenv(TRUSTED_ENV, str(path))
    assert isinstance(safe_load(str(path))['payload'], _HarmlessDict)

    monkeypatch.delenv(TRUSTED_ENV)
    with pytest.raises(UnsafeCheckpointError):
        safe_load(str(path))
    trust_checkpoint(str(path))
    assert isinstance(safe_load(str(path))['payload'], _HarmlessDict)


def _broken_files(runner_checkpoint):
    with open(runner_checkpoint, 'rb') as f:
        data = f.read()
    return {
        'truncated.pth': data[:len(data) // 2],
        'garbage.pth': random.Random(0).randbytes(4096),
        'empty.pth': b'',
        'text.pth': b'not a checkpoint\n',
    }


def test_broken_files_are_named(runner_checkpoint, tmp_path):
    for name, content in _broken_files(runner_checkpoint).items():
        path = tmp_path / name
        path.write_bytes(content)
        for load in (safe_load, CheckpointLoader.load_checkpoint):
            with pytest.raises(CorruptCheckpointError,
                               match=re.escape(str(path))) as info:
                load(str(path))
            assert isinstance(info.value, RuntimeError)
            assert f'({len(content)} bytes)' in str(info.value)
    with pytest.raises(CorruptCheckpointError, match='the file is empty'):
        safe_load(str(tmp_path / 'empty.pth'))


def test_broken_trusted_file_is_named(runner_checkpoint, tmp_path):
    trust_checkpoint(str(tmp_path))
    for name, content in _broken_files(runner_checkpoint).items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(CorruptCheckpointError, match=re.escape(name)):
            safe_load(str(path))


def test_missing_file(tmp_path):
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match=re.escape(missing)):
        safe_load(missing)
    with pytest.raises(FileNotFoundError, match=re.escape(missing)):
        load_checkpoint(nn.Linear(1, 1), missing)


def test_http_checkpoint_is_downloaded_then_loaded_safely(
        runner_checkpoint, saved, tmp_path, monkeypatch):
    marker = tmp_path / 'MARKER'
    evil = tmp_path / 'evil.pth'
    torch.save({'meta': _code_running_payload('exec', marker)[0]}, evil)
    served = {
        'https://example.com/models/epoch_1.pth': runner_checkpoint,
        'http://example.com/models/evil.pth': str(evil),
    }
    downloads = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        downloads.append(url)
        shutil.copy(served[url], dst)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', fake_download)
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    url = 'https://example.com/models/epoch_1.pth'
    for _ in range(2):
        checkpoint = CheckpointLoader.load_checkpoint(url)
        assert torch.equal(checkpoint['state_dict']['fc.weight'],
                           saved['state_dict']['fc.weight'])
    assert downloads == [url]
    assert (tmp_path / 'hub' / 'checkpoints' / 'epoch_1.pth').is_file()

    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        CheckpointLoader.load_checkpoint('http://example.com/models/evil.pth')
    assert not marker.exists()


def test_install_is_idempotent():
    install_safe_checkpoint_loader()
    schemes = dict(CheckpointLoader._schemes)
    install_safe_checkpoint_loader()
    assert dict(CheckpointLoader._schemes) == schemes
    for path in ('/work/epoch_1.pth', 'epoch_1.pth'):
        assert CheckpointLoader._get_checkpoint_loader(
            path) is ckpt.load_from_local_safe
    for url in ('http://host/epoch_1.pth', 'https://host/epoch_1.pth'):
        assert CheckpointLoader._get_checkpoint_loader(
            url) is ckpt.load_from_http_safe
    assert FORCE_ENV not in os.environ
