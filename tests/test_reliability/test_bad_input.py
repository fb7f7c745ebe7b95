"""Bad input that must stop a run with an error naming what is wrong:
teacher checkpoints that do not fit (logits of another size, a head of
another size, an untrusted pickle) and data sets that do not fit the model
(DatasetCheckHook), in process and through tools/train.py."""
import os.path as osp
from typing import List, Optional

import numpy as np
import pytest
import torch
from mmpretrain.datasets import BaseDataset

from feed_mm.engine import DatasetCheckHook
from feed_mm.models.algorithms.teacher_spec import build_model
from feed_mm.utils import DatasetCheckError, FEEDConfigError
from feed_mm.utils.checkpoint import UnsafeCheckpointError
from tests.helpers import TINY, call_tool
from tests.test_models.feed_fixtures import (PREPROCESSOR, build_feed,
                                             classifier, kd_distiller)
from tests.test_utils.test_checkpoint import _code_running_payload

FEED_2T = 'configs/feed/pfeed_resnet20_2xresnet20_digits.py'
TEACHER_CFG = 'configs/teachers/digits_resnet20_s0.py'


def _classifier(num_classes: int = 10, **kwargs):
    cfg = classifier(16)
    cfg['head'] = dict(cfg['head'], num_classes=num_classes)
    cfg.update(kwargs)
    return cfg


def _save(model_cfg, path) -> str:
    model = build_model(model_cfg, 'test')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, str(path))
    return str(path)


def _assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    error_lines = [
        line for line in result.stderr.splitlines()
        if line.startswith('error: ')
    ]
    assert len(error_lines) == 1, result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in error_lines[0], (fragment, error_lines[0])


# ----------------------------------------------------------------------
# Teacher checkpoints. Missing/unexpected keys and other shapes in general:
# tests/test_models/test_algorithms.py.
def test_teacher_logits_of_another_size_are_rejected_at_build_time():
    with pytest.raises(FEEDConfigError) as info:
        build_feed(
            teachers=dict(t0=dict(model=_classifier(100), ckpt=None)),
            distiller=kd_distiller(from_teacher='t0'))
    assert info.value.key == 'model.distiller.distill_losses.loss_kd'
    message = str(info.value)
    for fragment in ("preds_S = student record 'logits' of shape (2, 10)",
                     "preds_T = teacher 't0' record 'logits' of shape "
                     '(2, 100)'):
        assert fragment in message, message


def test_teacher_checkpoint_with_another_head_size_names_both_shapes(
        tmp_path):
    ckpt = _save(_classifier(100), tmp_path / 'cifar100_teacher.pth')
    with pytest.raises(FEEDConfigError) as info:
        build_feed(teachers=dict(t0=dict(model=_classifier(10), ckpt=ckpt)))
    assert info.value.key == 'model.teachers.t0.ckpt'
    message = str(info.value)
    assert 'shape of head.fc.weight: checkpoint (100, 128) vs model ' \
        '(10, 128)' in message, message
    assert ckpt in message


def test_code_running_teacher_checkpoint_is_refused_unrun(tmp_path):
    marker = tmp_path / 'MARKER'
    payload, offending = _code_running_payload('exec', marker)
    evil = tmp_path / 'teacher.pth'
    torch.save({'state_dict': {}, 'meta': payload}, evil)
    with pytest.raises(UnsafeCheckpointError) as info:
        build_feed(
            teachers=dict(t0=dict(model=_classifier(), ckpt=str(evil))))
    assert str(evil) in str(info.value) and offending in str(info.value)
    assert not marker.exists()


def test_code_running_teacher_checkpoint_through_train_py(tmp_path):
    marker = tmp_path / 'MARKER'
    payload, offending = _code_running_payload('os.system', marker)
    evil = tmp_path / 'teacher.pth'
    torch.save({'state_dict': {}, 'meta': payload}, evil)
    result = call_tool('tools/train.py', FEED_2T, '--work-dir',
                       str(tmp_path / 'work_dir'), '--cfg-options', *TINY,
                       f'model.teachers.t0.ckpt={evil}',
                       f'model.teachers.t1.ckpt={evil}')
    _assert_one_line_error(result, str(evil), offending)
    assert not marker.exists()


# ----------------------------------------------------------------------
# Data sets: DatasetCheckHook.
class ArrayDataset(BaseDataset):
    """Images (H, W) or (H, W, C) and labels (None: unlabelled)."""

    def __init__(self, images: List[np.ndarray],
                 labels: Optional[List[int]], **kwargs) -> None:
        self._images, self._labels = images, labels
        super().__init__(
            ann_file='', pipeline=[dict(type='PackInputs')], **kwargs)

    def load_data_list(self) -> List[dict]:
        infos = [dict(img=img) for img in self._images]
        if self._labels is not None:
            for info, label in zip(infos, self._labels):
                info['gt_label'] = label
        return infos


def _images(n: int, channels: int = 3) -> List[np.ndarray]:
    shape = (8, 8) if channels == 1 else (8, 8, channels)
    return [np.full(shape, i, dtype=np.uint8) for i in range(n)]


@pytest.fixture(scope='module')
def student():
    return build_model(
        dict(_classifier(), data_preprocessor=PREPROCESSOR), 'test')


def test_fitting_data_sets_pass(student):
    hook = DatasetCheckHook()
    hook.check_dataset(ArrayDataset(_images(3), [0, 9, 4]), 'train', student)
    # Unlabelled test data has no labels to check.
    hook.check_dataset(ArrayDataset(_images(2), None), 'test', student)


def test_empty_data_set_is_named(student):
    empty = ArrayDataset([], [], serialize_data=False)
    with pytest.raises(DatasetCheckError) as info:
        DatasetCheckHook().check_dataset(empty, 'val', student)
    assert info.value.key == 'val_dataloader.dataset'
    assert 'ArrayDataset' in str(info.value) and 'no samples' in str(
        info.value)


@pytest.mark.parametrize('labels,index,label', [
    ([0, 3, 10, 12], 2, 10),
    ([-1, 3], 0, -1),
])
def test_label_out_of_range_is_named(student, labels, index, label):
    data = ArrayDataset(_images(len(labels)), labels)
    with pytest.raises(DatasetCheckError) as info:
        DatasetCheckHook().check_dataset(data, 'train', student)
    assert info.value.key == 'train_dataloader.dataset'
    message = str(info.value)
    assert f'sample {index} ' in message and f'label {label},' in message
    assert 'num_classes=10' in message
    # Without the label scan the data set passes.
    DatasetCheckHook(check_labels=False).check_dataset(data, 'train', student)


def test_grey_images_into_rgb_normalisation_are_named(student):
    data = ArrayDataset(_images(2, channels=1), [0, 1])
    with pytest.raises(DatasetCheckError) as info:
        DatasetCheckHook().check_dataset(data, 'train', student)
    message = str(info.value)
    assert 'shape (1, 8, 8) (1 channels)' in message
    assert 'normalises 3 channels' in message


def test_images_of_other_channels_than_the_first_conv_are_named():
    # No normalisation: the first convolution is what expects 3 channels.
    model = build_model(_classifier(), 'test')
    data = ArrayDataset(_images(2, channels=4), [0, 1])
    with pytest.raises(DatasetCheckError) as info:
        DatasetCheckHook().check_dataset(data, 'test', model)
    assert info.value.key == 'test_dataloader.dataset'
    assert 'shape (4, 8, 8)' in str(info.value)
    assert '(backbone.conv1) takes 3 channels' in str(info.value)


def test_feed_model_is_checked_against_its_student():
    teacher = _classifier(100)
    algo = build_feed(
        architecture=dict(_classifier(5)),
        teachers=dict(t0=dict(model=teacher, ckpt=None)))
    data = ArrayDataset(_images(2), [4, 7])
    with pytest.raises(DatasetCheckError, match='num_classes=5'):
        DatasetCheckHook().check_dataset(data, 'train', algo)


def test_label_out_of_range_through_train_py(digits_teachers, tmp_path):
    result = call_tool(
        'tools/train.py', FEED_2T, '--work-dir', str(tmp_path),
        '--cfg-options', *TINY,
        *[f'model.teachers.t{i}.ckpt={d}'
          for i, d in enumerate(digits_teachers)],
        'model.architecture.head.num_classes=5')
    _assert_one_line_error(result, 'train_dataloader.dataset',
                           'num_classes=5')
    assert not osp.exists(osp.join(tmp_path, 'epoch_1.pth'))


def test_channels_through_train_py(tmp_path):
    result = call_tool('tools/train.py', TEACHER_CFG, '--work-dir',
                       str(tmp_path), '--cfg-options', *TINY,
                       'model.backbone.in_channels=1')
    _assert_one_line_error(result, 'train_dataloader.dataset',
                           'shape (3, 32, 32)',
                           '(backbone.conv1) takes 1 channels')
