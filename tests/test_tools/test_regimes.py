"""tools/analysis/regimes.py: the settings several protocols share, one
column per data regime, each compared with a baseline of its own protocol,
and the plot."""
import json

from tests.helpers import call_tool


def results(tests_by_setting):
    return dict(settings=[
        dict(name=name, label=name.upper(),
             test=dict(mean=sum(tests) / len(tests), std=None),
             seeds=[dict(seed=i, test=t) for i, t in enumerate(tests)])
        for name, tests in tests_by_setting.items()])


def test_method_by_regime_table_and_plot(tmp_path):
    small, large = tmp_path / 'small.json', tmp_path / 'large.json'
    small.write_text(json.dumps(results(dict(
        fitnets=[80.0, 82.0], pfeed=[79.0, 80.0], only_small=[1.0, 1.0]))))
    large.write_text(json.dumps(results(dict(
        fitnets=[90.0, 90.0, 90.0], pfeed=[91.0, 91.5, 92.0]))))
    out = tmp_path / 'regimes'
    result = call_tool('tools/analysis/regimes.py', f'500={large}',
                       f'50={small}', '--against', 'fitnets', '--out',
                       str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    lines = (tmp_path / 'regimes.md').read_text().splitlines()
    assert lines[0] == '| method | 50 per class | 500 per class |'
    # Paired by seed within each protocol: -1.5 with 2 seeds, +1.5 with 3.
    pfeed = next(line for line in lines if line.startswith('| PFEED |'))
    assert '79.50 ± 0.71 (n=2); vs fitnets -1.50' in pfeed
    assert '91.50 ± 0.50 (n=3); vs fitnets +1.50' in pfeed
    assert not any('ONLY_SMALL' in line for line in lines)
    assert (tmp_path / 'regimes.png').stat().st_size > 5000
