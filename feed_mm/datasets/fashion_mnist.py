"""Fashion-MNIST through MMPretrain's own ``FashionMNIST`` reader, with a
validation split carved from the training images and class-balanced
reduced training splits.

MMPretrain's class reads the four decompressed IDX files from ``data_root``
(and would download them when missing); the subclass here checks the files
first and names the prepare command, maps ``split`` to the right files (the
parent picks them by ``test_mode`` alone, so ``split='test'`` would silently
load the training images), and selects samples by fixed, seeded index sets.
"""
from typing import List, Optional

import numpy as np
from mmengine import fileio
from mmpretrain.datasets import FashionMNIST
from mmpretrain.registry import DATASETS

PREPARE_COMMAND = 'python tools/data/prepare_fashion_mnist.py'
FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
         't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')
SPLITS = ('train', 'val', 'trainval', 'test')


def balanced_subset(labels: np.ndarray, per_class: int,
                    seed: int) -> np.ndarray:
    """Indices of ``per_class`` samples of every class, drawn without
    replacement by a generator seeded with ``seed``, in ascending order.

    Raises:
        ValueError: When a class has fewer than ``per_class`` samples.
    """
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < per_class:
            raise ValueError(
                f'class {int(label)} has {len(members)} samples, fewer than '
                f'the {per_class} asked for')
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


@DATASETS.register_module()
class CheckedFashionMNIST(FashionMNIST):
    """Fashion-MNIST (60,000 training and 10,000 test 28x28 grey images of
    clothing, 10 classes) with a held-out validation split.

    The validation split is ``val_per_class`` images of each class of the
    official training split, drawn once with ``split_seed``; ``'train'`` is
    the rest, ``'trainval'`` all 60,000, ``'test'`` the official 10,000.
    ``num_per_class`` then keeps a class-balanced random subset of the
    chosen split (drawn with ``subset_seed``), the reduced training split of
    the CPU protocol. Both draws are fixed by their seeds, independent of the
    run's seed, so every run of a protocol sees the same images.

    Images stay 28x28 single-channel uint8 arrays (``img`` of shape
    (28, 28)); the configs' models take one input channel.

    Args:
        data_root (str): Folder with the decompressed IDX files
            (``train-images-idx3-ubyte``, ...). Defaults to
            ``'data/fashion_mnist'``; ``tools/data/prepare_fashion_mnist.py``
            puts them there from the Debian package ``dataset-fashion-mnist``.
        split (str): ``'train'``, ``'val'``, ``'trainval'`` or ``'test'``.
            Defaults to ``'train'``.
        val_per_class (int): Validation images per class taken from the
            official training split. Defaults to 500 (5,000 in all).
        split_seed (int): Seed of the validation draw. Defaults to 0.
        num_per_class (int, optional): Keep this many images per class of
            the split. Defaults to None (all).
        subset_seed (int): Seed of the ``num_per_class`` draw. Defaults to 0.
        **kwargs: Passed to :class:`mmpretrain.datasets.FashionMNIST`
            (``pipeline``, ``indices``, ...); ``download`` must stay False.
    """

    def __init__(self,
                 data_root: str = 'data/fashion_mnist',
                 split: str = 'train',
                 val_per_class: int = 500,
                 split_seed: int = 0,
                 num_per_class: Optional[int] = None,
                 subset_seed: int = 0,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'CheckedFashionMNIST: split must be one of '
                             f'{", ".join(SPLITS)}; got {split!r}')
        if not isinstance(val_per_class, int) or not \
                0 <= val_per_class < 6000:
            raise ValueError('CheckedFashionMNIST: val_per_class must be an '
                             f'int in 0..5999, got {val_per_class!r}')
        if split == 'val' and val_per_class == 0:
            raise ValueError("CheckedFashionMNIST: split='val' needs "
                             'val_per_class >= 1')
        if num_per_class is not None and (not isinstance(num_per_class, int)
                                          or num_per_class < 1):
            raise ValueError('CheckedFashionMNIST: num_per_class must be an '
                             f'int >= 1, got {num_per_class!r}')
        if kwargs.pop('download', False):
            raise ValueError(
                'CheckedFashionMNIST does not download; run '
                f'`{PREPARE_COMMAND}` to put the files in {data_root}')
        self.check_files(data_root)
        self.val_per_class = val_per_class
        self.split_seed = split_seed
        self.num_per_class = num_per_class
        self.subset_seed = subset_seed
        # The parent's __init__ sets `split` to its own train/test value and
        # loads the data; the selection below needs the requested one.
        self.feed_split = split
        # The parent reads the test files exactly when test_mode is set.
        kwargs['test_mode'] = split == 'test'
        # The parent's check of `split` only knows train/test.
        super().__init__(
            data_root=data_root,
            split='test' if split == 'test' else 'train',
            download=False,
            **kwargs)
        self.split = split

    @staticmethod
    def check_files(data_root: str) -> None:
        """Raise :class:`FileNotFoundError` naming the first missing IDX
        file and the command that prepares them."""
        for name in FILES:
            path = fileio.join_path(data_root, name) if data_root else name
            if not fileio.isfile(path):
                raise FileNotFoundError(
                    f'Fashion-MNIST file not found: {path}. Run '
                    f'`{PREPARE_COMMAND}` (installs the Debian package '
                    'dataset-fashion-mnist if needed and decompresses it '
                    f'into {data_root or "."}), or set data_root to the '
                    'folder holding the decompressed IDX files')

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        labels = np.array([int(info['gt_label']) for info in data_list])
        positions = np.arange(len(data_list))
        split = self.feed_split
        if split in ('train', 'val') and self.val_per_class:
            val = balanced_subset(labels, self.val_per_class, self.split_seed)
            held_out = np.zeros(len(data_list), dtype=bool)
            held_out[val] = True
            positions = val if split == 'val' else np.flatnonzero(~held_out)
        if self.num_per_class is not None:
            try:
                positions = positions[balanced_subset(
                    labels[positions], self.num_per_class, self.subset_seed)]
            except ValueError as err:
                raise ValueError(
                    f'CheckedFashionMNIST split {split!r}: '
                    f'num_per_class={self.num_per_class}: {err}') from None
        return [
            dict(data_list[i], gt_label=int(labels[i]), source_idx=int(i))
            for i in positions
        ]

    def extra_repr(self) -> List[str]:
        return super().extra_repr() + [
            f'Split: \t{self.split}',
            f'Images per class: \t{self.num_per_class or "all"}'
        ]
