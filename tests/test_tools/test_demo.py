"""The README's main job, on a tiny schedule: table, JSON and PNG."""
import json

from tests.helpers import run_tool


def test_demo_writes_table_json_and_curves(tmp_path):
    work_dir = tmp_path / 'demo'
    args = ['tools/demo.py', '--work-dir', str(work_dir), '--teacher-epochs',
            '1', '--student-epochs', '1', '--num-per-class', '3',
            '--cfg-options', 'train_dataloader.dataset.indices=128',
            'val_dataloader.dataset.indices=64',
            'test_dataloader.dataset.indices=64']
    result = run_tool(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    for row in ('| student ResNet-20 alone |', '| FT: FEED, 1 teacher |',
                '| pFEED, 2 teachers |', '| pFEED, 3 teachers |',
                '| teachers, ensemble of 3 (reference) |'):
        assert row in result.stdout, row
    summary = json.loads((work_dir / 'demo_results.json').read_text())
    assert set(summary['runs']) == {'student', 'ft', 'pfeed2', 'pfeed3'}
    for runs in summary['runs'].values():
        assert len(runs) == 1 and 0 <= runs[0]['top1'] <= 100
    assert 0 <= summary['teacher_ensemble_top1'] <= 100
    assert (work_dir / 'demo_results.md').read_text().strip().endswith('|')
    png = (work_dir / 'demo_curves.png').read_bytes()
    assert png[:4] == b'\x89PNG' and len(png) > 5000

    # A second run reuses every finished run instead of training again.
    again = run_tool(*args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert 'Epoch(train)' not in again.stdout + again.stderr
    assert json.loads((work_dir / 'demo_results.json').read_text())[
        'runs'] == summary['runs']
