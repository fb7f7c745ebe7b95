"""The zoo report's teacher checkpoints: summed up per setting, and
tolerated where older results lack them."""
from feed_mm.zoo.report import (format_report, plot_n_curve, pool_results,
                                teacher_sha256)


def _fingerprint(sha):
    return dict(path=f'/teachers/{sha}.pth', size=1, sha256=sha * 64)


def test_teacher_sha256_lists_distinct_checkpoints_per_teacher():
    seeds = [
        dict(seed=0, teacher_fingerprints=dict(t0=_fingerprint('a'),
                                               t1=_fingerprint('b'))),
        dict(seed=1, teacher_fingerprints=dict(t0=_fingerprint('a'),
                                               t1=_fingerprint('c'))),
        dict(seed=2, teacher_fingerprints=dict(t0=None, t1=None)),
        dict(seed=3, teacher_fingerprints=None),
        dict(seed=4),
    ]
    assert teacher_sha256(seeds) == dict(t0=['a' * 64],
                                         t1=['b' * 64, 'c' * 64])
    assert teacher_sha256(seeds[3:]) == {}


def _results(settings):
    return dict(title='t', metric='accuracy/top1', runs_finished=1,
                runs_planned=1, baselines=[], notes='',
                teachers=dict(runs=[]), ensemble=None, settings=settings)


def test_report_lists_recorded_teachers_and_tolerates_older_results():
    seeds = [dict(seed=0, test=90.0, val=91.0)]
    older = dict(name='ft', label='FT', seeds=seeds, differences={})
    report = format_report(_results([older]))
    assert '| FT | 1 |' in report and 'Teacher checkpoints' not in report
    recorded = dict(older, teacher_sha256=dict(t0=['a' * 64]))
    assert ('Teacher checkpoints (sha256, first 12 digits): FT: t0 '
            + 'a' * 12) in format_report(_results([recorded]))


def test_pools_average_each_seed_and_compare_with_pooled_baselines(
        tmp_path):
    settings = [dict(name='student'), dict(name='ft', pool='ft'),
                dict(name='ft_b', pool='ft'), dict(name='p', pool='p'),
                dict(name='p_b', pool='p')]
    per_setting = dict(student={0: 70, 1: 72}, ft={0: 74, 1: 75},
                       ft_b={0: 76, 1: 75, 2: 99}, p={0: 80, 1: 81},
                       p_b={0: 78, 1: 81})
    ft, p = pool_results(settings, per_setting, ['student', 'ft'])
    # Only the seeds every setting of the pool has.
    assert ft['seeds'] == [0, 1] and ft['values'] == [75, 75]
    assert ft['differences']['student']['diffs'] == [5, 3]
    assert 'ft' not in ft['differences']  # its own pool
    assert p['differences']['ft']['diffs'] == [4, 6]
    results = dict(_results([]), pools=[ft, p])
    assert '| ft (ft, ft_b) | 2 | 75.00 ± 0.00 | 75.00, 75.00 |' in \
        format_report(results)

    entries = [dict(name=name, seeds=[dict(seed=s, test=v) for s, v in
                                      per_setting[name].items()])
               for name in ('student', 'ft', 'p')]
    out = tmp_path / 'n.png'
    plot_n_curve(dict(_results(entries), title='t'), ['student', 'ft', 'p'],
                 str(out))
    assert out.stat().st_size > 5000
    # Two curves, one without N = 1.
    plot_n_curve(dict(_results(entries), title='t'),
                 dict(a=['student', 'ft', 'p'], b=['student', None, 'p']),
                 str(out))
    assert out.stat().st_size > 5000


def test_rows_from_other_teachers_are_compared_on_their_own_teachers():
    from types import SimpleNamespace

    from feed_mm.zoo import parse_protocol
    from feed_mm.zoo.report import collect_results
    protocol = parse_protocol(dict(
        teachers=dict(groups=[dict(label='A', configs=['a.py']),
                              dict(label='B', configs=['b.py'])]),
        settings=[
            dict(name='student', config='s.py'),
            dict(name='ft', config='f.py', teachers=['teacher:0'],
                 pool='ft'),
            dict(name='ft_b', config='f.py', teachers=['teacher:1'],
                 pool='ft'),
            dict(name='kd_b', config='k.py', teachers=['teacher:1']),
            dict(name='kd_ab', config='k.py',
                 teachers=['teacher:0', 'teacher:1'])],
        baselines=['student', 'ft']), 'p')
    tests = dict(student=[70, 71], ft=[75, 76], ft_b=[80, 80],
                 kd_b=[81, 83], kd_ab=[77, 77])
    runs = [(SimpleNamespace(setting=name, seed=seed, work_dir=''),
             dict(test=value, val=value, wall_s=1.0))
            for name, values in tests.items()
            for seed, value in enumerate(values)]
    by_name = {s['name']: s['differences']
               for s in collect_results(protocol, runs, [None, None],
                                        {})['settings']}
    assert by_name['kd_b']['ft']['diffs'] == [1, 3]
    assert by_name['kd_b']['ft']['against'] == 'ft_b'
    assert by_name['kd_ab']['ft']['diffs'] == [2, 1]  # mixed teachers
    assert 'against' not in by_name['kd_ab']['ft']
    assert 'ft' not in by_name['ft_b']  # the baseline's own method
    assert by_name['ft_b']['student']['diffs'] == [10, 9]
    report = format_report(collect_results(protocol, runs, [None, None], {}))
    assert '(vs ft_b)' in report


def test_report_reads_the_loss_terms_each_run_kept():
    """First and last epoch, averaged over seeds: the task loss, the sum of
    the distillation terms and the gradient norms at the student's map; a
    plain run has its task loss only."""
    def epochs(task, feed, kd, grad):
        return [dict(epoch=1, **{'student.loss': task,
                                 'distill.loss_feed_t0': feed,
                                 'distill.loss_kd': kd,
                                 'student.map_grad_norm': grad,
                                 'distill.map_grad_norm': 2 * grad}),
                dict(epoch=2, **{'student.loss': task / 2,
                                 'distill.loss_feed_t0': feed / 2,
                                 'distill.loss_kd': kd / 2,
                                 'student.map_grad_norm': grad / 2,
                                 'distill.map_grad_norm': grad})]

    feed = dict(name='ft', label='FT', differences={}, seeds=[
        dict(seed=0, test=1.0, val=1.0,
             epoch_stats=epochs(2.0, 4.0, 1.0, 0.1)),
        dict(seed=1, test=1.0, val=1.0,
             epoch_stats=epochs(4.0, 6.0, 3.0, 0.3))])
    alone = dict(name='s', label='alone', differences={}, seeds=[
        dict(seed=0, test=1.0, val=1.0,
             epoch_stats=[dict(epoch=1, loss=2.0), dict(epoch=2, loss=1.0)])])
    report = format_report(_results([feed, alone]))
    assert '| FT | 2 | 3 → 1.5 | 7 → 3.5 | 0.2 → 0.1 | 0.4 → 0.2 |' in report
    assert '| alone | 1 | 2 → 1 | — | — | — |' in report
