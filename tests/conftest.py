import os.path as osp

import pytest

from tests.helpers import REPO, train_in_process


@pytest.fixture(scope='session')
def fashion_mnist_root():
    """The real Fashion-MNIST files, decompressed once into the
    repository's data/fashion_mnist (the configs' data_root) from the Debian
    package (tools/run_tests.sh installs it; the tests never install
    anything)."""
    from feed_mm.datasets import prepare_fashion_mnist
    root = osp.join(REPO, 'data', 'fashion_mnist')
    prepare_fashion_mnist(root)
    return root


@pytest.fixture(scope='session')
def digits_teachers(tmp_path_factory):
    """Two ResNet-20 teachers trained by the runner (tiny schedule)."""
    root = tmp_path_factory.mktemp('teachers')
    return [
        train_in_process(f'configs/teachers/digits_resnet20_s{seed}.py',
                         str(root / f's{seed}')) for seed in (0, 1)
    ]
