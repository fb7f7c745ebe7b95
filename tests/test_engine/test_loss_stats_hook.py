"""LossStatsHook: per-epoch means of the logged loss terms, and the
gradient norms at the student's FEED map that it asks a FEED model for."""
import json
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner

from feed_mm.apis import load_config
from feed_mm.engine import LossStatsHook
from feed_mm.engine.hooks.loss_stats_hook import CHECKPOINT_KEY
from tests.helpers import REPO, TINY, default_scope_kept, parse_cfg_options
from tests.test_models.feed_fixtures import batch, build_feed, classifier


def test_distill_gradient_norm_is_the_translator_input_gradient():
    algo = build_feed(teachers=dict(t0=dict(model=classifier(16),
                                            ckpt=None)))
    algo.probe_map_grads = True
    inputs = []
    algo.distiller.translators.t0.register_full_backward_hook(
        lambda module, grad_in, grad_out: inputs.append(grad_in[0]))
    losses = algo.loss(*batch())
    assert set(losses) == {'student.loss', 'distill.loss_feed_t0',
                           'student.map_grad_norm', 'distill.map_grad_norm'}
    # The FEED term reaches the student's map through its translator only.
    losses['distill.loss_feed_t0'].backward()
    assert losses['distill.map_grad_norm'] == pytest.approx(
        inputs[0].norm().item(), rel=1e-5)
    assert losses['student.map_grad_norm'] > 0


def test_probing_leaves_the_update_unchanged():
    states = []
    for probe in (False, True):
        torch.manual_seed(0)
        algo = build_feed()
        algo.probe_map_grads = probe
        optimizer = torch.optim.SGD(algo.parameters(), lr=0.1)
        for step in range(2):
            losses = algo.loss(*batch(seed=step))
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            optimizer.step()
            optimizer.zero_grad()
        states.append(algo.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_epoch_means_of_a_runner_and_its_checkpoints(tmp_path):
    """Two epochs through the MMEngine runner: each epoch's mean of every
    logged term (loss, task loss, FEED term, gradient norms) equals the
    mean of the values logged at each iteration; the checkpoints carry the
    epochs measured so far."""
    work_dir = str(tmp_path / 'ft')
    # Each logged value is that of its iteration (a window of one).
    options = list(TINY) + ['train_cfg.max_epochs=2',
                            'log_processor.window_size=1']
    cfg = load_config(osp.join(REPO, 'configs/feed/ft_resnet20_resnet20_'
                               'digits.py'), work_dir,
                      parse_cfg_options(options), 'none')
    cfg.custom_hooks.append(dict(type='LossStatsHook'))
    with default_scope_kept():
        runner = Runner.from_cfg(cfg)
        runner.train()
    [hook] = [h for h in runner.hooks if isinstance(h, LossStatsHook)]
    [scalars] = [osp.join(work_dir, runner.timestamp, 'vis_data',
                          'scalars.json')]
    with open(scalars) as f:
        logged = [json.loads(line) for line in f if '"lr"' in line]
    assert [e['epoch'] for e in hook.epochs] == [1, 2]
    for stats in hook.epochs:
        iterations = [r for r in logged if r['epoch'] == stats['epoch']]
        for name in ('loss', 'student.loss', 'distill.loss_feed_t0',
                     'distill.map_grad_norm', 'student.map_grad_norm'):
            assert stats[name] == pytest.approx(
                sum(r[name] for r in iterations) / len(iterations),
                rel=1e-3)
    checkpoint = torch.load(osp.join(work_dir, 'epoch_1.pth'),
                            weights_only=False)
    assert checkpoint[CHECKPOINT_KEY] == hook.epochs[:1]
    resumed = LossStatsHook()
    resumed.after_load_checkpoint(None, checkpoint)
    assert resumed.epochs == hook.epochs[:1]
