"""FEEDValLoop / FEEDTestLoop: student metrics plus each teacher's,
teachers evaluated once (they are frozen)."""
import argparse
import os.path as osp

import pytest
from mmengine.config import DictAction
from mmengine.runner import Runner

import feed_mm  # noqa: F401
from feed_mm.apis import load_config
from tests.helpers import REPO, TINY

FEED_2T = 'configs/feed/pfeed_resnet20_2xresnet20_digits.py'


def _runner(work_dir, teachers, *options):
    parsed = argparse.Namespace()
    DictAction(option_strings=[], dest='cfg')(
        None, parsed, [*TINY, *options] + [
            f'model.teachers.t{i}.ckpt={path}'
            for i, path in enumerate(teachers)
        ])
    return Runner.from_cfg(
        load_config(osp.join(REPO, FEED_2T), work_dir, parsed.cfg, 'none'))


def test_teacher_metrics_reported_and_computed_once(digits_teachers,
                                                    tmp_path):
    runner = _runner(str(tmp_path), digits_teachers, 'train_cfg.max_epochs=2')
    calls = []
    runner.model.teachers.t0.head.register_forward_hook(
        lambda *args: calls.append(1))
    runner.train()
    val_batches = len(runner.val_loop.dataloader)
    # Training stops teachers after the backbone; validation runs the head
    # of each teacher on the first validation only.
    assert len(calls) == val_batches
    metrics = runner.val_loop.run()
    assert len(calls) == val_batches
    for key in ('accuracy/top1', 'teacher.t0.accuracy/top1',
                'teacher.t1.accuracy/top1'):
        assert 0 <= metrics[key] <= 100, key
    test_metrics = runner.test()
    assert set(test_metrics) >= {'accuracy/top1', 'teacher.t1.accuracy/top1'}


def test_teacher_metrics_match_a_plain_evaluation(digits_teachers,
                                                  tmp_path):
    runner = _runner(str(tmp_path / 'feed'), digits_teachers)
    metrics = runner.val_loop.run()
    plain_cfg = load_config(
        osp.join(REPO, 'configs/teachers/digits_resnet20_s1.py'),
        str(tmp_path / 'plain'), {
            'val_dataloader.dataset.indices': 64,
            'load_from': osp.join(digits_teachers[1], 'epoch_1.pth')
        }, 'none')
    plain = Runner.from_cfg(plain_cfg)
    plain.load_or_resume()
    expected = plain.val_loop.run()['accuracy/top1']
    assert metrics['teacher.t1.accuracy/top1'] == pytest.approx(expected)


def test_plain_model_is_rejected_with_a_clear_error(tmp_path):
    cfg = load_config(
        osp.join(REPO, 'configs/teachers/digits_resnet20_s0.py'),
        str(tmp_path), {'val_cfg': dict(type='mmrazor.FEEDValLoop')}, 'none')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(TypeError, match='has no teachers'):
        runner.val()
