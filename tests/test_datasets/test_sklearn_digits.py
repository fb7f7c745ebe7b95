import numpy as np
import pytest
import torch

import feed_mm  # noqa: F401
from feed_mm.datasets import SklearnDigits


def test_fixed_split_sizes_and_disjointness():
    train = SklearnDigits(split='train')
    test = SklearnDigits(split='test')
    assert (len(train), len(test)) == (1437, 360)
    train_ids = {train.get_data_info(i)['source_idx'] for i in range(len(train))}
    test_ids = {test.get_data_info(i)['source_idx'] for i in range(len(test))}
    assert not train_ids & test_ids
    assert all(i % 5 == 0 for i in test_ids)
    assert len(SklearnDigits(split='all')) == 1797


def test_images_are_32x32_rgb_uint8_with_all_classes():
    data = SklearnDigits(split='test')
    info = data.get_data_info(0)
    assert info['img'].shape == (32, 32, 3) and info['img'].dtype == np.uint8
    assert np.array_equal(info['img'][..., 0], info['img'][..., 2])
    labels = {data.get_data_info(i)['gt_label'] for i in range(len(data))}
    assert labels == set(range(10))
    assert data.metainfo['classes'] == tuple(str(i) for i in range(10))


def test_works_with_mmpretrain_pipeline_and_accuracy():
    from mmpretrain.evaluation import Accuracy
    data = SklearnDigits(
        split='test',
        pipeline=[
            dict(type='mmpretrain.RandomCrop', crop_size=32, padding=2),
            dict(type='mmpretrain.PackInputs')
        ])
    sample = data[3]
    assert sample['inputs'].shape == torch.Size([3, 32, 32])
    label = int(sample['data_samples'].gt_label)
    metric = Accuracy(topk=(1, ))
    pred = sample['data_samples'].set_pred_score(
        torch.nn.functional.one_hot(torch.tensor(label), 10).float())
    metric.process(None, [pred.to_dict()])
    assert metric.compute_metrics(metric.results)['top1'] == 100.0


def test_num_per_class_and_registry_build():
    from mmpretrain.registry import DATASETS
    data = DATASETS.build(
        dict(type='SklearnDigits', split='train', num_per_class=7))
    labels = [data.get_data_info(i)['gt_label'] for i in range(len(data))]
    assert len(data) == 70 and np.bincount(labels).tolist() == [7] * 10


@pytest.mark.parametrize('kwargs', [
    dict(split='val'), dict(num_per_class=0), dict(test_every=1),
    dict(indices=0), dict(indices=[])])
def test_bad_arguments_are_named(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SklearnDigits(**kwargs)
