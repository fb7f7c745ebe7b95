"""CIFAR-100 and ImageNet data sets that say what is missing, and where to
put it, before loading anything.

mmpretrain's ``CIFAR100`` checks md5 sums and downloads when its files are
absent (which fails without internet, with a message about the download),
and its ``ImageNet`` fails deep in a directory listing when the folders are
absent. The classes here check the expected files first and raise a
:class:`FileNotFoundError` naming the missing path; past the check they are
mmpretrain's classes unchanged.
"""
from typing import List, Optional, Sequence, Union

from mmengine import fileio
from mmpretrain.datasets import CIFAR100, ImageNet
from mmpretrain.registry import DATASETS

CIFAR100_URL = 'https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz'
IMAGENET_URL = 'https://image-net.org/download.php'


def _join(root: str, *parts: str) -> str:
    """Join path parts, skipping empty ones (``data_root`` may be '')."""
    parts = tuple(p for p in parts if p)
    if not root:
        root, parts = parts[0], parts[1:]
    return fileio.join_path(root, *parts) if parts else root


def _first_missing(paths: Sequence[str], folders: Sequence[str] = ()
                   ) -> Optional[str]:
    """The first path of ``paths`` that is not a file, or of ``folders``
    that is not a directory; None when all are there."""
    for path in paths:
        if not fileio.isfile(path):
            return path
    for path in folders:
        if not fileio.isdir(path):
            return path
    return None


@DATASETS.register_module()
class CheckedCIFAR100(CIFAR100):
    """mmpretrain's CIFAR-100 that first checks its files are in place.

    Expects the python version of CIFAR-100 extracted under ``data_root``
    (and ``data_prefix``), i.e. ``cifar-100-python/{train,test,meta}``. When
    one is missing and ``download`` is False, raises a
    :class:`FileNotFoundError` that names it and says where to put the data.
    With ``download=True`` mmpretrain downloads the archive instead, which
    needs internet access.

    Args:
        data_root (str): Root of the data set, e.g. ``'data/cifar100'``.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        download (bool): Let mmpretrain download and extract the archive
            when files are missing (needs internet access). Defaults to
            False.
        data_prefix (str): Sub-folder of ``data_root`` that holds
            ``cifar-100-python``. Defaults to ''.
        **kwargs: Passed to :class:`mmpretrain.datasets.CIFAR100`
            (``pipeline``, ``metainfo``, ``test_mode``, ``indices``, ...).
    """

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 download: bool = False,
                 data_prefix: str = '',
                 **kwargs) -> None:
        if not download:
            self.check_files(data_root, data_prefix)
        super().__init__(
            data_root=data_root,
            split=split,
            download=download,
            data_prefix=data_prefix,
            **kwargs)

    @classmethod
    def check_files(cls, data_root: str, data_prefix: str = '') -> None:
        """Raise :class:`FileNotFoundError` unless ``train``, ``test`` and
        ``meta`` of ``cifar-100-python`` are under the root.

        Args:
            data_root (str): Root of the data set.
            data_prefix (str): Sub-folder of ``data_root``. Defaults to ''.
        """
        if not data_root and not data_prefix:
            raise FileNotFoundError(
                'CheckedCIFAR100: data_root is empty; set it to the folder '
                'that holds cifar-100-python/ (e.g. data/cifar100)')
        root = _join(data_root, data_prefix)
        folder = _join(root, cls.base_folder)
        names = [name for name, _ in cls.train_list + cls.test_list]
        names.append(cls.meta['filename'])
        missing = _first_missing([_join(folder, name) for name in names])
        if missing is not None:
            raise FileNotFoundError(
                f'CIFAR-100 not found: {missing} does not exist. Download '
                f'the CIFAR-100 python version ({CIFAR100_URL}) and extract '
                f'it so that {_join(folder, "train")} exists (with test and '
                f'meta beside it), or set data_root to where it is. '
                '`download=True` fetches it instead, but needs internet '
                'access.')


@DATASETS.register_module()
class CheckedImageNet(ImageNet):
    """mmpretrain's ImageNet that first checks its folders are in place.

    Expects ``data_root`` to hold the split's image folder (``train/``,
    ``val/`` or ``test/``, or ``data_prefix``) and, when ``ann_file`` is
    given, that annotation file (e.g. ``meta/train.txt``). Without
    ``ann_file`` mmpretrain uses ``meta/<split>.txt`` when it exists and
    otherwise one sub-folder per class. A missing path raises a
    :class:`FileNotFoundError` that names it and says where to put the data.

    Args:
        data_root (str): Root of the data set, e.g. ``'data/imagenet'``.
        split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to ''
            (then ``data_prefix`` names the image folder).
        data_prefix (str | dict): Image folder relative to ``data_root``
            (a str, or a dict with ``img_path``). Defaults to the split.
        ann_file (str): Annotation file relative to ``data_root``, e.g.
            ``'meta/train.txt'``. Defaults to '' (see above).
        **kwargs: Passed to :class:`mmpretrain.datasets.ImageNet`
            (``pipeline``, ``metainfo``, ``indices``, ...).
    """

    def __init__(self,
                 data_root: str = '',
                 split: str = '',
                 data_prefix: Union[str, dict] = '',
                 ann_file: str = '',
                 **kwargs) -> None:
        self.check_files(data_root, split, data_prefix, ann_file)
        super().__init__(
            data_root=data_root,
            split=split,
            data_prefix=data_prefix,
            ann_file=ann_file,
            **kwargs)

    @staticmethod
    def check_files(data_root: str,
                    split: str = '',
                    data_prefix: Union[str, dict] = '',
                    ann_file: str = '') -> None:
        """Raise :class:`FileNotFoundError` unless ``data_root``, the image
        folder and the annotation file (when given) exist.

        Args:
            data_root (str): Root of the data set.
            split (str): ``'train'``, ``'val'`` or ``'test'``, or ''.
            data_prefix (str | dict): Image folder relative to the root.
            ann_file (str): Annotation file relative to the root, or ''.
        """
        if isinstance(data_prefix, dict):
            data_prefix = data_prefix.get('img_path', '')
        image_dir = data_prefix or split
        folders: List[str] = [data_root] if data_root else []
        if image_dir:
            folders.append(_join(data_root, image_dir))
        files = [_join(data_root, ann_file)] if ann_file else []
        if not folders:
            raise FileNotFoundError(
                'CheckedImageNet: neither data_root nor split/data_prefix is '
                'set; set data_root to the ImageNet folder (e.g. '
                'data/imagenet) and split to train or val')
        missing = _first_missing([], folders) or _first_missing(files)
        if missing is not None:
            needed = ', '.join([f'{path}/' for path in folders[1:] or folders]
                               + files)
            raise FileNotFoundError(
                f'ImageNet not found: {missing} does not exist. Download '
                f'ILSVRC-2012 ({IMAGENET_URL}, after registration) and '
                f'extract it so that these exist: {needed} (train/ and val/ '
                'image folders with one sub-folder per class, or flat ones '
                'with meta/train.txt and meta/val.txt lists), or set '
                'data_root to where it is.')
