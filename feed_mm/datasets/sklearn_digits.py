from typing import List, Optional

import cv2
import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

DIGITS_CLASSES = tuple(str(i) for i in range(10))


def _split_indices(num_samples: int, split: str, test_every: int) -> np.ndarray:
    """The fixed split: every ``test_every``-th sample (0, 5, 10, ...) is a
    test sample. The bundled digits are interleaved by writer, not sorted by
    class, so this is close to stratified and needs no random state."""
    is_test = np.arange(num_samples) % test_every == 0
    if split == 'train':
        return np.flatnonzero(~is_test)
    if split == 'test':
        return np.flatnonzero(is_test)
    return np.arange(num_samples)


@DATASETS.register_module()
class SklearnDigits(BaseDataset):
    """scikit-learn's bundled handwritten digits as an image classification
    data set, the real data that ships with a package and needs no download.

    The 1,797 8x8 grey images (values 0..16) are scaled to 0..255, resized
    to ``img_size`` with bilinear interpolation and repeated over 3 channels,
    so the usual mmpretrain pipelines and CIFAR-style models apply. The split
    is fixed: sample ``i`` (in scikit-learn's order) is a test sample when
    ``i % test_every == 0``; with the default that gives 1,437 training and
    360 test images.

    Args:
        split (str): ``'train'``, ``'test'`` or ``'all'``. Defaults to
            ``'train'``.
        img_size (int): Side of the square output images. Defaults to 32.
        num_per_class (int, optional): Keep only the first ``num_per_class``
            images of each class of the split (in scikit-learn's order), to
            make a harder, smaller task. Defaults to None (keep all).
        test_every (int): Every ``test_every``-th sample belongs to the test
            split. Defaults to 5.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``indices``, ...).
    """

    METAINFO = {'classes': DIGITS_CLASSES}

    def __init__(self,
                 split: str = 'train',
                 img_size: int = 32,
                 num_per_class: Optional[int] = None,
                 test_every: int = 5,
                 **kwargs) -> None:
        if split not in ('train', 'test', 'all'):
            raise ValueError(f"SklearnDigits: split must be 'train', 'test' "
                             f"or 'all', got {split!r}")
        if num_per_class is not None and num_per_class < 1:
            raise ValueError('SklearnDigits: num_per_class must be >= 1, got '
                             f'{num_per_class}')
        if test_every < 2:
            raise ValueError('SklearnDigits: test_every must be >= 2, got '
                             f'{test_every}')
        indices = kwargs.get('indices')
        # MMEngine fails on an empty selection with a bare "need at least
        # one array to concatenate" while serialising it.
        if indices is not None and (indices < 1 if isinstance(indices, int)
                                    else len(indices) == 0):
            raise ValueError(f'SklearnDigits: indices={indices!r} selects no '
                             f'sample of the {split!r} split')
        self.split = split
        self.img_size = img_size
        self.num_per_class = num_per_class
        self.test_every = test_every
        kwargs.setdefault('ann_file', '')
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        # Imported here so that importing feed_mm does not pay for sklearn.
        from sklearn.datasets import load_digits

        digits = load_digits()
        indices = _split_indices(len(digits.target), self.split,
                                 self.test_every)
        if self.num_per_class is not None:
            taken = {label: 0 for label in range(len(DIGITS_CLASSES))}
            kept = []
            for idx in indices:
                label = int(digits.target[idx])
                if taken[label] < self.num_per_class:
                    taken[label] += 1
                    kept.append(idx)
            indices = np.asarray(kept, dtype=np.int64)

        data_list = []
        for idx in indices:
            grey = (digits.images[idx] * (255.0 / 16.0)).astype(np.float32)
            grey = cv2.resize(
                grey, (self.img_size, self.img_size),
                interpolation=cv2.INTER_LINEAR)
            img = np.repeat(
                np.clip(grey, 0, 255).round().astype(np.uint8)[..., None],
                3,
                axis=2)
            data_list.append(
                dict(img=img, gt_label=int(digits.target[idx]),
                     source_idx=int(idx)))
        return data_list

    def extra_repr(self) -> List[str]:
        return [
            f'Split: \t{self.split}', f'Image size: \t{self.img_size}',
            f'Images per class: \t{self.num_per_class or "all"}'
        ]
