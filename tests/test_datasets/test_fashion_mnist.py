"""Fashion-MNIST on the real files: splits, the class-balanced reduced
split, the prepare command, the missing-data error, and one training
iteration of the protocol's student config through the runner."""
import os
import os.path as osp
import sys

import numpy as np
import pytest

from feed_mm.datasets import CheckedFashionMNIST, prepare_fashion_mnist
from tests.helpers import train_in_process


def build(root, **kwargs):
    return CheckedFashionMNIST(data_root=root, **kwargs)


def labels_and_sources(dataset):
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return (np.array([i['gt_label'] for i in infos]),
            np.array([i['source_idx'] for i in infos]))


def test_splits_sizes_disjoint_and_balanced(fashion_mnist_root):
    train = build(fashion_mnist_root, split='train')
    val = build(fashion_mnist_root, split='val')
    test = build(fashion_mnist_root, split='test',
                 pipeline=[dict(type='mmpretrain.PackInputs')])
    assert (len(train), len(val), len(test)) == (55000, 5000, 10000)
    assert len(build(fashion_mnist_root, split='trainval')) == 60000
    val_labels, val_sources = labels_and_sources(val)
    _, train_sources = labels_and_sources(train)
    assert not set(val_sources) & set(train_sources)
    assert np.bincount(val_labels).tolist() == [500] * 10
    # The test split is the official t10k files, not the training images
    # (the parent class picks files by test_mode only).
    assert np.bincount(labels_and_sources(test)[0]).tolist() == [1000] * 10
    # One grey channel, 28x28, as the configs' models expect.
    assert tuple(test[0]['inputs'].shape) == (1, 28, 28)


def test_reduced_split_is_balanced_and_fixed_by_its_seed(
        fashion_mnist_root):
    first = build(fashion_mnist_root, num_per_class=7, subset_seed=3)
    again = build(fashion_mnist_root, num_per_class=7, subset_seed=3)
    other = build(fashion_mnist_root, num_per_class=7, subset_seed=4)
    labels, sources = labels_and_sources(first)
    assert np.bincount(labels).tolist() == [7] * 10
    assert (labels_and_sources(again)[1] == sources).all()
    assert set(labels_and_sources(other)[1]) != set(sources)
    # Drawn from 'train' only: never a validation image.
    _, val_sources = labels_and_sources(build(fashion_mnist_root,
                                              split='val'))
    assert not set(sources) & set(val_sources)
    with pytest.raises(ValueError, match='num_per_class=501.*fewer'):
        build(fashion_mnist_root, split='val', num_per_class=501)


def test_missing_data_names_path_and_command(tmp_path):
    root = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError) as err:
        build(root)
    message = str(err.value)
    assert osp.join(root, 'train-images-idx3-ubyte') in message
    assert 'python tools/data/prepare_fashion_mnist.py' in message
    with pytest.raises(ValueError, match='does not download'):
        build(root, download=True)
    with pytest.raises(ValueError, match="split must be one of.*'dev'"):
        build(root, split='dev')


def test_prepare_is_idempotent_and_repairs_a_truncated_file(
        tmp_path, fashion_mnist_root, monkeypatch):
    root = str(tmp_path / 'fmnist')
    written = prepare_fashion_mnist(root)
    assert len(written) == 4
    assert prepare_fashion_mnist(root) == []
    labels = osp.join(root, 't10k-labels-idx1-ubyte')
    with open(labels, 'r+b') as f:
        f.truncate(100)
    assert prepare_fashion_mnist(root) == [labels]
    assert os.path.getsize(labels) == 10008
    with pytest.raises(FileNotFoundError, match='archive not found'):
        prepare_fashion_mnist(str(tmp_path / 'x'), source=str(tmp_path))
    # Without the Debian package the library installs nothing: it says how.
    monkeypatch.setattr(
        sys.modules['feed_mm.datasets.prepare_fashion_mnist'], 'DEBIAN_DIR',
        str(tmp_path / 'no'))
    with pytest.raises(FileNotFoundError,
                       match='apt-get install -y dataset-fashion-mnist'):
        prepare_fashion_mnist(str(tmp_path / 'y'))


def test_student_config_trains_on_real_files(tmp_path, fashion_mnist_root):
    work_dir = train_in_process(
        'configs/students/fmnist_resnet20.py', str(tmp_path / 'run'),
        [f'train_dataloader.dataset.data_root={fashion_mnist_root}',
         f'val_dataloader.dataset.data_root={fashion_mnist_root}',
         'train_dataloader.dataset.num_per_class=2',
         'train_dataloader.batch_size=20',
         'val_dataloader.dataset.num_per_class=2'])
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('epoch_1.pth')
