"""Sequential FEED through the real runner: interrupted and resumed."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.helpers import (REPO, TINY, default_scope_kept, parse_cfg_options,
                           call_tool, snapshot_files)

CONFIG = 'configs/feed/ft_resnet20_resnet20_digits.py'
OPTIONS = [o for o in TINY if not o.startswith('train_cfg.max_epochs')] + [
    'train_cfg.max_epochs=3'
]


def _command(work_dir, *extra):
    return [
        'tools/sfeed.py', CONFIG, '--generations', '2', '--work-dir',
        work_dir, *extra, '--cfg-options', *OPTIONS
    ]


def test_sfeed_killed_in_generation_1_resumes_without_retraining(tmp_path):
    work_dir = str(tmp_path / 'sfeed')
    env = {k: v for k, v in os.environ.items()
           if k != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'}
    proc = subprocess.Popen([sys.executable, *_command(work_dir)],
                            cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    # Written by the CheckpointHook right after gen 1's first checkpoint.
    first_ckpt = osp.join(work_dir, 'gen_1', 'last_checkpoint')
    deadline = time.time() + 300
    while not osp.exists(first_ckpt) and proc.poll() is None \
            and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert osp.exists(first_ckpt), 'generation 1 never wrote a checkpoint'
    gen0_result = osp.join(work_dir, 'gen_0', 'sfeed_result.json')
    assert osp.isfile(gen0_result)
    assert not osp.isfile(osp.join(work_dir, 'gen_1', 'sfeed_result.json'))
    gen0_mtime = os.stat(osp.join(work_dir, 'gen_0', 'epoch_3.pth')).st_mtime

    from feed_mm.apis import load_config
    from feed_mm.apis.sfeed import run_sfeed_config
    from feed_mm.utils import FEEDConfigError
    cfg = load_config(osp.join(REPO, CONFIG), work_dir,
                      parse_cfg_options(OPTIONS), 'none')
    with default_scope_kept(), pytest.raises(FEEDConfigError,
                                             match='pass --resume'):
        run_sfeed_config(cfg, generations=2)

    resumed = call_tool(*_command(work_dir, '--resume'))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    output = resumed.stdout + resumed.stderr
    assert 'generation 0 is finished' in output
    assert 'gen1: resumes from ' in output
    assert os.stat(osp.join(work_dir, 'gen_0',
                            'epoch_3.pth')).st_mtime == gen0_mtime

    with open(osp.join(work_dir, 'sfeed_results.json')) as f:
        results = json.load(f)
    assert [r['generation'] for r in results] == [0, 1]
    assert results[1]['teachers'] == ['gen0']
    # Generation 1's teacher is generation 0: same score, measured twice.
    assert abs(results[1]['teacher'] - results[0]['student']) < 1e-6
    assert abs(results[1]['gain'] -
               (results[1]['student'] - results[1]['teacher'])) < 1e-6
    table = open(osp.join(work_dir, 'sfeed_results.md')).read()
    assert table.count('\n| ') == 2 and '| 1 | gen0 |' in table
    assert '| 1 | gen0 |' in resumed.stdout


def _write_finished(work_dir, generation):
    gen = osp.join(work_dir, f'gen_{generation}')
    os.makedirs(gen)
    with open(osp.join(gen, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(gen, 'epoch_3.pth'))


def test_generation_configs_single_lineage_and_warm_start(tmp_path):
    from mmengine.config import Config

    from feed_mm.apis.sfeed import _generation_cfg
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    work_dir = str(tmp_path)
    gen0 = _generation_cfg(cfg, 0, work_dir, False, False, False)
    assert gen0.model == cfg.model.architecture
    assert gen0.default_scope == 'mmpretrain' and gen0.val_cfg == {}
    assert gen0.randomness.seed == cfg.randomness.seed
    for generation in (0, 1):
        _write_finished(work_dir, generation)

    single = _generation_cfg(cfg, 2, work_dir, False, False, False)
    assert list(single.model.teachers) == ['gen1']
    assert single.model.teachers.gen1.ckpt == osp.join(work_dir, 'gen_1')
    assert single.randomness.seed == cfg.randomness.seed + 2
    assert single.model.architecture.get('init_cfg') is None

    lineage = _generation_cfg(cfg, 2, work_dir, True, True, False)
    assert list(lineage.model.teachers) == ['gen0', 'gen1']
    init = lineage.model.architecture.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'architecture.'
    assert init.checkpoint.endswith(osp.join('gen_1', 'epoch_3.pth'))
    warm1 = _generation_cfg(cfg, 1, work_dir, False, True, True)
    assert warm1.model.architecture.init_cfg.prefix is None
    assert warm1.resume  # gen_1 has a checkpoint and resume was asked


def test_sfeed_rejects_non_feed_configs(tmp_path):
    from mmengine.config import Config

    from feed_mm.apis.sfeed import run_sfeed
    from feed_mm.utils import FEEDConfigError
    plain = Config.fromfile(
        osp.join(REPO, 'configs/teachers/digits_resnet20_s0.py'))
    with pytest.raises(FEEDConfigError, match='model.type'):
        run_sfeed(plain, 2, str(tmp_path))
    feed = Config.fromfile(osp.join(REPO, CONFIG))
    with pytest.raises(FEEDConfigError, match='sfeed.generations'):
        run_sfeed(feed, 0, str(tmp_path))


def test_sfeed_refuses_a_changed_earlier_generation(tmp_path):
    """Generation 0 changes after generation 1 learnt from it: the finished
    generation 1 is reported (not silently reused), an interrupted one
    refuses to resume from the new generation 0."""
    from feed_mm.apis import load_config
    from feed_mm.apis.console import RunConsole
    from feed_mm.apis.sfeed import run_sfeed
    from feed_mm.engine.teacher_provenance import file_fingerprint
    work_dir = str(tmp_path / 'sfeed')
    options = parse_cfg_options(TINY)
    cfg = load_config(osp.join(REPO, CONFIG), work_dir, options, 'none')
    with default_scope_kept():
        results = run_sfeed(cfg, 2, work_dir, console=RunConsole())
    gen0_ckpt = osp.join(work_dir, 'gen_0', 'epoch_1.pth')
    original = file_fingerprint(gen0_ckpt)
    assert results[1]['teacher_fingerprints'] == dict(gen0=original)

    # Generation 0 retrained: same file name, other weights.
    content = torch.load(gen0_ckpt, map_location='cpu', weights_only=False)
    for value in content['state_dict'].values():
        if value.is_floating_point():
            value.add_(0.01)
    torch.save(content, gen0_ckpt)
    changed = file_fingerprint(gen0_ckpt)['sha256']
    command = ['tools/sfeed.py', CONFIG, '--generations', '2',
               '--work-dir', work_dir, '--cfg-options', *TINY]

    reported = call_tool(*command)
    assert reported.returncode == 0, reported.stderr[-3000:]
    assert ('generation 1 was trained from other teacher checkpoints'
            in reported.stdout)
    with open(osp.join(work_dir, 'sfeed_results.json')) as f:
        assert json.load(f)[1]['teachers_changed'] == ['gen0']
    assert '| 1 | gen0 (changed since) |' in reported.stdout

    os.remove(osp.join(work_dir, 'gen_1', 'sfeed_result.json'))
    before = snapshot_files(osp.join(work_dir, 'gen_1'))
    refused = call_tool(*command, '--resume')
    assert refused.returncode == 2, refused.stderr[-3000:]
    [error] = [line for line in refused.stderr.splitlines()
               if line.startswith('error:')]
    for text in ('sFEED generation 1', "teacher 'gen0'",
                 original['sha256'], changed, gen0_ckpt):
        assert text in error, text
    assert snapshot_files(osp.join(work_dir, 'gen_1')) == before
