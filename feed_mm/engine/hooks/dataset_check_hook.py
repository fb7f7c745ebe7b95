import time
from typing import Any, Optional

import numpy as np
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from feed_mm.utils import DatasetCheckError


def _first_conv(model: nn.Module) -> Optional[nn.Conv2d]:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module
    return None


def _labels(dataset: Any) -> Optional[np.ndarray]:
    """One integer label per sample, or None where the data set has none
    to check (unlabelled, multi-label)."""
    if hasattr(dataset, 'get_gt_labels'):
        try:
            labels = np.asarray(dataset.get_gt_labels())
        except (KeyError, TypeError, ValueError):
            return None
    elif hasattr(dataset, 'get_data_info'):
        labels = [
            dataset.get_data_info(i).get('gt_label')
            for i in range(len(dataset))
        ]
        if any(label is None for label in labels):
            return None
        try:
            labels = np.asarray(labels)
        except ValueError:  # ragged: several labels per sample
            return None
    else:
        return None
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        return None
    return labels


@HOOKS.register_module()
class DatasetCheckHook(Hook):
    """Checks every data set of a run against the model before the first
    iteration, so that bad data stops the run with an error naming the data
    set, the sample and the expected value, instead of a shape error deep
    in a forward, a silent broadcast, or a device-side assert in the loss.

    Per data set (train and val before training, val before a standalone
    validation, test before testing), once per run:

    - it has samples;
    - every label is in ``[0, num_classes)`` of the (student's) head;
    - the first sample's image has as many channels as the data
      preprocessor's ``mean`` has values and as the first convolution of
      the (student) model takes.

    A failed check raises :class:`~feed_mm.utils.DatasetCheckError`, whose
    key is the data set's config key (``train_dataloader.dataset``...).

    Args:
        check_labels (bool): Read every sample's label (from the annotations,
            without loading images). Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_labels: bool = True) -> None:
        self.check_labels = check_labels
        self._checked: set = set()

    def before_train(self, runner) -> None:
        self._check_loop(runner, 'train', runner.train_loop)
        self._check_loop(runner, 'val', runner.val_loop)

    def before_val(self, runner) -> None:
        self._check_loop(runner, 'val', runner.val_loop)

    def before_test(self, runner) -> None:
        self._check_loop(runner, 'test', runner.test_loop)

    def _check_loop(self, runner, split: str, loop: Any) -> None:
        dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
        if dataset is None or split in self._checked:
            return
        start = time.perf_counter()
        self.check_dataset(dataset, split, runner.model)
        self._checked.add(split)
        runner.logger.info(
            f'DatasetCheckHook: {split} data set ({len(dataset)} samples) '
            f'checked in {time.perf_counter() - start:.3f} s')

    def check_dataset(self, dataset: Any, split: str,
                      model: nn.Module) -> None:
        """Run the checks on one data set.

        Args:
            dataset: The data set (its ``__getitem__`` gives packed inputs).
            split (str): ``'train'``, ``'val'`` or ``'test'``, for messages.
            model (nn.Module): The model that the data feeds (wrapped or
                not; an MMRazor algorithm's student is checked).

        Raises:
            DatasetCheckError: The first failed check.
        """
        name = type(dataset).__name__
        if len(dataset) == 0:
            raise DatasetCheckError(
                split, f'the {split} data set ({name}) has no samples')
        if is_model_wrapper(model):
            model = model.module
        # The network that consumes the data: the student of an MMRazor
        # algorithm (FEEDDistill, SingleTeacherDistill...), else the model.
        student = getattr(model, 'architecture', model)
        if self.check_labels:
            self._check_labels(dataset, split, student)
        self._check_channels(dataset, split, model, student)

    @staticmethod
    def _check_labels(dataset: Any, split: str, student: nn.Module) -> None:
        num_classes = getattr(getattr(student, 'head', None), 'num_classes',
                              None)
        if not isinstance(num_classes, int):
            return
        labels = _labels(dataset)
        if labels is None:
            return
        bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
        if len(bad):
            index = int(bad[0])
            raise DatasetCheckError(
                split, f'sample {index} of the {split} data set has label '
                f'{int(labels[index])}, but the model\'s head has '
                f'num_classes={num_classes} (labels must be in 0..'
                f'{num_classes - 1}; {len(bad)} of {len(labels)} samples '
                'are out of range)')

    @staticmethod
    def _check_channels(dataset: Any, split: str, model: nn.Module,
                        student: nn.Module) -> None:
        sample = dataset[0]
        inputs = sample.get('inputs') if isinstance(sample, dict) else None
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3:
            return
        channels = inputs.shape[0]
        found = (f'sample 0 of the {split} data set is an image of shape '
                 f'{tuple(inputs.shape)} ({channels} channels)')
        mean = getattr(getattr(model, 'data_preprocessor', None), 'mean',
                       None)
        if isinstance(mean, torch.Tensor) and mean.numel() != channels:
            raise DatasetCheckError(
                split, f'{found}, but the data preprocessor normalises '
                f'{mean.numel()} channels (mean={mean.flatten().tolist()})')
        conv = _first_conv(student)
        if conv is not None and conv.in_channels != channels:
            conv_name = next(n for n, m in student.named_modules()
                             if m is conv)
            raise DatasetCheckError(
                split, f'{found}, but the first convolution of the model '
                f'({conv_name}) takes {conv.in_channels} channels')
