"""Sequential FEED through the real runner: interrupted and resumed."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

from tests.helpers import REPO, TINY, run_tool

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

    refused = run_tool(*_command(work_dir))
    assert refused.returncode == 2 and '--resume' in refused.stderr

    resumed = run_tool(*_command(work_dir, '--resume'))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    output = resumed.stdout + resumed.stderr
    assert 'generation 0 is finished' in output
    assert 'resumed epoch' in output
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
