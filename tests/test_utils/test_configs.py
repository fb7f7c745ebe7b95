"""Config paths from anywhere: feed_mm's own configs by relative path,
``package::`` paths, the ``feed_mm::`` scope in a user's project, and the
committed teachers its configs point at."""
import os.path as osp

import pytest

import feed_mm  # noqa: F401 - registers the feed_mm:: scope
from feed_mm.utils import resolve_config
from tests.helpers import REPO

TEACHER = 'configs/teachers/digits_resnet20_s0.py'
MMPRETRAIN_CFG = 'mmpretrain::resnet/resnet18_8xb16_cifar10.py'


def test_resolve_config_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = osp.realpath(osp.join(REPO, TEACHER))
    assert osp.realpath(resolve_config(TEACHER)) == expected
    assert osp.realpath(resolve_config(TEACHER[len('configs/'):])) == \
        expected
    (tmp_path / 'mine.py').write_text('x = 1\n')
    assert resolve_config('mine.py') == 'mine.py'  # the cwd's file first
    with pytest.raises(FileNotFoundError,
                       match=r'config file not found: teachers/nope\.py'):
        resolve_config('teachers/nope.py')


def test_mmpretrain_package_paths_resolve_and_load():
    from mmengine.config import Config
    from mmengine.hub import get_config
    path = resolve_config(MMPRETRAIN_CFG)
    assert osp.isfile(path) and path.endswith('resnet18_8xb16_cifar10.py')
    cfg = get_config(MMPRETRAIN_CFG)
    assert cfg.model.type == 'ImageClassifier'
    assert Config.fromfile(path).model.backbone.depth == 18


def test_user_project_inherits_feed_mm_bases(tmp_path, monkeypatch):
    from mmengine.config import Config
    monkeypatch.chdir(tmp_path)
    user = tmp_path / 'my_feed.py'
    user.write_text(
        "_base_ = ['feed_mm::feed/_base_/feed_recipe.py',\n"
        "          'feed_mm::_base_/datasets/sklearn_digits.py']\n"
        "student = dict(cfg_path='feed_mm::teachers/digits_resnet20_s0.py')\n")
    cfg = Config.fromfile(str(user))
    assert cfg.feed_model.type == 'FEEDDistill'
    assert cfg.train_dataloader.dataset.type.endswith('SklearnDigits')
    with pytest.raises(FileNotFoundError, match='feed_mm::nope/x.py'):
        resolve_config('feed_mm::nope/x.py')


def test_mmengine_builds_feed_mm_configs_by_path():
    """MMEngine's own hub builds a feed_mm:: model in feed_mm's registry
    scope, as MMRazor's ``cfg_path`` does."""
    from mmengine.hub import get_model
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = get_model('feed_mm::teachers/digits_resnet20_s0.py')
    assert type(model).__name__ == 'ImageClassifier'
    assert type(model.backbone).__name__ == 'CifarResNet'


def test_demo_lists_its_runs_from_another_directory(tmp_path, monkeypatch,
                                                    capsys):
    from feed_mm.zoo.cli import main
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '')
    main(['--list'], description='the demo',
         protocol='configs/zoo/digits_demo.py', work_dir='work_dirs/demo')
    out = capsys.readouterr().out
    assert 'teacher_t0' in out and 'pfeed3_seed0' in out
    assert 'work_dirs/demo/teachers/t0' in out
