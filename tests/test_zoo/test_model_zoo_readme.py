"""The zoo's README and metafile agree with the configs and with the
measured results file that tools/demo.py produced."""
import glob
import json
import os.path as osp
import statistics

import pytest
import yaml

from tests.helpers import REPO

FEED = osp.join(REPO, 'configs', 'feed')
# The method folders of the zoo, each with its README and metafile.
METHODS = ('feed', 'kd', 'dkd', 'dist', 'fitnets', 'at', 'feed_hint',
           'pruning')


@pytest.mark.parametrize('method', METHODS)
def test_metafile_lists_every_config_of_its_folder(method):
    folder = osp.join(REPO, 'configs', method)
    with open(osp.join(folder, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    listed = {m['Config'] for m in meta['Models']}
    present = {
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(folder, '*.py'))
    }
    assert listed == present
    collection, = (c['Name'] for c in meta['Collections'])
    assert all(m['In Collection'] == collection for m in meta['Models'])


def test_measured_metafile_rows_list_their_teacher_checkpoints():
    """Every row with a value says which teacher checkpoints produced it:
    ``name -> sha256 list`` (zoo_results.json ``teacher_sha256``), or null
    for values measured before runs recorded their teachers."""
    with open(osp.join(FEED, 'metafile.yml')) as f:
        models = yaml.safe_load(f)['Models']
    measured = [m for m in models
                if m['Results'][0]['Metrics']['Top 1 Accuracy'] is not None]
    assert measured
    for model in measured:
        teachers = model.get('Metadata', {})
        assert 'Teacher Checkpoints' in teachers, model['Name']
        checkpoints = teachers['Teacher Checkpoints']
        if checkpoints is not None:
            for shas in checkpoints.values():
                assert shas and all(
                    len(sha) == 64 and int(sha, 16) >= 0 for sha in shas)


def assert_report_in_readme(results_file: str, metafile_rows: dict,
                            method: str = 'feed') -> dict:
    """The README of ``method`` holds the zoo runner's report of
    ``results_file`` row for row, and each metafile row ``name -> setting``
    gives that setting's mean (null while the setting has no run) and its
    method README gives mean and std; returns the settings by name."""
    from feed_mm.zoo.report import format_report
    with open(osp.join(FEED, 'results', results_file)) as f:
        results = json.load(f)
    readme = open(osp.join(REPO, 'configs', method, 'README.md')).read()
    rows = [line for line in format_report(results).splitlines()
            if line.startswith('| ')]
    # A row for every setting and every pool.
    labels = [s['label'] for s in results['settings']] + [
        f"{p['name']} ({', '.join(p['settings'])})"
        for p in results.get('pools', [])]
    for label in labels:
        assert any(row.startswith(f'| {label} |') for row in rows), label
    for row in rows:
        assert row in readme, row
    by_name = {s['name']: s for s in results['settings']}
    for setting in by_name.values():
        assert setting['test']['mean'] == statistics.mean(
            s['test'] for s in setting['seeds'])
    meta = {}
    for method in METHODS:
        with open(osp.join(REPO, 'configs', method, 'metafile.yml')) as f:
            meta.update((m['Name'], dict(m, method=method))
                        for m in yaml.safe_load(f)['Models'])
    for name, setting in metafile_rows.items():
        top1 = meta[name]['Results'][0]['Metrics']['Top 1 Accuracy']
        if setting not in by_name:
            assert top1 is None, name
            continue
        test = by_name[setting]['test']
        assert abs(top1 - test['mean']) < 0.006, name
        assert meta[name]['Metadata']['Teacher Checkpoints'] == \
            by_name[setting]['teacher_sha256'], name
        method_readme = open(osp.join(REPO, 'configs', meta[name]['method'],
                                      'README.md')).read()
        assert f"{test['mean']:.2f} ± {test['std']:.2f}" in method_readme, name
    return by_name


def test_readme_digits_table_matches_the_demo_results():
    by_name = assert_report_in_readme(
        'digits_demo_3seeds.json',
        {'ft_resnet20_resnet20_digits': 'ft',
         'pfeed_resnet20_2xresnet20_digits': 'pfeed2',
         'pfeed_resnet20_3xresnet20_digits': 'pfeed3'})
    assert all(len(by_name[name]['seeds']) >= 3
               for name in ('student', 'ft', 'pfeed2', 'pfeed3'))


# The metafile row of each Fashion-MNIST config -> its protocol setting.
FMNIST_METAFILE_ROWS = {
    'ft_resnet20_resnet20_fmnist': 'ft',
    'pfeed_resnet20_2xresnet20_fmnist': 'pfeed2',
    'pfeed_resnet20_3xresnet20_fmnist': 'pfeed3',
    'pfeed_kd_resnet20_3xresnet20_fmnist': 'pfeed3_kd',
    'pfeed_resnet20_4xresnet20_fmnist': 'pfeed4',
    'pfeed_resnet20_5xresnet20_fmnist': 'pfeed5',
    'pfeed_linear_resnet20_3xresnet20_fmnist': 'pfeed3_linear',
    'pfeed_ensfirst_resnet20_3xresnet20_fmnist': 'pfeed3_ensfirst',
    'pfeed_resnet20_hetero_fmnist': 'pfeed3_hetero',
    'kd_resnet20_resnet20_fmnist': 'kd1',
    'kd_resnet20_3xresnet20_fmnist': 'kd3',
    'dkd_resnet20_resnet20_fmnist': 'dkd1',
    'dkd_resnet20_3xresnet20_fmnist': 'dkd3',
    'dist_resnet20_resnet20_fmnist': 'dist1',
    'dist_resnet20_3xresnet20_fmnist': 'dist3',
    'fitnets_resnet20_resnet20_fmnist': 'fitnets1',
    'at_resnet20_resnet20_fmnist': 'at1',
}


def test_readme_fmnist_tables_match_the_results_files():
    """The Fashion-MNIST section is the zoo runner's report of the
    committed results file, and the reconstruction-error table is the
    committed one."""
    by_name = assert_report_in_readme('fmnist_cpu.json', FMNIST_METAFILE_ROWS)
    # The replication core on both teacher sets: 10 seeds.
    for name in ('student', 'ft', 'pfeed2', 'pfeed3', 'kd3', 'pfeed3_kd',
                 'ft_b', 'pfeed3_b', 'kd3_b'):
        assert len(by_name[name]['seeds']) >= 10, name
    for name in ('kd1', 'dkd1', 'dist1', 'fitnets1', 'at1', 'dkd3', 'dist3',
                 'pfeed3_linear', 'pfeed3_ensfirst', 'pfeed4', 'pfeed5',
                 'pfeed3_hetero'):
        assert len(by_name[name]['seeds']) >= 5, name
    for g in (1, 2, 3):
        assert len(by_name[f'sfeed_g{g}']['seeds']) >= 3
    readme = open(osp.join(FEED, 'README.md')).read()
    recon = open(osp.join(FEED, 'results',
                          'fmnist_cpu_reconstruction_error.md')).read()
    for row in recon.strip().splitlines():
        assert row in readme, row


def test_pruning_readme_tables_match_the_results_files():
    """The recovery on 500 images: its report in the README and the guide,
    its means in the metafile."""
    rows = {
        'group_fisher_finetune_resnet20_fmnist': 'finetune',
        'ft_groupfisher_resnet20_resnet20_fmnist': 'ft',
        'pfeed_groupfisher_resnet20_3xresnet20_fmnist': 'pfeed3',
        'fitnets_groupfisher_resnet20_resnet20_fmnist': 'fitnets',
    }
    by_name = assert_report_in_readme('fmnist_pruning.json', rows,
                                      method='pruning')
    assert all(len(by_name[name]['seeds']) == 3 for name in rows.values())
    # The guide's table: mean, std and the difference with fine-tuning
    # alone.
    guide = open(osp.join(REPO, 'docs', 'distil_your_own_models.md')).read()
    for name in rows.values():
        test = by_name[name]['test']
        cell = f"| {test['mean']:.2f} ± {test['std']:.2f}"
        diff = by_name[name]['differences'].get('finetune')
        if diff:
            cell += (f" ({diff['mean']:+.2f} [{diff['low']:+.2f}, "
                     f"{diff['high']:+.2f}])")
        assert cell + ' |' in guide, name


def test_feed_hint_readme_table_matches_the_results_file():
    """The adapter x loss cells and the multi-teacher forms on 50 images
    per class: report in the README, means in the metafile, 5 seeds."""
    rows = {
        f'hint_{adapter}_{loss}_resnet20_resnet20_fmnist': f'{adapter}_{loss}'
        for adapter in ('translator', 'translatorbn', 'conv1x1')
        for loss in ('l1', 'l2')
    }
    rows.update({
        'hint_conv1x1_l2_resnet20_3xresnet20_fmnist': 'pfitnets3',
        'hint_conv1x1_l1_resnet20_3xresnet20_fmnist': 'pfeed3_conv1x1',
    })
    by_name = assert_report_in_readme('fmnist_hint.json', rows,
                                      method='feed_hint')
    assert all(len(setting['seeds']) == 5 for setting in by_name.values())


# The settings of each peer README's results table; the FEED rows to
# compare with (FT, pFEED-3) follow them there.
PEER_README_ROWS = {
    'kd': ('kd1', 'kd3', 'kd3_b'),
    'dkd': ('dkd1', 'dkd3'),
    'dist': ('dist1', 'dist3'),
    'fitnets': ('fitnets1', ),
    'at': ('at1', ),
}


@pytest.mark.parametrize('method', sorted(PEER_README_ROWS))
def test_peer_readme_rows_match_the_results_file(method):
    with open(osp.join(FEED, 'results', 'fmnist_cpu.json')) as f:
        by_name = {s['name']: s for s in json.load(f)['settings']}
    readme = open(osp.join(REPO, 'configs', method, 'README.md')).read()
    for name in PEER_README_ROWS[method] + ('ft', 'pfeed3'):
        setting = by_name[name]
        test = setting['test']
        per_seed = ', '.join(f"{s['test']:.2f}" for s in setting['seeds'])
        assert (f"| {test['n']} | {test['mean']:.2f} ± {test['std']:.2f} | "
                f'{per_seed} |') in readme, (method, name)


def test_fmnist_results_learnt_from_the_committed_teachers():
    """Every teacher of the Fashion-MNIST protocol has its weights-only
    checkpoint committed, and the rows that learnt from the protocol's
    teachers learnt from those files (so that any row re-runs exactly)."""
    from feed_mm.engine.teacher_provenance import file_fingerprint
    from feed_mm.zoo import load_protocol
    from feed_mm.zoo.runner import teacher_weights
    protocol = load_protocol(osp.join(REPO, 'configs', 'zoo',
                                      'fmnist_cpu.py'))
    committed = {
        file_fingerprint(teacher_weights(protocol, i))['sha256']
        for i in range(len(protocol.teacher_configs))}
    assert len(committed) == len(protocol.teacher_configs)
    with open(osp.join(FEED, 'results', 'fmnist_cpu.json')) as f:
        settings = json.load(f)['settings']
    from_teachers = [s for s in settings if s['teachers'] and all(
        ref.startswith('teacher:') for ref in s['teachers'])]
    assert from_teachers
    for setting in from_teachers:
        shas = setting['teacher_sha256']
        assert len(shas) == len(setting['teachers']), setting['name']
        assert all(len(s) == 1 and s[0] in committed
                   for s in shas.values()), setting['name']
