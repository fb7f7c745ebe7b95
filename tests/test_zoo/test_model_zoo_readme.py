"""The zoo's README and metafile agree with the configs and with the
measured results file that tools/demo.py produced."""
import glob
import json
import os.path as osp
import statistics

import yaml

from tests.helpers import REPO

FEED = osp.join(REPO, 'configs', 'feed')
ROWS = {
    'student alone': 'student',
    'FT, 1 teacher (FEED N=1)': 'ft',
    'pFEED, 2 teachers': 'pfeed2',
    'pFEED, 3 teachers': 'pfeed3',
}


def test_metafile_lists_every_feed_config():
    with open(osp.join(FEED, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    listed = {m['Config'] for m in meta['Models']}
    present = {
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(FEED, '*.py'))
    }
    assert listed == present
    assert all(m['In Collection'] == 'FEED' for m in meta['Models'])


def test_readme_digits_rows_match_the_demo_results():
    with open(osp.join(FEED, 'results', 'digits_demo_3seeds.json')) as f:
        results = json.load(f)
    readme = open(osp.join(FEED, 'README.md')).read()
    for label, run in ROWS.items():
        scores = [r['top1'] for r in results['runs'][run]]
        mean, std = statistics.mean(scores), statistics.stdev(scores)
        seeds = ', '.join(f'{s:.2f}' for s in scores)
        row = f'| {label} | — | {mean:.2f} ± {std:.2f} | {seeds} |'
        assert row in readme, row
    with open(osp.join(FEED, 'metafile.yml')) as f:
        meta = {m['Name']: m for m in yaml.safe_load(f)['Models']}
    top1 = meta['pfeed_resnet20_3xresnet20_digits']['Results'][0]['Metrics']
    assert abs(top1['Top 1 Accuracy'] -
               statistics.mean(r['top1'] for r in results['runs']['pfeed3'])
               ) < 0.006
