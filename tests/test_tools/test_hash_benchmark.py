"""tools/analysis/hash_benchmark.py prints its table (no timing is
asserted: the figures depend on the machine)."""
from tests.helpers import run_tool


def test_hash_benchmark_prints_one_row():
    result = run_tool('tools/analysis/hash_benchmark.py', '--size-mb', '2',
                      '--repeats', '1')
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines()
            if line.startswith('| ')]
    assert rows[0].startswith('| file | first sha256 (s) |')
    assert rows[1].startswith('| 2 MB | ') and rows[1].count('|') == 6
