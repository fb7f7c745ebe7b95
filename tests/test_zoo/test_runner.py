"""The zoo runner through the real MMEngine runner on digits: a finished
run is skipped, an interrupted one resumes from its last checkpoint, the
results file and table follow."""
import glob
import json
import os.path as osp

import pytest

import tests.test_reliability.fault_hooks  # noqa: F401 - registers hooks
from feed_mm.apis.console import RunConsole
from feed_mm.apis.training import read_result
from feed_mm.engine.teacher_provenance import file_fingerprint
from feed_mm.utils import FEEDConfigError
from feed_mm.zoo import parse_protocol, plan_runs, run_protocol
from tests.helpers import REPO, TINY, call_tool

TEACHER = osp.join(REPO, 'configs/teachers/digits_resnet20_s0.py')
FT = osp.join(REPO, 'configs/feed/ft_resnet20_resnet20_digits.py')
PFEED2 = osp.join(REPO, 'configs/feed/pfeed_resnet20_2xresnet20_digits.py')


def tiny_options():
    return dict(option.split('=', 1) for option in TINY if
                'max_epochs' not in option)


def protocol():
    return parse_protocol(
        dict(teachers=dict(configs=[TEACHER], epochs=1),
             settings=[dict(name='student', config=TEACHER),
                       dict(name='ft', config=FT, teachers=['teacher:0'])],
             student_epochs=2, seeds=1,
             student_cfg_options={'default_hooks.checkpoint.interval': 1},
             baselines=['student']), 'tiny')


def scalar_epochs(work_dir):
    """The validated epochs of each start of a run, in order."""
    starts = []
    for path in sorted(glob.glob(
            osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records = [json.loads(line) for line in f]
        starts.append(sorted({r['step'] for r in records
                              if 'accuracy/top1' in r}))
    return starts


def test_runner_skips_finished_and_resumes_interrupted(tmp_path):
    work_dir = str(tmp_path / 'zoo')
    options = {k: int(v) for k, v in tiny_options().items()}
    interrupt = dict(options, custom_hooks=[
        dict(type='InterruptAfterEpochHook', epoch=1)])
    console = RunConsole()
    runs = plan_runs(protocol(), work_dir)
    # The teacher is trained just before the first run that learns from it.
    student, teacher, ft = runs

    # The student is stopped after its first epoch.
    with pytest.raises(RuntimeError, match='interrupted after epoch 1'):
        run_protocol(protocol(), work_dir, console, cfg_options=interrupt)
    assert student.status() == 'interrupted'
    assert teacher.status() == ft.status() == 'to run'

    results = run_protocol(protocol(), work_dir, console,
                           cfg_options=options)
    assert [run.status() for run in runs] == ['done'] * 3
    # The student's second start trained (and validated) epoch 2 only.
    assert scalar_epochs(student.work_dir) == [[1], [2]]
    teacher_result = open(osp.join(teacher.work_dir,
                                   'run_result.json')).read()
    # A finished run is not trained again.
    assert run_protocol(protocol(), work_dir, console,
                        cfg_options=options)['settings'] == results['settings']
    assert open(osp.join(teacher.work_dir,
                         'run_result.json')).read() == teacher_result
    assert scalar_epochs(ft.work_dir) == [[1, 2]]

    assert results['runs_finished'] == results['runs_planned'] == 3
    by_name = {s['name']: s for s in results['settings']}
    assert by_name['ft']['differences']['student']['diffs'] == [
        by_name['ft']['seeds'][0]['test'] -
        by_name['student']['seeds'][0]['test']]
    with open(osp.join(work_dir, 'zoo_results.json')) as f:
        assert json.load(f)['settings'] == results['settings']
    table = open(osp.join(work_dir, 'zoo_results.md')).read()
    assert '| ft | 1 |' in table and '| teacher | 1 |' in table
    # The FEED run records the teacher checkpoint it learnt from.
    teacher_ckpt = json.loads(teacher_result)['checkpoint']
    fingerprint = file_fingerprint(teacher_ckpt)
    assert by_name['ft']['seeds'][0]['teacher_fingerprints'] == dict(
        t0=fingerprint)
    assert by_name['ft']['teacher_sha256'] == dict(
        t0=[fingerprint['sha256']])
    assert by_name['student']['teacher_sha256'] == {}
    assert f'ft: t0 {fingerprint["sha256"][:12]}' in table
    assert osp.getsize(osp.join(work_dir, 'zoo_curves.png')) > 5000

    # The reconstruction-error diagnostic reads the finished FEED runs of
    # the work dir (their dumped configs and last checkpoints).
    out_dir = tmp_path / 'recon'
    recon = call_tool('tools/analysis/reconstruction_error.py', '--zoo',
                      work_dir, 'ft', '--max-batches', '1', '--out-dir',
                      str(out_dir))
    assert recon.returncode == 0, recon.stderr[-3000:]
    errors = json.loads((out_dir / 'reconstruction_error.json').read_text())
    assert set(errors) == {'ft'} and set(errors['ft']) == {'t0'}
    assert errors['ft']['t0']['seeds'] == 1 and errors['ft']['t0']['l2'] > 0
    missing = call_tool('tools/analysis/reconstruction_error.py', '--zoo',
                        work_dir, 'pfeed9')
    assert missing.returncode == 2
    assert "no finished run of setting 'pfeed9'" in missing.stderr


def test_committed_teacher_weights_are_evaluated_not_trained(tmp_path):
    """A teacher trained once leaves a weights-only checkpoint in the
    protocol's ``weights`` folder; a protocol run elsewhere evaluates that
    file instead of training, learns from it and reports its group."""
    weights = tmp_path / 'weights'
    spec = dict(
        teachers=dict(groups=[dict(label='set A', configs=[
            TEACHER, TEACHER.replace('_s0', '_s1')])],
            weights=str(weights), epochs=1),
        settings=[dict(name='pfeed2', config=PFEED2,
                       teachers=['teacher:0', 'teacher:1'])],
        seeds=1, student_epochs=1)
    options = {k: int(v) for k, v in tiny_options().items()}
    first = run_protocol(parse_protocol(spec, 'w'), str(tmp_path / 'a'),
                         RunConsole(), cfg_options=options)
    files = sorted(p.name for p in weights.iterdir())
    assert files == ['digits_resnet20_s0.pth', 'digits_resnet20_s1.pth']

    again = parse_protocol(spec, 'w')
    assert plan_runs(again, str(tmp_path / 'b'))[0].status() == \
        'to evaluate'
    second = run_protocol(again, str(tmp_path / 'b'), RunConsole(),
                          cfg_options=options)
    [group] = second['teachers']
    assert [t['test'] for t in group['runs']] == [
        t['test'] for t in first['teachers'][0]['runs']]
    assert group['ensemble']['test'] == first['teachers'][0]['ensemble'][
        'test']
    result = json.load(open(tmp_path / 'b' / 'teachers' / 't0' /
                            'run_result.json'))
    assert result['evaluated_only'] and result['checkpoint'] == str(
        weights / 'digits_resnet20_s0.pth')
    assert second['settings'][0]['teacher_sha256']['t0'] == [
        file_fingerprint(str(weights / 'digits_resnet20_s0.pth'))['sha256']]


def test_parallel_jobs_give_the_results_of_one_at_a_time(tmp_path):
    """Two worker processes train the protocol's runs, each run once the
    teacher it learns from has finished, with the numbers of the runs
    trained one after the other on the same thread count."""
    options = {k: int(v) for k, v in tiny_options().items()}
    spec = dict(teachers=dict(configs=[TEACHER], epochs=1),
                settings=[dict(name='student', config=TEACHER),
                          dict(name='ft', config=FT, teachers=['teacher:0'])],
                student_epochs=1, seeds=1)
    stats = {}
    for jobs in (1, 2):
        work_dir = str(tmp_path / f'jobs{jobs}')
        results = run_protocol(parse_protocol(spec, 'jobs'), work_dir,
                               RunConsole(), cfg_options=options, jobs=jobs,
                               threads=1)
        assert results['runs_finished'] == 3
        # Each run's loss terms, epoch by epoch, and its scores.
        stats[jobs] = [
            (run.name, result['epoch_stats'], result['val'], result['test'])
            for run in plan_runs(parse_protocol(spec, 'jobs'), work_dir)
            for result in [read_result(run.work_dir)]]
    assert stats[1] == stats[2]
    assert all(epochs and 'loss' in epochs[0] for _, epochs, _, _ in stats[1])


def test_finished_runs_come_from_a_results_file(tmp_path):
    """A protocol goes on from its committed results on another machine:
    the runs the file holds are not trained again, and the report is the
    same."""
    options = {k: int(v) for k, v in tiny_options().items()}
    spec = dict(teachers=dict(configs=[TEACHER], epochs=1),
                settings=[dict(name='student', config=TEACHER)],
                student_epochs=1, seeds=2)
    first = run_protocol(parse_protocol(spec, 'imported'),
                         str(tmp_path / 'a'), RunConsole(),
                         cfg_options=options, seeds=1)
    # The other machine: the file of the first, and one more seed to run.
    again = run_protocol(parse_protocol(spec, 'imported'),
                         str(tmp_path / 'b'), RunConsole(),
                         cfg_options=options,
                         imported=str(tmp_path / 'a' / 'zoo_results.json'))
    seed0, seed1 = again['settings'][0]['seeds']
    assert seed0['test'] == first['settings'][0]['seeds'][0]['test']
    assert seed0['epoch_stats'] == first['settings'][0]['seeds'][0][
        'epoch_stats']
    assert not glob.glob(str(tmp_path / 'b' / 'student' / 'seed0' / '*.pth'))
    assert glob.glob(str(tmp_path / 'b' / 'student' / 'seed1' / '*.pth'))
    with pytest.raises(FEEDConfigError, match='not a results file of'):
        run_protocol(parse_protocol(spec, 'other'), str(tmp_path / 'c'),
                     RunConsole(), cfg_options=options,
                     imported=str(tmp_path / 'a' / 'zoo_results.json'))
