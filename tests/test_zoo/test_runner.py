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


@pytest.fixture(scope='module')
def finished(tmp_path_factory):
    """The tiny protocol trained to its end, one run after another on one
    thread: its work dir and results."""
    work_dir = str(tmp_path_factory.mktemp('zoo'))
    results = run_protocol(protocol(), work_dir, RunConsole(),
                           cfg_options=int_options(), threads=1)
    return work_dir, results


def int_options():
    return {k: int(v) for k, v in tiny_options().items()}


def run_stats(spec_protocol, work_dir):
    """Each run's name, loss terms epoch by epoch, and scores."""
    return [(run.name, result['epoch_stats'], result['val'], result['test'])
            for run in plan_runs(spec_protocol, work_dir)
            for result in [read_result(run.work_dir)]]


def test_interrupted_run_resumes_from_its_last_checkpoint(tmp_path):
    work_dir = str(tmp_path / 'zoo')
    interrupt = dict(int_options(), custom_hooks=[
        dict(type='InterruptAfterEpochHook', epoch=1)])
    [student] = [run for run in plan_runs(protocol(), work_dir)
                 if run.name == 'student_seed0']
    with pytest.raises(RuntimeError, match='interrupted after epoch 1'):
        run_protocol(protocol(), work_dir, RunConsole(), only=['student'],
                     cfg_options=interrupt, threads=1)
    assert student.status() == 'interrupted'

    run_protocol(protocol(), work_dir, RunConsole(), only=['student'],
                 cfg_options=int_options(), threads=1)
    assert student.status() == 'done'
    # The second start trained (and validated) epoch 2 only.
    assert scalar_epochs(student.work_dir) == [[1], [2]]


def test_finished_runs_are_not_trained_again_and_reported(finished,
                                                          tmp_path):
    work_dir, results = finished
    runs = plan_runs(protocol(), work_dir)
    # The teacher is trained just before the first run that learns from it.
    assert [run.name for run in runs] == ['student_seed0', 'teacher_t0',
                                          'ft_seed0']
    assert [run.status() for run in runs] == ['done'] * 3
    teacher_result = open(osp.join(runs[1].work_dir,
                                   'run_result.json')).read()
    again = run_protocol(protocol(), work_dir, RunConsole(),
                         cfg_options=int_options(), threads=1)
    assert again['settings'] == results['settings']
    assert open(osp.join(runs[1].work_dir,
                         'run_result.json')).read() == teacher_result
    assert scalar_epochs(runs[2].work_dir) == [[1, 2]]

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
        teachers=dict(groups=[dict(label='set A', configs=[TEACHER])],
                      weights=str(weights), epochs=1),
        settings=[dict(name='ft', config=FT, teachers=['teacher:0'])],
        seeds=1, student_epochs=1)
    options = int_options()
    first = run_protocol(parse_protocol(spec, 'w'), str(tmp_path / 'a'),
                         RunConsole(), cfg_options=options)
    files = sorted(p.name for p in weights.iterdir())
    assert files == ['digits_resnet20_s0.pth']

    again = parse_protocol(spec, 'w')
    assert plan_runs(again, str(tmp_path / 'b'))[0].status() == \
        'to evaluate'
    second = run_protocol(again, str(tmp_path / 'b'), RunConsole(),
                          cfg_options=options)
    [group] = second['teachers']
    assert [t['test'] for t in group['runs']] == [
        t['test'] for t in first['teachers'][0]['runs']]
    result = json.load(open(tmp_path / 'b' / 'teachers' / 't0' /
                            'run_result.json'))
    assert result['evaluated_only'] and result['checkpoint'] == str(
        weights / 'digits_resnet20_s0.pth')
    assert second['settings'][0]['teacher_sha256']['t0'] == [
        file_fingerprint(str(weights / 'digits_resnet20_s0.pth'))['sha256']]


def test_parallel_jobs_give_the_results_of_one_at_a_time(
        finished, tmp_path):
    """Two worker processes train the protocol's runs, each run once the
    teacher it learns from has finished, with the numbers of the runs
    trained one after the other on the same thread count."""
    work_dir = str(tmp_path / 'jobs2')
    results = run_protocol(protocol(), work_dir, RunConsole(),
                           cfg_options=int_options(), jobs=2, threads=1)
    assert results['runs_finished'] == 3
    sequential = run_stats(protocol(), finished[0])
    assert run_stats(protocol(), work_dir) == sequential
    assert all(epochs and 'loss' in epochs[0]
               for _, epochs, _, _ in sequential)


def test_finished_runs_come_from_a_results_file(finished, tmp_path):
    """A protocol goes on from its committed results on another machine:
    the runs the file holds are not trained again, and the report is the
    same."""
    committed = osp.join(finished[0], 'zoo_results.json')
    # The other machine: the file, and one more seed of the student to run.
    again = run_protocol(protocol(), str(tmp_path / 'b'), RunConsole(),
                         seeds=2, only=['student'], cfg_options=int_options(),
                         threads=1, imported=committed)
    seed0, seed1 = again['settings'][0]['seeds']
    [reference] = [s for s in finished[1]['settings']
                   if s['name'] == 'student']
    assert {k: v for k, v in seed0.items() if k != 'work_dir'} == {
        k: v for k, v in reference['seeds'][0].items() if k != 'work_dir'}
    assert not glob.glob(str(tmp_path / 'b' / 'student' / 'seed0' / '*.pth'))
    assert glob.glob(str(tmp_path / 'b' / 'student' / 'seed1' / '*.pth'))
    other = parse_protocol(dict(teachers=dict(configs=[TEACHER], epochs=1),
                                settings=[dict(name='student',
                                               config=TEACHER)]), 'other')
    with pytest.raises(FEEDConfigError, match='not a results file of'):
        run_protocol(other, str(tmp_path / 'c'), RunConsole(),
                     cfg_options=int_options(), imported=committed)
