"""feed_mm as a user installs it: a non-editable install (``pip install
.``), used from a project directory outside the repository. Its configs,
tools and committed teachers travel inside the package (``feed_mm/.mim``);
``feed_mm::`` and ``mmpretrain::`` config paths resolve there through
MMEngine's own lookup, and a FEED config whose student and teachers are
MMPretrain zoo configs trains through the installed ``tools/train.py``."""
import http.server
import os
import os.path as osp
import re
import subprocess
import sys
import threading

import pytest

from tests.helpers import REPO, TINY

GUIDE_FEED = 'feed_mm::guide/pfeed_zoo_resnet18_2xresnet18_digits.py'
TINY_ZOO = [
    'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=16',
    'train_dataloader.batch_size=16', 'val_dataloader.dataset.indices=16',
    'test_dataloader.dataset.indices=16'
]


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """feed_mm built as a wheel and installed into a directory of its own;
    the environment that imports it from there, and a project directory
    outside the repository."""
    root = tmp_path_factory.mktemp('installed')
    site = root / 'site'
    result = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
         '--target', str(site), REPO],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    project = root / 'project'
    project.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site))
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    return dict(site=site, project=project, env=env,
                tools=site / 'feed_mm' / '.mim' / 'tools')


def _run(installed, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *map(str, args)],
                          cwd=installed['project'], env=installed['env'],
                          capture_output=True, text=True, timeout=timeout)


def test_installed_package_carries_its_configs_and_tools(installed):
    probe = ('import feed_mm, os.path as osp\n'
             'from feed_mm.utils.configs import config_root\n'
             'from mmengine.hub import get_config\n'
             'print(osp.realpath(feed_mm.__file__))\n'
             'print(osp.realpath(config_root()))\n'
             "print(get_config('mmpretrain::resnet/resnet18_8xb16_cifar10.py')"
             '.model.backbone.type)\n')
    result = _run(installed, '-c', probe)
    assert result.returncode == 0, result.stderr[-3000:]
    package, configs, backbone = result.stdout.split()
    site = osp.realpath(installed['site'])
    assert package == osp.join(site, 'feed_mm', '__init__.py')
    assert configs == osp.join(site, 'feed_mm', '.mim', 'configs')
    assert backbone == 'ResNet_CIFAR'
    for tool in ('train.py', 'test.py', 'demo.py', 'zoo.py', 'sfeed.py'):
        assert (installed['tools'] / tool).is_file(), tool


def test_user_config_inherits_feed_mm_bases_and_trains(installed):
    """The inherited config learns from the committed teachers the package
    ships beside it (named relative to the config), from the user's
    project directory."""
    user = installed['project'] / 'my_pfeed.py'
    user.write_text(
        "_base_ = ['feed_mm::feed/pfeed_resnet20_2xresnet20_digits.py']\n")
    work_dir = installed['project'] / 'work_dirs' / 'my_pfeed'
    result = _run(installed, installed['tools'] / 'train.py', user.name,
                  '--cfg-options', *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    # Relative work dirs are the user's, not the package's.
    assert (work_dir / 'epoch_1.pth').is_file()
    log = result.stdout + result.stderr
    assert 'distill.loss_feed_t0' in log and 'distill.loss_feed_t1' in log


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args) -> None:
        pass


def test_zoo_student_and_teachers_by_cfg_path_train(installed, tmp_path):
    """The guide's config: student and two teachers are MMPretrain's CIFAR
    ResNet-18 zoo config; one teacher from a work dir, one from a URL."""
    teacher = _run(installed, installed['tools'] / 'train.py',
                   'feed_mm::guide/resnet18_digits_s0.py', '--work-dir',
                   'teacher', '--no-validate', '--cfg-options', *TINY_ZOO)
    assert teacher.returncode == 0, teacher.stderr[-3000:]
    teacher_dir = installed['project'] / 'teacher'
    served = tmp_path / 'served'
    served.mkdir()
    (served / 'teacher_s0.pth').write_bytes(
        (teacher_dir / 'epoch_1.pth').read_bytes())
    handler = lambda *args: _QuietHandler(*args, directory=str(served))  # noqa: E731
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f'http://127.0.0.1:{server.server_address[1]}/teacher_s0.pth'
    env_hub = dict(TORCH_HOME=str(tmp_path / 'torch_home'))
    try:
        result = subprocess.run(
            [sys.executable, str(installed['tools'] / 'train.py'), GUIDE_FEED,
             '--work-dir', 'feed', '--cfg-options', *TINY_ZOO,
             f'model.teachers.t0.ckpt={teacher_dir}',
             f'model.teachers.t1.ckpt={url}'],
            cwd=installed['project'], env=dict(installed['env'], **env_hub),
            capture_output=True, text=True, timeout=600)
    finally:
        server.shutdown()
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'distill.loss_feed_t0' in log and 'distill.loss_feed_t1' in log
    # The URL's file was downloaded once into the hub cache, and both
    # teachers hold the same trained weights: their accuracies agree.
    downloaded = list((tmp_path / 'torch_home').rglob('teacher_s0.pth'))
    assert [f.read_bytes() for f in downloaded] == [
        (teacher_dir / 'epoch_1.pth').read_bytes()]
    accuracies = re.search(
        r'teacher\.t0\.accuracy/top1: ([\d.]+)\s+'
        r'teacher\.t1\.accuracy/top1: ([\d.]+)', log)
    assert accuracies, log[-3000:]
    assert accuracies.group(1) == accuracies.group(2)
    assert (installed['project'] / 'feed' / 'epoch_1.pth').is_file()
