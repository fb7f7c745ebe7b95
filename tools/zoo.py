"""Run a benchmark protocol of the zoo, resumable.

    python tools/zoo.py configs/zoo/fmnist_cpu.py            # everything
    python tools/zoo.py configs/zoo/fmnist_cpu.py --list     # the runs
    python tools/zoo.py configs/zoo/cifar100_resnet56.py --device cuda

Trains the protocol's teachers, then every setting x seed through the
MMEngine runner. Each finished run writes run_result.json in its work dir
and is never retrained; an interrupted run continues from its last
checkpoint, so the same command continues a protocol after a kill. After
each run WORK_DIR/zoo_results.{json,md} are rewritten: per setting the
per-seed test values, mean +- std, and paired differences (same seed)
against the protocol's baselines with a 95 % t-interval; the teachers and
their ensemble (averaged logits) for reference; at the end
WORK_DIR/zoo_curves.png, the validation curves of the students. The
console shows one progress display per run; the full MMEngine logs are in
the work dirs (--verbose shows them on the console instead).
"""
import feed_mm  # noqa: F401 - torch shims and registries before any build
from feed_mm.apis.cli import run_cli
from feed_mm.zoo.cli import main

if __name__ == '__main__':
    run_cli(lambda: main(description=__doc__))
