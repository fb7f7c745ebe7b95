"""FEED on the embedded digits, end to end, on a laptop-sized CPU.

    python tools/demo.py                # a few minutes on 2 CPU cores
    python tools/demo.py --seeds 3      # mean +- std over 3 student seeds

The zoo protocol configs/zoo/digits_demo.py: through the MMEngine runner
and feed_mm's registered modules, three ResNet-20 teachers on the full
SklearnDigits training split (cached in WORK_DIR/teachers and reused), then,
per seed, four students on a reduced split (30 images per class, or
--num-per-class) so that the teachers know more than the students' data:
  student  the ResNet-20 trained alone
  ft       FEED with 1 teacher (Factor Transfer's translator and loss)
  pfeed2   parallel FEED with 2 teachers
  pfeed3   parallel FEED with 3 teachers
One progress line per run on the console (--verbose: MMEngine's log), then
the results table (test top-1, teachers and their ensemble for reference,
paired differences); it writes WORK_DIR/zoo_results.{json,md} and
WORK_DIR/zoo_curves.png, and each run's full log in its work dir.
"""
import feed_mm  # noqa: F401 - torch shims and registries before any build
from feed_mm.apis.cli import run_cli
from feed_mm.zoo.cli import main

if __name__ == '__main__':
    run_cli(lambda: main(description=__doc__,
                         protocol='configs/zoo/digits_demo.py',
                         work_dir='work_dirs/demo'))
