"""The README's main job, on a tiny schedule: a short console, the table,
the results JSON, the curves PNG and the full logs in the work dirs (the
zoo runner's tests cover a rerun that trains nothing)."""
import json

from tests.helpers import call_tool

SETTINGS = ('student', 'ft', 'pfeed2', 'pfeed3')


def test_demo_console_table_json_curves_and_rerun(tmp_path):
    work_dir = tmp_path / 'demo'
    args = ['tools/demo.py', '--work-dir', str(work_dir), '--teacher-epochs',
            '1', '--student-epochs', '2', '--num-per-class', '3',
            '--cfg-options', 'train_dataloader.dataset.indices=128',
            'val_dataloader.dataset.indices=64',
            'test_dataloader.dataset.indices=64']
    result = call_tool(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    assert len(console.splitlines()) < 100, console
    # No MMEngine environment dump or iteration line on the console...
    assert 'System environment' not in console
    assert 'Epoch(train)' not in console
    # ...but one line per run, and each run's full log in its work dir.
    for name in ('teacher_t0', 'teacher_t1', 'teacher_t2',
                 *(f'{s}_seed0' for s in SETTINGS)):
        assert f'] {name}: test ' in console, name
    for setting in SETTINGS:
        logs = list((work_dir / setting / 'seed0').glob('*/*.log'))
        assert logs and 'Epoch(train)' in logs[0].read_text(), setting
    for row in ('| student ResNet-20 alone |', '| FT: FEED, 1 teacher |',
                '| pFEED, 2 teachers |', '| pFEED, 3 teachers |',
                '| teacher ResNet-20 (full split): ensemble (averaged '
                'logits) |'):
        assert row in result.stdout, row

    results = json.loads((work_dir / 'zoo_results.json').read_text())
    assert [s['name'] for s in results['settings']] == list(SETTINGS)
    for entry in results['settings']:
        assert len(entry['seeds']) == 1
        assert 0 <= entry['seeds'][0]['test'] <= 100
    assert 0 <= results['teachers'][0]['ensemble']['test'] <= 100
    assert (work_dir / 'zoo_results.md').read_text().count('\n| ') >= 6
    png = (work_dir / 'zoo_curves.png').read_bytes()
    assert png[:4] == b'\x89PNG' and len(png) > 5000
