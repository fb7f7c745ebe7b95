"""The exported student is the plain mmpretrain classifier: same logits,
same parameters, same FLOPs (no test-time cost of FEED)."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config

import feed_mm  # noqa: F401
from feed_mm.apis import export_student
from tests.helpers import (REPO, build_razor_model, default_scope_kept,
                           call_tool, train_in_process)

PLAIN_CONFIG = osp.join(REPO, 'configs/teachers/digits_resnet20_s0.py')


@pytest.fixture(scope='module')
def feed_checkpoint(tmp_path_factory):
    cfg = Config.fromfile(PLAIN_CONFIG)
    torch.manual_seed(0)
    algo = build_razor_model(
        dict(
            type='FEEDDistill',
            architecture=cfg.model,
            teachers=dict(t0=dict(model=cfg.model, ckpt=None),
                          t1=dict(model=cfg.model, ckpt=None)),
            allow_random_teachers=True,
            data_preprocessor=cfg.data_preprocessor))
    # Train-mode steps so BN statistics differ from a fresh model.
    optimizer = torch.optim.SGD(algo.parameters(), lr=0.05)
    from mmpretrain.structures import DataSample
    for _ in range(2):
        losses = algo.loss(
            torch.randn(8, 3, 32, 32),
            [DataSample().set_gt_label(i % 10) for i in range(8)])
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
    path = tmp_path_factory.mktemp('feed') / 'feed.pth'
    torch.save({'state_dict': algo.state_dict(),
                'meta': {'dataset_meta': {'classes': list('0123456789')}}},
               path)
    return algo.eval(), str(path), cfg


def _plain_student(cfg):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg.model).eval()


def test_export_drops_translators_and_loads_strictly(feed_checkpoint,
                                                     tmp_path):
    algo, path, cfg = feed_checkpoint
    out = tmp_path / 'student.pth'
    exported = export_student(path, str(out))
    keys = exported['state_dict'].keys()
    assert not any('translator' in k or k.startswith('teachers') for k in keys)
    student = _plain_student(cfg)
    student.load_state_dict(torch.load(out)['state_dict'], strict=True)

    inputs = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        expected = algo.student(inputs, mode='tensor')
        got = student(inputs, mode='tensor')
    assert torch.equal(expected, got)


def test_exported_student_costs_what_the_plain_student_costs(
        feed_checkpoint, tmp_path):
    algo, path, cfg = feed_checkpoint
    out = tmp_path / 'student.pth'
    export_student(path, str(out))
    exported = _plain_student(cfg)
    exported.load_state_dict(torch.load(out)['state_dict'], strict=True)
    plain = _plain_student(cfg)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(exported) == count(plain) == count(algo.student)
    assert count(algo) > count(exported)  # translators (and teachers) gone
    flops = [
        get_model_complexity_info(
            m, inputs=(torch.zeros(1, 3, 32, 32), ), show_table=False,
            show_arch=False)['flops'] for m in (exported, plain)
    ]
    assert flops[0] == flops[1] > 0


def test_exported_student_runs_with_mmpretrain_apis(feed_checkpoint,
                                                    tmp_path):
    from mmpretrain.apis import ImageClassificationInferencer, get_model
    algo, path, cfg = feed_checkpoint
    out = str(tmp_path / 'student.pth')
    export_student(path, out)
    model = get_model(Config.fromfile(PLAIN_CONFIG), pretrained=out)
    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(
            model(inputs, mode='tensor'), algo.student(inputs, mode='tensor'))
    inferencer = ImageClassificationInferencer(
        model=Config.fromfile(PLAIN_CONFIG), pretrained=out, device='cpu')
    image = np.random.RandomState(0).randint(0, 255, (32, 32, 3), np.uint8)
    result = inferencer(image)[0]
    assert 0 <= result['pred_label'] < 10


def test_cli_exports_and_refuses_plain_checkpoints(feed_checkpoint,
                                                   tmp_path):
    _, path, _ = feed_checkpoint
    out = tmp_path / 'cli_student.pth'
    result = call_tool('tools/convert_to_student.py', path, str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.is_file()
    plain = tmp_path / 'plain.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1)}},
               plain)
    with pytest.raises(KeyError, match='not a distillation checkpoint'):
        export_student(str(plain), str(tmp_path / 'x.pth'))
    assert not (tmp_path / 'x.pth').exists()


def test_exported_student_records_its_provenance(digits_teachers, tmp_path):
    """The student of a runner-trained FEED checkpoint carries the
    teachers' fingerprints, the FEED config's name and its source."""
    from feed_mm.engine.teacher_provenance import file_fingerprint
    config = 'configs/feed/ft_resnet20_resnet20_digits.py'
    with default_scope_kept():
        work_dir = train_in_process(
            config, str(tmp_path / 'feed'),
            [f'model.teachers.t0.ckpt={digits_teachers[0]}'])
    source = osp.join(work_dir, 'epoch_1.pth')
    out = tmp_path / 'student.pth'
    result = call_tool('tools/convert_to_student.py', source, str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    teacher = file_fingerprint(osp.join(digits_teachers[0], 'epoch_1.pth'))
    meta = torch.load(out, weights_only=False)['meta']
    assert meta['feed_teachers'] == dict(t0=teacher)
    assert meta['feed_config'] == osp.basename(config)
    assert meta['exported_from'] == osp.abspath(source)
    assert teacher['sha256'] in result.stdout
