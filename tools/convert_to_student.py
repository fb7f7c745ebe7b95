"""Export the student of a FEED checkpoint as a plain mmpretrain checkpoint.

    python tools/convert_to_student.py work_dirs/feed/epoch_10.pth student.pth

The result has no translator and no teacher keys: it loads with strict=True
into the student's plain config (e.g. configs/_base_/models/...), and works
with mmpretrain.apis (get_model / ImageClassificationInferencer). Its meta
records where it comes from: the source checkpoint (exported_from), the
FEED config's name (feed_config) and every teacher's checkpoint path, size
and sha256 (feed_teachers).
"""
import argparse

import feed_mm  # noqa: F401 - safe checkpoint loading
from feed_mm.apis import run_cli
from feed_mm.apis.export import export_student


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export the student of a FEED checkpoint')
    parser.add_argument('checkpoint', help='FEED training checkpoint')
    parser.add_argument('out', help='output student checkpoint')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    exported = export_student(args.checkpoint, args.out)
    print(f'Wrote {len(exported["state_dict"])} student tensors to {args.out}')
    meta = exported['meta']
    for name, fingerprint in (meta.get('feed_teachers') or {}).items():
        print(f'  teacher {name}: ' + (
            'random initialisation' if fingerprint is None else
            f'{fingerprint["path"]} (sha256 {fingerprint["sha256"]})'))
    if 'feed_teachers' not in meta:
        print(f'  {args.checkpoint} records no teachers (saved before '
              'feed_mm recorded them)')


if __name__ == '__main__':
    run_cli(main)
