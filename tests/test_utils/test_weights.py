"""Models the ecosystem names and their released weights: MMPretrain model
names and ``package::`` configs (MMRazor's ``cfg_path`` form) as teachers
and students, and checkpoints downloaded once from a
server on 127.0.0.1, checked against the hash in their released name, with
one clear error when the download cannot happen."""
import functools
import hashlib
import http.server
import os.path as osp
import threading
import types

import pytest
import torch
from mmpretrain.apis.model import ModelHub

from feed_mm.apis.cli import run_cli
from feed_mm.models.algorithms.teacher_spec import (build_model,
                                                    parse_teachers)
from feed_mm.utils import FEEDConfigError
from feed_mm.utils.weights import load_weights

SMALL = 'mobilenet-v2_8xb32_in1k'


def test_zoo_teachers_default_to_their_released_weights():
    specs = parse_teachers(dict(
        r50='resnet50_8xb32_in1k',
        swin=dict(model='swin-tiny_16xb64_in1k', ckpt='mine.pth'),
        # MMRazor's own spelling.
        r34=dict(model=dict(
            cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py',
            pretrained=True))))
    assert specs['r50'].ckpt == ModelHub.get('resnet50_8xb32_in1k').weights
    assert specs['swin'].ckpt == 'mine.pth'
    assert specs['r34'].ckpt == ModelHub.get('resnet34_8xb32_in1k').weights
    with pytest.raises(FEEDConfigError, match='model.teachers.t.ckpt'):
        parse_teachers(dict(t=dict(model=dict(
            cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py',
            pretrained=False))))
    with pytest.raises(FEEDConfigError,
                       match=r"model.teachers.t.model: 'resnet-50'.*Did "
                       r"you mean 'resnet50_"):
        parse_teachers(dict(t='resnet-50'))
    # MMEngine would pip-install the package a config path names.
    with pytest.raises(FEEDConfigError,
                       match="'mmcls', which is not installed"):
        parse_teachers(dict(t='mmcls::resnet/resnet34_8xb32_in1k.py'))


@pytest.fixture
def served(tmp_path, monkeypatch):
    """Files served over HTTP from 127.0.0.1 (``url(name)``), each request
    counted, with an empty torch hub cache."""
    root = tmp_path / 'served'
    root.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):

        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))
    yield dict(root=root, requests=requests, hub=tmp_path / 'hub',
               url=lambda name: f'http://127.0.0.1:{server.server_port}/'
               f'{name}')
    server.shutdown()


def released(model, root, name, prefix=None):
    """``model``'s weights saved under a released-style name
    ``name-<first 8 hex of sha256>.pth`` (or a wrong ``prefix``)."""
    path = root / 'tmp.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    final = root / f'{name}-{prefix or digest[:8]}.pth'
    path.rename(final)
    return final.name, digest


def test_released_weights_are_downloaded_once_verified_and_used(
        served, monkeypatch):
    source = build_model(SMALL, 'model')
    name, _ = released(source, served['root'], 'mobilenet-v2_test')
    # The model index names the served file as the model's weights.
    index = ModelHub.get(SMALL)
    monkeypatch.setattr(ModelHub, 'get', classmethod(
        lambda cls, model: types.SimpleNamespace(
            config=index.config, weights=served['url'](name))))
    from feed_mm.models import FEEDDistill
    for _ in range(2):
        algo = FEEDDistill(architecture=SMALL, teachers=dict(t0=SMALL),
                           input_shape=(3, 64, 64))
        assert torch.equal(algo.teachers['t0'].backbone.conv1.conv.weight,
                           source.backbone.conv1.conv.weight)
        # The student starts from random weights unless asked.
        assert not torch.equal(algo.student.backbone.conv1.conv.weight,
                               source.backbone.conv1.conv.weight)
    assert served['requests'] == ['/' + name]
    assert osp.isfile(served['hub'] / 'checkpoints' / name)
    student = build_model(dict(cfg_path=SMALL, pretrained=True), 'model')
    assert torch.equal(student.backbone.conv1.conv.weight,
                       source.backbone.conv1.conv.weight)
    with pytest.raises(FEEDConfigError, match='no released weights'):
        build_model(dict(cfg_path='mmpretrain::_base_/models/resnet18.py',
                         pretrained=True), 'model.architecture')


def test_a_file_that_does_not_match_its_name_is_refused(served):
    model = build_model(SMALL, 'model')
    name, digest = released(model, served['root'], 'mobilenet-v2_test',
                            prefix='00000000')
    with pytest.raises(FEEDConfigError) as info:
        load_weights(model, served['url'](name), 'model.teachers.t0.ckpt',
                     "teacher 't0'")
    assert info.value.key == 'model.teachers.t0.ckpt'
    assert '00000000' in str(info.value) and digest[:8] in str(info.value)
    # Neither under its name nor as a temporary file.
    assert list((served['hub'] / 'checkpoints').iterdir()) == []
    # A file put into the cache by hand is verified too.
    cached = served['hub'] / 'checkpoints' / name
    cached.parent.mkdir(parents=True, exist_ok=True)
    (served['root'] / name).rename(cached)
    with pytest.raises(FEEDConfigError,
                       match=f'{cached} has sha256 {digest}.*00000000'):
        load_weights(model, served['url'](name), 'model.teachers.t0.ckpt',
                     "teacher 't0'")


def test_no_network_is_one_line_naming_model_url_and_cache_path(
        served, capsys):
    url = served['url']('resnet50_8xb32_in1k_20210831-ea4938fc.pth')
    served['root'].rmdir()  # the server answers 404 from now on
    from feed_mm.models import FEEDDistill

    def build():
        FEEDDistill(architecture=SMALL, input_shape=(3, 64, 64),
                    teachers=dict(r50=dict(model='resnet50_8xb32_in1k',
                                           ckpt=url)))

    with pytest.raises(SystemExit) as exit_:
        run_cli(build)
    assert exit_.value.code == 2
    message = capsys.readouterr().err.splitlines()[0]
    cache = osp.join(served['hub'], 'checkpoints',
                     'resnet50_8xb32_in1k_20210831-ea4938fc.pth')
    for part in ('model.teachers.r50.ckpt', 'resnet50_8xb32_in1k', url,
                 cache, 'by hand'):
        assert part in message, part
    assert not osp.exists(cache)


def test_named_models_take_overrides_and_name_unknown_keys():
    """A student and a teacher by name, their configs overridden as
    mmpretrain.get_model(name, **overrides) overrides them; a key that is
    neither in the named config nor an argument of its type names
    itself."""
    from feed_mm.models import FEEDDistill
    algo = FEEDDistill(
        architecture=dict(model=SMALL, overrides=dict(
            head=dict(num_classes=7))),
        teachers=dict(t0=dict(model=SMALL, ckpt=None, overrides=dict(
            backbone=dict(widen_factor=0.5)))),
        input_shape=(3, 32, 32), allow_random_teachers=True)
    assert algo.student.head.fc.out_features == 7
    assert algo.teachers.t0.backbone.conv1.conv.out_channels == 16
    assert algo.student.backbone.conv1.conv.out_channels == 32
    with pytest.raises(FEEDConfigError,
                       match=r"model.teachers.t0.overrides.backbone."
                       r"widen_factr: is not an option of MobileNetV2.*Did "
                       r"you mean 'widen_factor'"):
        FEEDDistill(architecture=SMALL, input_shape=(3, 32, 32),
                    allow_random_teachers=True,
                    teachers=dict(t0=dict(model=SMALL, ckpt=None,
                                          overrides=dict(backbone=dict(
                                              widen_factr=0.5)))))
