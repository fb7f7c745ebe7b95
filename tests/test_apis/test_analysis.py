"""Reconstruction-error analysis and curve plots."""
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

import feed_mm  # noqa: F401
from feed_mm.apis.analysis import (format_errors_table, mean_over_seeds,
                                   reconstruction_errors,
                                   recorded_feed_features)
from feed_mm.apis.curves import find_scalar_logs
from tests.helpers import REPO, TINY, build_razor_model, call_tool

FEED_2T = 'configs/feed/pfeed_resnet20_2xresnet20_digits.py'


def _digits_batch(size):
    from mmpretrain.structures import DataSample

    from feed_mm.datasets import SklearnDigits
    data = SklearnDigits(split='test', pipeline=[dict(type='PackInputs')])
    samples = [data[i] for i in range(size)]
    return dict(inputs=[s['inputs'] for s in samples],
                data_samples=[s['data_samples'] for s in samples]), DataSample


def _random_teacher_pfeed2():
    cfg = Config.fromfile(osp.join(REPO, FEED_2T))
    cfg.model.teachers.t0.ckpt = None
    cfg.model.teachers.t1.ckpt = None
    cfg.model.allow_random_teachers = True
    return build_razor_model(
        dict(cfg.model, data_preprocessor=cfg.data_preprocessor)).eval()


def test_errors_match_a_direct_computation():
    torch.manual_seed(0)
    model = _random_teacher_pfeed2()
    batch, _ = _digits_batch(12)
    result = reconstruction_errors(model, [batch, batch])

    inputs = model.data_preprocessor(batch, False)['inputs']
    with torch.no_grad():
        s_feat = model.student.backbone(inputs)[-1]
        for name in ('t0', 't1'):
            t_feat = model.teachers[name].backbone(inputs)[-1]
            translated = model.distiller.translators[name](s_feat)
            diff = (F.normalize(t_feat.flatten(1)) -
                    F.normalize(translated.flatten(1)))
            l1 = diff.abs().sum(1).mean().item()
            l2 = diff.norm(dim=1).mean().item()
            assert abs(result[name]['l1'] - l1) < 1e-5
            assert abs(result[name]['l2'] - l2) < 1e-5
            assert result[name]['samples'] == 24
            assert l1 > l2 > 0


def test_recorded_features_are_cleared_after_the_block_even_on_error():
    model = _random_teacher_pfeed2()
    batch, _ = _digits_batch(4)
    inputs = model.data_preprocessor(batch, False)['inputs']
    with recorded_feed_features(model, inputs) as distiller:
        assert distiller.student_map().shape[0] == 4
        assert distiller.teacher_map('t1').shape[0] == 4
    with pytest.raises(KeyError, match='inside'):
        with recorded_feed_features(model, inputs):
            raise KeyError('inside')
    distiller = model.distiller
    managers = [distiller.student_recorders,
                *distiller.teacher_recorders.values()]
    assert all(not recorder.data_buffer for manager in managers
               for recorder in manager.recorders.values())


def test_cli_compares_runs_and_writes_table_json_png(digits_teachers,
                                                     tmp_path):
    options = [f'model.teachers.t{i}.ckpt={p}'
               for i, p in enumerate(digits_teachers)]
    cfg = Config.fromfile(osp.join(REPO, FEED_2T))
    cfg.merge_from_dict({o.split('=')[0]: o.split('=')[1] for o in options})
    model = build_razor_model(dict(cfg.model,
                              data_preprocessor=cfg.data_preprocessor))
    ckpt = tmp_path / 'feed.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    out_dir = tmp_path / 'recon'
    result = call_tool('tools/analysis/reconstruction_error.py', '--run', 'a',
                       FEED_2T, str(ckpt), '--run', 'b', FEED_2T, str(ckpt),
                       '--max-batches', '1', '--out-dir', str(out_dir),
                       '--cfg-options', *TINY, *options)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '| a | t0 |' in result.stdout and '| b | t1 |' in result.stdout
    errors = json.loads((out_dir / 'reconstruction_error.json').read_text())
    assert errors['a'] == errors['b'] and set(errors['a']) == {'t0', 't1'}
    png = (out_dir / 'reconstruction_error.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 5000


def test_plot_curves_from_runner_logs(digits_teachers, tmp_path):
    out = tmp_path / 'curves.png'
    result = call_tool('tools/analysis/plot_curves.py', *digits_teachers,
                       '--out', str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    assert 's0: 1 loss terms, 1 metrics' in result.stdout
    assert out.read_bytes()[:4] == b'\x89PNG'
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        find_scalar_logs(str(tmp_path))


def test_mean_over_seeds_by_hand():
    seeds = [{'t0': dict(l1=1.0, l2=0.5, samples=10)},
             {'t0': dict(l1=3.0, l2=0.7, samples=10)}]
    merged = mean_over_seeds(seeds)['t0']
    assert merged['l1'] == pytest.approx(2.0)
    assert merged['l1_std'] == pytest.approx(2 ** 0.5)
    assert merged['l2'] == pytest.approx(0.6) and merged['seeds'] == 2
    assert '| ft | t0 | 2.0000 ± 1.4142 | 0.6000 ± 0.1414 | 10 | 2 |' in \
        format_errors_table({'ft': {'t0': merged}})
