"""Zoo protocols: every shipped protocol parses and plans its runs; bad
protocols fail naming the offending key."""
import glob
import os.path as osp

import pytest

from feed_mm.utils import FEEDConfigError
from feed_mm.zoo import load_protocol, parse_protocol, plan_runs
from feed_mm.zoo.runner import build_run_config, format_listing
from tests.helpers import REPO

PROTOCOLS = sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', 'zoo',
                                                     '*.py')))


def minimal(**changes):
    spec = dict(
        teachers=dict(configs=['t0.py', 't1.py']),
        settings=[dict(name='student', config='s.py'),
                  dict(name='ft', config='ft.py', teachers=['teacher:0'])],
        baselines=['student'])
    spec.update(changes)
    return spec


@pytest.mark.parametrize('path', PROTOCOLS)
def test_shipped_protocol_plans_existing_configs(path):
    protocol = load_protocol(osp.join(REPO, path))
    runs = plan_runs(protocol, '/tmp/zoo')
    teachers = [r for r in runs if r.setting is None]
    assert sorted(r.config for r in teachers) == sorted(
        protocol.teacher_configs)
    assert len(runs) == len(teachers) + sum(
        min(s.seeds or protocol.seeds, protocol.seeds)
        for s in protocol.settings)
    for run in runs:
        assert osp.isfile(osp.join(REPO, run.config)), run.config
        earlier = runs[:runs.index(run)]
        for teacher_dir in run.teacher_dirs:
            # A teacher is planned before the first run that learns from
            # it (its weights file, when the protocol keeps them).
            assert teacher_dir in [r.weights or r.work_dir for r in earlier]
    assert format_listing(runs).count('\n') == len(runs) + 1


@pytest.mark.parametrize('path', PROTOCOLS)
def test_every_setting_builds_its_run_config(path, monkeypatch):
    """Each setting's first run as the runner would train it: its FEED
    teachers' checkpoints are the planned teacher runs' work dirs, its
    schedule has the protocol's epochs."""
    monkeypatch.chdir(REPO)
    protocol = load_protocol(path)
    runs = plan_runs(protocol, 'w')
    firsts = [runs[0]] + [next(r for r in runs if r.setting == s.name)
                          for s in protocol.settings]
    for run in firsts:
        cfg = build_run_config(run, {})
        assert cfg.work_dir == run.work_dir
        if run.teacher_dirs:
            assert [t.ckpt for t in cfg.model.teachers.values()] == list(
                run.teacher_dirs)
        if run.epochs is not None:
            assert cfg.train_cfg.max_epochs == run.epochs
            assert max(s.get('end', 0) for s in cfg.param_scheduler) \
                == run.epochs


def test_fmnist_full_protocol_trains_students_on_the_full_split(
        monkeypatch):
    monkeypatch.chdir(REPO)
    protocol = load_protocol('configs/zoo/fmnist_full.py')
    runs = plan_runs(protocol, 'w')
    assert [s.name for s in protocol.settings] == [
        s.name for s in load_protocol('configs/zoo/fmnist_cpu.py').settings]
    pfeed3 = build_run_config(
        next(r for r in runs if r.setting == 'pfeed3'), {})
    assert pfeed3.train_dataloader.dataset.num_per_class is None
    assert pfeed3.train_dataloader.batch_size == 128
    assert pfeed3.train_cfg.max_epochs == protocol.student_epochs == 30


def test_fmnist_cpu_protocol_runs():
    protocol = load_protocol(osp.join(REPO, 'configs/zoo/fmnist_cpu.py'))
    runs = plan_runs(protocol, 'w')
    names = [r.name for r in runs]
    # Each teacher comes just before the first run that learns from it.
    assert names[:4] == ['student_seed0', 'teacher_t0', 'ft_seed0',
                         'teacher_t1']
    # The replication core over 10 seeds, the other settings over 5, 3 for
    # each sFEED generation; teachers from the committed weights.
    for setting in ('student', 'ft', 'pfeed2', 'pfeed3', 'kd3', 'pfeed3_kd',
                    'ft_b', 'pfeed3_b', 'kd3_b'):
        assert sum(r.setting == setting for r in runs) == 10
    for setting in ('kd1', 'dkd1', 'dist1', 'fitnets1', 'at1', 'dkd3',
                    'dist3', 'pfeed3_linear', 'pfeed3_ensfirst', 'pfeed4',
                    'pfeed5', 'pfeed3_hetero'):
        assert sum(r.setting == setting for r in runs) == 5
    for g in (1, 2, 3):
        assert sum(r.setting == f'sfeed_g{g}' for r in runs) == 3
    g2 = next(r for r in runs if r.name == 'sfeed_g2_seed1')
    assert g2.teacher_dirs == [osp.join('w', 'sfeed_g1', 'seed1')]
    seeds = {r.cfg_options['randomness.seed'] for r in runs if r.setting}
    assert len(seeds) == 10 + 3 * 3  # generations never share a seed
    pfeed5 = next(r for r in runs if r.setting == 'pfeed5')
    assert [osp.basename(t) for t in pfeed5.teacher_dirs] == [
        f'fmnist_resnet20_s{s}.pth' for s in range(5)]


def test_plan_only_brings_dependencies_and_seeds_override():
    protocol = load_protocol(osp.join(REPO, 'configs/zoo/fmnist_cpu.py'))
    runs = plan_runs(protocol, 'w', seeds=1, only=['sfeed_g2'])
    # sFEED learns from runs of the protocol, not from its teachers.
    assert [r.name for r in runs] == [
        'student_seed0', 'sfeed_g1_seed0', 'sfeed_g2_seed0']
    with pytest.raises(FEEDConfigError, match="--only.*'nope'"):
        plan_runs(protocol, 'w', only=['nope'])


@pytest.mark.parametrize('changes, key', [
    (dict(colour='red'), 'protocol.colour'),
    (dict(teachers=dict(configs='t.py')), 'protocol.teachers.configs'),
    (dict(teachers=dict(configs=['t.yaml'])), r'protocol.teachers.configs\[0\]'),
    (dict(settings=[]), 'protocol.settings'),
    (dict(settings=[dict(name='a b', config='s.py')]),
     r'protocol.settings\[0\].name'),
    (dict(settings=[dict(name='s', config='s.py', teachers=['teacher:2'])]),
     r'protocol.settings\[0\].teachers\[0\]'),
    (dict(settings=[dict(name='s', config='s.py', teachers=['run:later']),
                    dict(name='later', config='s.py')]),
     r'protocol.settings\[0\].teachers\[0\]'),
    (dict(settings=[dict(name='s', config='s.py', seeds=2),
                    dict(name='g', config='s.py', teachers=['run:s'])]),
     r'protocol.settings\[1\].teachers\[0\]'),
    (dict(settings=[dict(name='s', config='s.py', seeds=0)]),
     r'protocol.settings\[0\].seeds'),
    (dict(baselines=['ghost']), r'protocol.baselines\[0\]'),
    (dict(student_epochs=0), 'protocol.student_epochs'),
    (dict(seeds='5'), 'protocol.seeds'),
    (dict(teachers=dict(groups=[dict(label='a', configs=['t.py'])],
                        configs=['t.py'])), 'protocol.teachers.configs'),
    (dict(teachers=dict(groups=[dict(configs=['t.py'], size=1)])),
     r'protocol.teachers.groups\[0\].size'),
    (dict(n_curve=['student', 'pfeed9']), r'protocol.n_curve\[1\]'),
    (dict(n_curve=dict(pfeed=['student', None, 'pfeed9'])),
     r'protocol.n_curve.pfeed\[2\]'),
    (dict(settings=[dict(name='s', config='s.py', pool=3)]),
     r'protocol.settings\[0\].pool'),
])
def test_bad_protocol_names_the_key(changes, key):
    with pytest.raises(FEEDConfigError, match=key):
        parse_protocol(minimal(**changes), 'bad')


def test_protocol_file_without_protocol(tmp_path):
    path = tmp_path / 'zoo.py'
    path.write_text('model = dict()\n')
    with pytest.raises(FEEDConfigError, match='no `protocol` field'):
        load_protocol(str(path))
    with pytest.raises(FileNotFoundError, match='missing.py'):
        load_protocol(str(tmp_path / 'missing.py'))
