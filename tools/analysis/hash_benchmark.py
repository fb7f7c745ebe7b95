"""What fingerprinting a teacher checkpoint costs: the streamed sha256
feed_mm computes once per teacher and run, beside loading the same
checkpoint.

    python tools/analysis/hash_benchmark.py --size-mb 100

Writes a checkpoint of about SIZE_MB (random float32 weights) to a
temporary folder and prints a Markdown table: the first hash (read and
hashed), the second call (served from the per-process cache) and a safe
load of the file (what building a teacher costs anyway). The file was
just written, so the first hash reads it from the page cache; a teacher on
a cold network disk also pays the disk's read time, once.
"""
import argparse
import os
import os.path as osp
import statistics
import tempfile
import time
from typing import Callable, Dict, List

import torch

import feed_mm  # noqa: F401 - safe checkpoint loading
from feed_mm.engine import teacher_provenance
from feed_mm.utils import safe_load


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Cost of hashing a teacher checkpoint')
    parser.add_argument('--size-mb', type=float, default=100.0,
                        help='checkpoint size in MB (default 100)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed repetitions; the median is shown')
    return parser.parse_args()


def _median_time(action: Callable[[], object], repeats: int,
                 before: Callable[[], None] = lambda: None) -> float:
    times: List[float] = []
    for _ in range(repeats):
        before()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(path: str, repeats: int) -> Dict[str, float]:
    """Median seconds of the first hash, a cached hash and a safe load.

    Args:
        path (str): The checkpoint file.
        repeats (int): Repetitions of each measurement.

    Returns:
        dict: ``first_hash_s``, ``cached_hash_s``, ``load_s``.
    """
    clear = teacher_provenance._sha256_cache.clear
    first = _median_time(lambda: teacher_provenance.file_sha256(path),
                         repeats, clear)
    cached = _median_time(lambda: teacher_provenance.file_sha256(path),
                          repeats)
    load = _median_time(lambda: safe_load(path, map_location='cpu'),
                        repeats)
    return dict(first_hash_s=first, cached_hash_s=cached, load_s=load)


def main() -> None:
    args = parse_args()
    numel = int(args.size_mb * 1e6 / 4)
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'teacher.pth')
        torch.save({'state_dict': {'weight': torch.randn(numel)},
                    'meta': {}}, path)
        size_mb = os.path.getsize(path) / 1e6
        times = measure(path, args.repeats)
    rate = size_mb / times['first_hash_s']
    print(f'| file | first sha256 (s) | MB/s | cached sha256 | '
          f'safe load (s) |\n|---|---|---|---|---|\n'
          f'| {size_mb:.0f} MB | {times["first_hash_s"]:.3f} | {rate:.0f} | '
          f'{times["cached_hash_s"] * 1e6:.0f} µs | {times["load_s"]:.3f} |')


if __name__ == '__main__':
    main()
