"""tools/analysis/benchmark.py on a tiny setting: every figure is in the
JSON, and the derived ones (floors, ratios, memory bound, targets) follow
from the measured ones. No timing is asserted."""
import json

import pytest

from feed_mm.benchmark import MEMORY_SLACK, check_arguments, parse_variant
from tests.helpers import call_tool, run_tool

TIME_KEYS = ('floor_full_ms', 'floor_backbone_ms', 'feed_step_ms',
             'teacher_phase_ms', 'translators_ms')
MEMORY_KEYS = ('base_mib', 'after_build_mib', 'peak_mib', 'increase_mib')


@pytest.fixture(scope='module')
def bench(tmp_path_factory):
    path = tmp_path_factory.mktemp('benchmark') / 'bench.json'
    result = run_tool('tools/analysis/benchmark.py', '--preset', 'digits',
                      '--batch-size', '8', '--teachers', '1', '2',
                      '--warmup', '1', '--repeats', '1', '--threads', '1',
                      '--options', 'bf16', '--json', str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(path.read_text()), result.stdout


def close(a, b):
    return a == pytest.approx(b, rel=1e-9, abs=1e-9)


def check_memory(memory):
    assert set(MEMORY_KEYS) <= set(memory)
    assert all(memory[k] > 0 for k in MEMORY_KEYS if k != 'increase_mib')
    assert memory['peak_mib'] >= memory['after_build_mib']
    assert close(memory['increase_mib'],
                 memory['peak_mib'] - memory['after_build_mib'])


def test_meta_units_and_table(bench):
    results, stdout = bench
    meta = results['meta']
    assert meta['preset'] == 'digits' and meta['device'] == 'cpu'
    assert meta['batch_size'] == 8 and meta['input_shape'] == [3, 32, 32]
    assert meta['teacher_counts'] == [1, 2]
    assert meta['options'] == ['bf16']
    assert (meta['warmup'], meta['repeats'], meta['threads']) == (1, 1, 1)
    assert meta['memory_method'] == 'peak_rss_of_a_fresh_process'
    assert 'tools/analysis/benchmark.py' in meta['command']
    assert meta['date'][:2] == '20'
    machine = meta['machine']
    assert machine['cpu_model'] and machine['cpu_cores'] >= 1
    assert machine['torch_threads'] == 1 and machine['torch']
    assert {'*_ms', '*_mib'} <= set(results['units'])
    assert '| N | student step (ms) |' in stdout
    assert '| 2 | bf16 |' in stdout and '| FEED N=2 |' in stdout


def test_student_and_teachers(bench):
    results, _ = bench
    assert results['student']['step_ms'] > 0
    check_memory(results['student']['memory'])
    teachers = results['teachers']
    assert list(teachers) == ['t0', 't1']
    for t in teachers.values():
        assert t['full_forward_ms'] > 0 and t['backbone_forward_ms'] > 0
        assert close(t['early_stop_saving_ms'],
                     t['full_forward_ms'] - t['backbone_forward_ms'])
        assert close(t['early_stop_saving_ratio'],
                     t['early_stop_saving_ms'] / t['full_forward_ms'])
    # Same architecture: ResNet-20 with its 10-class head, about 1 MiB.
    assert teachers['t0']['weights_mib'] == teachers['t1']['weights_mib']
    assert 0.5 < teachers['t0']['weights_mib'] < 2
    for memory in results['teacher_memory'].values():
        check_memory(memory)


def test_runs_derive_from_the_measured_times(bench):
    results, _ = bench
    runs = {run['n']: run for run in results['runs']}
    assert sorted(runs) == [1, 2]
    student = results['student']['step_ms']
    for n, run in runs.items():
        names = [f't{i}' for i in range(n)]
        assert run['teachers'] == names
        assert all(run[k] > 0 for k in TIME_KEYS)
        for floor, forward in (('floor_full_ms', 'full_forward_ms'),
                               ('floor_backbone_ms', 'backbone_forward_ms')):
            assert close(run[floor], student + sum(
                results['teachers'][t][forward] for t in names))
        assert close(run['feed_over_floor_full'],
                     run['feed_step_ms'] / run['floor_full_ms'])
        assert close(run['feed_over_floor_backbone'],
                     run['feed_step_ms'] / run['floor_backbone_ms'])
        assert close(run['translators_share'],
                     run['translators_ms'] / run['feed_step_ms'])
        assert close(
            run['feed_minus_translators_over_floor_full'],
            (run['feed_step_ms'] - run['translators_ms']) /
            run['floor_full_ms'])

    assert runs[1]['mmrazor_ft_step_ms'] > 0
    assert close(runs[1]['feed_over_mmrazor_ft'],
                 runs[1]['feed_step_ms'] / runs[1]['mmrazor_ft_step_ms'])
    assert runs[2]['mmrazor_ft_step_ms'] is None
    assert runs[2]['feed_over_mmrazor_ft'] is None


def test_options_and_their_speedups(bench):
    results, _ = bench
    runs = {run['n']: run for run in results['runs']}
    for n, variant in ((1, 'bf16'), (2, 'bf16')):
        run, option = runs[n], runs[n]['options'][variant]
        assert option['teacher_phase_ms'] > 0 and option['feed_step_ms'] > 0
        assert option['first_step_ms'] > 0
        # Eager variants compile nothing.
        assert option['compiles_in_first_step'] == 0
        assert option['compiles_after_first_step'] == 0
        assert close(option['teacher_phase_speedup'],
                     run['teacher_phase_ms'] / option['teacher_phase_ms'])
        # Not in turns: against the plain step timed on its own.
        assert option['plain_step_ms'] == run['feed_step_ms']
        assert close(option['feed_step_speedup'],
                     run['feed_step_ms'] / option['feed_step_ms'])
        assert close(option['feed_over_floor_full'],
                     option['feed_step_ms'] / run['floor_full_ms'])
        check_memory(option['memory'])
        assert option['memory']['bound_mib'] == run['memory']['bound_mib']


def test_memory_bound_and_targets(bench):
    results, _ = bench
    student = results['student']['memory']
    activations = results['teacher_memory']['backbone_forward'][
        'increase_mib']
    targets = results['targets']
    for run in results['runs']:
        memory, n = run['memory'], str(run['n'])
        weights = sum(results['teachers'][t]['weights_mib']
                      for t in run['teachers'])
        bound = student['base_mib'] + MEMORY_SLACK * (
            student['peak_mib'] - student['base_mib'] + weights +
            activations)
        assert close(memory['bound_mib'], bound)
        assert close(memory['bound_terms']['teachers_weights_mib'], weights)
        check_memory(memory['feed'])
        assert memory['feed']['within_bound'] == (
            memory['feed']['peak_mib'] <= bound)
        assert targets['feed_memory_within_bound'][n] == memory['feed'][
            'within_bound']
        assert targets['feed_over_floor_full_le_1_05'][n] == (
            run['feed_over_floor_full'] <= 1.05)
        assert targets['feed_over_floor_backbone_le_1_05'][n] == (
            run['feed_over_floor_backbone'] <= 1.05)
    one = results['runs'][0]
    check_memory(one['memory']['mmrazor_ft'])
    assert results['runs'][1]['memory']['mmrazor_ft'] is None
    assert targets['feed_n1_over_mmrazor_ft_le_1_0'] == (
        one['feed_over_mmrazor_ft'] <= 1.0)
    # The compiled speedup is judged at N = 3, which this run does not
    # have; no variant of this run compiles.
    assert targets['compiled_over_eager_step_n3_le_0_85'] is None
    assert targets['compiled_without_recompiles'] == {'1': None, '2': None}


def test_option_variants_are_parsed():
    assert parse_variant('compiled+bf16+channels_last') == dict(
        compile=True, teacher_autocast='bf16', channels_last=True)
    with pytest.raises(ValueError, match="unknown option 'bf32'"):
        parse_variant('bf32')
    with pytest.raises(ValueError, match='sets teacher_autocast twice'):
        parse_variant('bf16+fp16')


@pytest.mark.parametrize('kwargs, flag', [
    (dict(teacher_counts=[0, 2]), '--teachers'),
    (dict(warmup=-1), '--warmup'),
    (dict(repeats=0), '--repeats'),
    (dict(batch_size=0), '--batch-size'),
    (dict(variants=['bf16+x']), '--options'),
])
def test_bad_arguments_name_the_flag(kwargs, flag):
    args = dict(teacher_counts=[1], variants=None, warmup=0, repeats=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=flag):
        check_arguments(**args)


def test_other_student_and_teachers(tmp_path):
    path = tmp_path / 'bench.json'
    teacher = 'configs/_base_/models/cifar_resnet56.py'
    result = call_tool('tools/analysis/benchmark.py', '--preset', 'digits',
                       '--teacher', teacher, '--input-size', '16',
                       '--batch-size', '4', '--teachers', '1', '--warmup',
                       '0', '--repeats', '1', '--threads', '1', '--no-memory',
                       '--options', '--json', str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(path.read_text())
    assert results['meta']['models']['teacher'] == teacher
    assert results['meta']['models']['student'].endswith(
        'configs/_base_/models/digits_resnet20.py')
    assert results['meta']['input_shape'] == [3, 16, 16]
    assert f'teachers {teacher}' in result.stdout
    # ResNet-56 with a 100-class head, not the ResNet-20 student (~1 MiB).
    assert results['teachers']['t0']['weights_mib'] > 2.5
    run = results['runs'][0]
    assert run['feed_step_ms'] > 0 and run['mmrazor_ft_step_ms'] > 0


@pytest.mark.parametrize('flag, value, message', [
    ('--student', 'configs/feed/ft_resnet20_resnet20_digits.py',
     'has no classifier `model`'),
    ('--teacher', 'no/such/model.py', 'no config file'),
])
def test_bad_model_files_name_the_flag(flag, value, message):
    result = call_tool('tools/analysis/benchmark.py', flag, value)
    assert result.returncode == 2
    assert f'error: {flag}: ' in result.stderr and message in result.stderr
    assert 'Traceback' not in result.stderr


def test_compiled_targets_follow_the_rows():
    from feed_mm.benchmark.report import summarize_targets

    def run(n, speedup, compiles_after):
        compiled = dict(feed_step_speedup=speedup,
                        compiles_after_first_step=compiles_after)
        return dict(n=n, feed_over_floor_full=1.0,
                    feed_over_floor_backbone=1.0,
                    feed_minus_translators_over_floor_full=1.0,
                    feed_over_mmrazor_ft=None, memory=None,
                    options=dict(compiled=compiled,
                                 fast=dict(compiles_after_first_step=0)))

    targets = summarize_targets(dict(runs=[run(2, 2.0, 0), run(3, 1.25, 1)]))
    assert targets['compiled_over_eager_step_n3'] == pytest.approx(0.8)
    assert targets['compiled_over_eager_step_n3_le_0_85'] is True
    assert targets['compiled_without_recompiles'] == {'2': True, '3': False}
    slow = summarize_targets(dict(runs=[run(3, 1.1, 0)]))
    assert slow['compiled_over_eager_step_n3_le_0_85'] is False


def test_variants_in_turns_with_the_plain_step(tmp_path):
    path = tmp_path / 'bench.json'
    result = call_tool('tools/analysis/benchmark.py', '--preset', 'digits',
                       '--batch-size', '4', '--teachers', '2', '--warmup',
                       '0', '--repeats', '2', '--threads', '1', '--no-memory',
                       '--in-turns', '--options', 'fast', '--json', str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert '(in turns)' in result.stderr
    results = json.loads(path.read_text())
    assert results['meta']['in_turns'] is True
    run = results['runs'][0]
    option = run['options']['fast']
    # The plain step of the pair is timed again, beside the variant.
    assert option['plain_step_ms'] > 0
    assert close(option['feed_step_speedup'],
                 option['plain_step_ms'] / option['feed_step_ms'])
