"""Safe checkpoint loading: checkpoints MMEngine's runner writes load and
resume under torch's default ``weights_only`` with feed_mm's entries in
torch's allow-list (MMEngine's loader untouched), code-running pickles are
refused, trusted files opt out of feed_mm's loaders, broken files are named,
downloads are verified and never half-written."""
import collections
import contextlib
import http.client
import io
import logging
import os
import pickle
import random
import re
import shutil
import socket
import types
import urllib.request
import zipfile

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader
from torch.utils.data import Dataset

from feed_mm.utils import checkpoint as ckpt
from feed_mm.utils.checkpoint import (MMENGINE_SAFE_GLOBALS, TRUSTED_ENV,
                                      CorruptCheckpointError, DownloadError,
                                      UnsafeCheckpointError,
                                      allow_mmengine_checkpoints,
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


@contextlib.contextmanager
def _allow_list_cleared():
    """torch's allow-list without any added entry, restored afterwards."""
    saved = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        yield
    finally:
        torch.serialization.add_safe_globals(saved)


def test_allow_list_is_explicit(runner_checkpoint):
    entries = [e[0] if isinstance(e, tuple) else e
               for e in MMENGINE_SAFE_GLOBALS]
    assert not any(isinstance(e, types.ModuleType) for e in entries)
    # Both names are bound to restricted stand-ins, never the real ones.
    assert getattr not in entries and HistoryBuffer not in entries
    # Everything a runner checkpoint needs is in torch's allow-list, as
    # `import feed_mm` left it.
    assert torch.serialization.get_unsafe_globals_in_checkpoint(
        runner_checkpoint) == []


def test_import_leaves_mmengine_checkpoint_loader_alone():
    loaders = CheckpointLoader._schemes
    assert {loader.__module__ for loader in loaders.values()} == {
        'mmengine.runner.checkpoint'}
    assert loaders[''] is mmengine_checkpoint.load_from_local
    for prefix in ('http://', 'https://'):
        assert loaders[prefix] is mmengine_checkpoint.load_from_http


def test_allowing_twice_leaves_torch_allow_list_the_same():
    before = set(torch.serialization.get_safe_globals())
    assert set(MMENGINE_SAFE_GLOBALS) <= before  # added by `import feed_mm`
    allow_mmengine_checkpoints()
    allow_mmengine_checkpoints()
    assert set(torch.serialization.get_safe_globals()) == before
    assert FORCE_ENV not in os.environ


def test_runner_checkpoint_loads_into_fresh_model(runner_checkpoint, saved):
    assert FORCE_ENV not in os.environ
    # torch's default (weights_only=True) refuses the file without feed_mm's
    # entries: loading it below really needs them.
    with _allow_list_cleared(), pytest.raises(pickle.UnpicklingError):
        torch.load(runner_checkpoint)

    model = _ToyModel()
    checkpoint = load_checkpoint(model, runner_checkpoint, strict=True)
    assert torch.equal(model.fc.weight, saved['state_dict']['fc.weight'])
    assert checkpoint['meta']['epoch'] == 1
    assert checkpoint['meta']['iter'] == ITERS_PER_EPOCH
    assert checkpoint['meta']['dataset_meta'] == _ToyDataset.metainfo
    hub = checkpoint['message_hub']
    loss = hub['log_scalars']['train/loss']
    assert type(loss) is HistoryBuffer  # MMEngine's class, not a stand-in
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
    # Unpickled without the allow-list, a buffer saved as feed_mm's
    # stand-in would come back as that class.
    for buffer in resumed['message_hub']['log_scalars'].values():
        assert type(buffer) is HistoryBuffer
    assert not (tmp_path / 'epoch_1.pth').exists()


def test_runner_load_from_loads_weights_only(runner_checkpoint, saved,
                                             tmp_path):
    runner = _runner(tmp_path, 'feed_ckpt_load', load_from=runner_checkpoint)
    runner.load_or_resume()
    assert torch.equal(runner.model.fc.weight,
                       saved['state_dict']['fc.weight'])
    assert (runner.epoch, runner.iter) == (0, 0)


def _save_code_running_checkpoint(kind, tmp_path):
    marker = tmp_path / 'MARKER'
    payload, offending = _code_running_payload(kind, marker)
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': payload}, path)
    return str(path), marker, offending


@pytest.mark.parametrize('kind', ['os.system', 'exec'])
def test_code_running_pickle_is_refused_by_feed_mm_loaders(kind, tmp_path):
    path, marker, offending = _save_code_running_checkpoint(kind, tmp_path)
    for load in (safe_load, ckpt.load_checkpoint):
        with pytest.raises(UnsafeCheckpointError) as info:
            load(path)
        message = str(info.value)
        assert path in message and offending in message, load
        assert TRUSTED_ENV in message and 'trust_checkpoint' in message
        assert not marker.exists(), load


@pytest.mark.parametrize('kind', ['os.system', 'exec'])
def test_code_running_pickle_is_refused_by_mmengine_loaders(kind, tmp_path):
    path, marker, _ = _save_code_running_checkpoint(kind, tmp_path)
    loads = {
        'CheckpointLoader': CheckpointLoader.load_checkpoint,
        'load_checkpoint': lambda f: load_checkpoint(nn.Linear(1, 1), f),
        'resume': lambda f: _runner(
            tmp_path / 'run', f'feed_ckpt_evil_{kind}', load_from=f,
            resume=True).load_or_resume(),
    }
    for how, load in loads.items():
        # torch's own refusal: MMEngine's loader is not feed_mm's.
        with pytest.raises(pickle.UnpicklingError):
            load(path)
        assert not marker.exists(), how


def test_getattr_reaches_only_history_buffer_statistics(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'init': _ReachesAttribute(HistoryBuffer, '__init__')}, path)
    for load in (safe_load, CheckpointLoader.load_checkpoint):
        with pytest.raises(UnsafeCheckpointError) as info:
            load(str(path))
        assert "builtins.getattr(HistoryBuffer, '__init__')" in str(
            info.value)


def _save_replaced_statistics(path, table):
    """A buffer whose pickle replaces ``mean`` by ``max``: in the table
    HistoryBuffer's __setstate__ writes into the class-level one every
    logger uses, or in an instance-level table shadowing it."""
    buffer = HistoryBuffer([1.0, 3.0], [1, 1])
    if table == 'instance':
        state = dict(buffer.__dict__,
                     _statistics_methods={'mean': HistoryBuffer.max})
        buffer.__getstate__ = lambda: state
        torch.save({'buffer': buffer}, path)
        return
    methods = HistoryBuffer._statistics_methods
    methods['mean'] = HistoryBuffer.max
    try:
        torch.save({'buffer': buffer}, path)
    finally:
        methods['mean'] = HistoryBuffer.mean


@pytest.mark.parametrize('table', ['class', 'instance'])
def test_history_buffer_statistics_cannot_be_replaced(table, tmp_path):
    path = str(tmp_path / 'statistics.pth')
    _save_replaced_statistics(path, table)
    # MMEngine's loader has no hook after a load: the check must happen
    # while unpickling.
    for load in (safe_load, CheckpointLoader.load_checkpoint):
        with pytest.raises(UnsafeCheckpointError, match='mean'):
            load(path)
        assert HistoryBuffer._statistics_methods['mean'] is \
            HistoryBuffer.mean
        assert HistoryBuffer([1.0, 3.0], [1, 1]).statistics('mean') == 2.0


def test_other_numpy_dtypes_are_refused_by_name(tmp_path):
    path = tmp_path / 'float16.pth'
    torch.save({'best_score': np.float16(0.5)}, path)
    with pytest.raises(UnsafeCheckpointError, match='float16') as info:
        safe_load(str(path))
    assert str(path) in str(info.value)


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
    loaded = ckpt.load_checkpoint(str(path))
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
    """``name -> (content, what the error says)``."""
    with open(runner_checkpoint, 'rb') as f:
        data = f.read()
    # The first byte of the pickle flipped: it no longer unpickles, and the
    # archive's checksum tells why.
    with zipfile.ZipFile(runner_checkpoint) as archive:
        pickled = archive.read(next(name for name in archive.namelist()
                                    if name.endswith('/data.pkl')))
    flipped = bytearray(data)
    flipped[data.index(pickled)] ^= 0x01
    return {
        'truncated.pth': (data[:len(data) // 2], 'truncated'),
        'flipped.pth': (bytes(flipped), 'data.pkl in its zip archive fails '
                        'its CRC check'),
        'garbage.pth': (random.Random(0).randbytes(4096),
                        "neither a zip archive nor torch's legacy format"),
        'empty.pth': (b'', 'the file is empty'),
        'text.pth': (b'not a checkpoint\n',
                     "neither a zip archive nor torch's legacy format"),
    }


def test_broken_files_are_named(runner_checkpoint, tmp_path):
    for name, (content, reason) in _broken_files(runner_checkpoint).items():
        path = tmp_path / name
        path.write_bytes(content)
        for load in (safe_load, ckpt.load_checkpoint):
            with pytest.raises(CorruptCheckpointError,
                               match=re.escape(str(path))) as info:
                load(str(path))
            assert isinstance(info.value, RuntimeError)
            assert f'({len(content)} bytes)' in str(info.value)
            assert reason in str(info.value), name


def test_broken_trusted_file_is_named(runner_checkpoint, tmp_path):
    trust_checkpoint(str(tmp_path))
    for name, (content, _) in _broken_files(runner_checkpoint).items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(CorruptCheckpointError, match=re.escape(name)):
            safe_load(str(path))


def test_malformed_pickle_in_intact_archive_is_named(runner_checkpoint,
                                                     tmp_path):
    path = tmp_path / 'malformed.pth'
    with zipfile.ZipFile(runner_checkpoint) as source, \
            zipfile.ZipFile(path, 'w') as target:
        for name in source.namelist():
            content = source.read(name)
            if name.endswith('/data.pkl'):
                content = b'\x80\x02\xff' + content[3:]  # no such opcode
            target.writestr(name, content)
    with pytest.raises(CorruptCheckpointError,
                       match='its pickle .* is malformed'):
        safe_load(str(path))


class _MapLocationError(Exception):
    pass


def test_errors_not_about_the_file_pass_through(runner_checkpoint):

    def map_location(storage, location):
        raise _MapLocationError(location)

    with pytest.raises(_MapLocationError):
        safe_load(runner_checkpoint, map_location)


def test_missing_file(tmp_path):
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match=re.escape(missing)):
        safe_load(missing)
    with pytest.raises(FileNotFoundError, match=re.escape(missing)):
        load_checkpoint(nn.Linear(1, 1), missing)


@pytest.fixture
def fake_server(tmp_path, monkeypatch):
    """``urllib.request.urlopen`` answering ``routes[url]`` (a file to
    serve, or a callable returning the response), every request recorded
    with its timeout and the process-wide socket timeout it ran under; an
    empty torch hub cache."""
    routes, requests = {}, []

    def urlopen(request, timeout=None):
        url = getattr(request, 'full_url', request)
        requests.append((url, timeout, socket.getdefaulttimeout()))
        route = routes[url]
        return route() if callable(route) else open(route, 'rb')

    monkeypatch.setattr(urllib.request, 'urlopen', urlopen)
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))
    return dict(routes=routes, requests=requests,
                cache=tmp_path / 'hub' / 'checkpoints')


def test_http_checkpoint_is_downloaded_once_then_loaded_safely(
        runner_checkpoint, saved, tmp_path, fake_server):
    marker = tmp_path / 'MARKER'
    evil = tmp_path / 'evil.pth'
    torch.save({'meta': _code_running_payload('exec', marker)[0]}, evil)
    url = 'https://example.com/models/epoch_1.pth'
    fake_server['routes'].update({
        url: runner_checkpoint,
        'http://example.com/models/evil.pth': str(evil),
    })
    default_timeout = socket.getdefaulttimeout()
    for _ in range(2):
        checkpoint = ckpt.load_checkpoint(url)
        assert torch.equal(checkpoint['state_dict']['fc.weight'],
                           saved['state_dict']['fc.weight'])
    # Downloaded once, with a timeout of its own; the process-wide one
    # untouched.
    assert fake_server['requests'] == [
        (url, ckpt.DOWNLOAD_TIMEOUT, default_timeout)]
    assert socket.getdefaulttimeout() == default_timeout
    assert os.listdir(fake_server['cache']) == ['epoch_1.pth']

    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        ckpt.load_checkpoint('http://example.com/models/evil.pth')
    assert not marker.exists()


class _BrokenResponse(io.BytesIO):
    """A response whose connection breaks after the first chunk; what the
    cache directory holds at that moment is recorded in ``seen``."""

    def __init__(self, error, cache, seen):
        super().__init__(b'x' * 100)
        self.error, self.cache, self.seen = error, cache, seen

    def read(self, size=-1):
        if self.tell():
            self.seen.append(sorted(os.listdir(self.cache)))
            raise self.error
        return super().read(10)


@pytest.mark.parametrize('error', [
    ConnectionResetError('connection reset by peer'),
    http.client.IncompleteRead(b'x' * 10, 90)
])
def test_broken_download_leaves_nothing(error, fake_server):
    url = 'https://example.com/models/epoch_1.pth'
    cache, seen = fake_server['cache'], []
    fake_server['routes'][url] = lambda: _BrokenResponse(error, cache, seen)
    with pytest.raises(DownloadError) as info:
        ckpt.load_checkpoint(url)
    assert url in str(info.value) and str(cache / 'epoch_1.pth') in str(
        info.value)
    assert 'by hand' in str(info.value)
    # While it was written, the download was not under the final name (a
    # process killed then leaves no half-written checkpoint there) ...
    assert len(seen) == 1 and len(seen[0]) == 1
    assert seen[0][0].startswith('epoch_1.pth.')
    assert seen[0][0].endswith('.partial')
    # ... and once it failed, nothing is left.
    assert os.listdir(cache) == []
