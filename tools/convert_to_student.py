"""Export the student of a FEED checkpoint as a plain mmpretrain checkpoint.

    python tools/convert_to_student.py work_dirs/feed/epoch_10.pth student.pth

The result has no translator and no teacher keys: it loads with strict=True
into the student's plain config (e.g. configs/_base_/models/...), and works
with mmpretrain.apis (get_model / ImageClassificationInferencer).
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


if __name__ == '__main__':
    run_cli(main)
