"""Read MMEngine's scalar logs: loss terms by iteration, metrics by
epoch."""
import glob
import json
import os.path as osp
from typing import Dict, List, Tuple

Series = Dict[str, List[Tuple[int, float]]]


def find_scalar_logs(path: str) -> List[str]:
    """The ``scalars.json`` files of a work dir (one per start of a
    resumed run), or ``path`` itself when it is a file."""
    if osp.isfile(path):
        return [path]
    found = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if not found:
        raise FileNotFoundError(
            f'no MMEngine scalar log (*/vis_data/scalars.json) under {path}')
    return found


def read_series(files: List[str],
                loss_step: str = 'iter') -> Tuple[Series, Series]:
    """Loss series by iteration (``loss_step='epoch'``: by the epoch each
    logged iteration belongs to) and metric series by epoch, concatenated
    over the files (a resumed run writes one file per start)."""
    losses: Dict[str, List[Tuple[int, float]]] = {}
    metrics: Dict[str, List[Tuple[int, float]]] = {}
    for file in files:
        with open(file) as f:
            for line in f:
                record = json.loads(line)
                is_train = 'lr' in record or any(
                    k.startswith('loss') or '.loss' in k for k in record)
                target = losses if is_train else metrics
                step = record.get(loss_step, record.get('step', 0)) \
                    if is_train else record.get('step', 0)
                for key, value in record.items():
                    if not isinstance(value, (int, float)):
                        continue
                    if is_train and 'loss' in key:
                        target.setdefault(key, []).append((step, value))
                    elif not is_train and ('accuracy' in key
                                           or 'top' in key):
                        target.setdefault(key, []).append((step, value))
    return losses, metrics
